from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import validation
from .models import NoticeChannels, Store, User
from .roles import Role


def style_widgets(form, compact=False):
    """Bootstrap classes on every widget of `form` (the one way forms are styled):
    form-select, form-check-input, a plain list for radio and multiple choice,
    form-control for the rest; `compact` uses the small sizes of dense desk pages.
    Classes a widget already has are kept."""
    small = " form-control-sm" if compact else ""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
            css = "list-unstyled mb-0"
        elif isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm" if compact else "form-select"
        else:
            css = "form-control" + small
        classes = widget.attrs.get("class", "").split()
        widget.attrs["class"] = " ".join([*classes, *(c for c in css.split() if c not in classes)])


class StyledFormMixin:
    """A form whose widgets are styled by style_widgets; `compact = True` for small ones."""

    compact = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()

    def style(self):
        """Style the widgets again, after a form added or replaced fields."""
        style_widgets(self, compact=self.compact)


def apply_errors(form, error: ValidationError):
    """Put a service's ValidationError on the form: each message next to its field where
    the form has that field, on the form as a whole otherwise (one mapper for every page)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class StaffForm(validation.ModelForm):
    """Create or edit a member of staff. The password is asked only on create; `roles`
    limits the roles offered to those the user may grant."""

    password = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput,
                               required=False, strip=False)
    stores = forms.ModelMultipleChoiceField(label=_("门店"), queryset=Store.objects.none(),
                                            widget=forms.CheckboxSelectMultiple)
    roles = forms.MultipleChoiceField(label=_("角色"), choices=Role.choices,
                                      widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = User
        fields = ["username", "last_name", "first_name", "mobile", "email", "birthday",
                  "is_active"]
        labels = {"last_name": _("姓"), "first_name": _("名")}
        widgets = {"birthday": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, stores, creating, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = stores
        if roles is not None:  # only the roles the user may grant (roles.grantable_roles)
            self.fields["roles"].choices = [(code, label) for code, label in Role.choices
                                            if code in roles]
        self.creating = creating
        if creating:
            self.fields["password"].required = True
            del self.fields["is_active"]
        else:
            del self.fields["password"]
            del self.fields["username"]
            self.initial["stores"] = list(self.instance.stores.values_list("pk", flat=True))
            self.initial["roles"] = list(self.instance.role_codes)


OFF_WORDS, WORK_WORDS = {"休", "off", "holiday"}, {"班", "work", "workday"}


def days_text(days):
    """[(date, is_working, name)] as the lines of the calendar-year form."""
    return "\n".join(f"{day.isoformat()} {'班' if is_working else '休'} {name}".rstrip()
                     for day, is_working, name in days)


class CalendarYearForm(StyledFormMixin, forms.Form):
    """A year's holidays and make-up workdays, one day or range a line:
    "2027-02-06..2027-02-12 休 春节", "2027-02-20 班 春节"."""

    days = forms.CharField(
        label=_("节假日与调休上班日"), widget=forms.Textarea(attrs={"rows": 18}),
        help_text=_("每行一天或一段：日期（或 开始..结束）、休 或 班、名称，例如 "
                    "2027-02-06..2027-02-12 休 春节；2027-02-20 班 春节"))
    note = forms.CharField(label=_("修改说明"), max_length=200,
                           help_text=_("依据，例如：国务院办公厅关于2027年部分节假日安排的通知"))

    def clean_days(self):
        from datetime import date, timedelta

        out = []
        for number, line in enumerate(self.cleaned_data["days"].splitlines(), start=1):
            parts = line.split(None, 2)
            if not parts:
                continue
            if len(parts) < 2 or parts[1].lower() not in OFF_WORDS | WORK_WORDS:
                raise ValidationError(_("第 %(n)s 行：请写 日期 休/班 名称。") % {"n": number})
            first, _sep, last = parts[0].partition("..")
            try:
                start = date.fromisoformat(first)
                end = date.fromisoformat(last) if last else start
            except ValueError:
                raise ValidationError(_("第 %(n)s 行：日期请写成 2027-02-06。") % {"n": number}) from None
            if end < start or (end - start).days > 31:
                raise ValidationError(_("第 %(n)s 行：日期范围不对。") % {"n": number})
            is_working = parts[1].lower() in WORK_WORDS
            name = parts[2] if len(parts) > 2 else ""
            while start <= end:
                out.append((start, is_working, name))
                start += timedelta(days=1)
        return out


class ScheduleForm(StyledFormMixin, validation.Form):
    """When one job runs: every N seconds for an interval job, a crontab for the others."""

    enabled = forms.BooleanField(label=_("启用"), required=False)
    every = forms.IntegerField(label=_("间隔（秒）"), min_value=10, required=False)
    minute = forms.CharField(label=_("分钟"), max_length=60, required=False)
    hour = forms.CharField(label=_("小时"), max_length=60, required=False)
    day_of_month = forms.CharField(label=_("日"), max_length=60, required=False)
    month_of_year = forms.CharField(label=_("月"), max_length=60, required=False)
    day_of_week = forms.CharField(label=_("星期"), max_length=60, required=False)
    note = forms.CharField(label=_("修改说明"), max_length=100)

    def __init__(self, *args, job, **kwargs):
        initial = {"enabled": job.enabled}
        if job.interval_id:
            initial["every"] = job.interval.every
        elif job.crontab_id:
            for name in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week"):
                initial[name] = getattr(job.crontab, name)
        super().__init__(*args, initial=initial, **kwargs)
        drop = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week") \
            if job.interval_id else ("every",)
        for name in drop:
            del self.fields[name]
class ImportUploadForm(StyledFormMixin, validation.Form):
    """An upload for crm_site.imports: what the file holds, for which store, the file."""

    kind = forms.ChoiceField(label=_("数据类型"))
    store = forms.ModelChoiceField(label=_("门店"), queryset=Store.objects.none(), required=False)
    file = forms.FileField(label=_("文件（.xlsx 或 .csv）"))

    def __init__(self, *args, importers, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.importers = importers
        self.fields["kind"].choices = [(kind, importer.label) for kind, importer in importers.items()]
        self.fields["store"].queryset = stores
        if stores.count() == 1:
            self.fields["store"].initial = stores.first()

    def clean_file(self):
        from django.conf import settings

        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise ValidationError(_("只支持 .xlsx 或 .csv 文件。"))
        limit = getattr(settings, "IMPORT_MAX_MB", 20)
        if upload.size > limit * 1024 * 1024:
            raise ValidationError(_("文件不能超过%(limit)sMB。") % {"limit": limit})
        return upload

    def clean(self):
        cleaned = super().clean()
        importer = self.importers.get(cleaned.get("kind"))
        if importer is not None and importer.needs_store and not cleaned.get("store"):
            self.add_error("store", _("请选择门店。"))
        return cleaned


class NoticeChannelsForm(StyledFormMixin, forms.ModelForm):
    """How urgent notices reach the user besides the bell, and their quiet hours."""

    class Meta:
        model = NoticeChannels
        fields = ["sms", "wecom", "dingtalk", "quiet_start", "quiet_end"]
        widgets = {"quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}


class PasswordResetRequestForm(StyledFormMixin, forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    channel = forms.ChoiceField(label=_("验证码发送到"), widget=forms.RadioSelect, choices=[
        ("sms", _("登记的手机")), ("email", _("登记的电子邮箱"))], initial="sms")


class PasswordResetConfirmForm(StyledFormMixin, forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    code = forms.CharField(label=_("验证码"), max_length=6, min_length=6)
    password1 = forms.CharField(label=_("新密码"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("再次输入新密码"), widget=forms.PasswordInput, strip=False)

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        return data
