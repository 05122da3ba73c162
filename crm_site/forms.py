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
