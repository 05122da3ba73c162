"""Forms of the satisfaction pages. They only shape input; the services decide."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from complaints.models import Complaint
from crm_site import validation
from crm_site.forms import StyledFormMixin
from inspections.models import Area

from .models import (
    AnalysisMeeting,
    CustomerBand,
    Department,
    ImprovementPlan,
    Measure,
    MysteryShopCheck,
    Target,
)


class PeriodField(forms.DateField):
    """A month typed as YYYY-MM (an <input type="month">)."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m", "%Y-%m-%d"]

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace(day=1) if value else value


class ScoreImportForm(StyledFormMixin, validation.Form):
    file = forms.FileField(label=_("厂家报告文件（.xlsx 或 .csv）"))


def staff_choices(store_ids):
    return (get_user_model().objects.filter(stores__in=store_ids, is_active=True).distinct()
            .order_by("last_name", "first_name", "username"))


class TargetForm(StyledFormMixin, validation.ModelForm):
    period = PeriodField(label=_("月份"), required=False, help_text=_("留空表示每个月"))

    class Meta:
        model = Target
        fields = ["measure", "store", "period", "value", "threshold", "secure_grade", "strive_grade",
                  "note"]

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.fields["store"].required = True
        self.fields["measure"].choices = Measure.choices

    def validate_unique(self):
        """The service sets the target of a scope whether or not it exists yet."""


class MeetingDueForm(StyledFormMixin, validation.ModelForm):
    class Meta:
        model = AnalysisMeeting
        fields = ["due_on"]
        widgets = {"due_on": forms.DateInput(attrs={"type": "date"})}


class MeetingRecordForm(StyledFormMixin, validation.Form):
    held_at = forms.DateTimeField(label=_("召开时间"),
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                  input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    attendees = forms.CharField(label=_("参会人员"), max_length=300, required=False)
    minutes = forms.CharField(label=_("会议纪要"), widget=forms.Textarea(attrs={"rows": 5}))
    decisions = forms.CharField(label=_("决议"), widget=forms.Textarea(attrs={"rows": 3}))


class PlanForm(StyledFormMixin, validation.ModelForm):
    why_1 = forms.CharField(label=_("为什么 1"), required=False, max_length=300)
    why_2 = forms.CharField(label=_("为什么 2"), required=False, max_length=300)
    why_3 = forms.CharField(label=_("为什么 3"), required=False, max_length=300)
    why_4 = forms.CharField(label=_("为什么 4"), required=False, max_length=300)
    why_5 = forms.CharField(label=_("为什么 5"), required=False, max_length=300)

    class Meta:
        model = ImprovementPlan
        fields = ["title", "department", "owner", "complaint_category", "inspection_area",
                  "problem", "breakdown", "target_text", "target_score", "root_cause",
                  "implementation", "evaluation", "standardisation"]
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in (
            "problem", "breakdown", "target_text", "root_cause", "implementation", "evaluation",
            "standardisation")}

    def __init__(self, *args, store_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_choices(store_ids)
        self.fields["department"].choices = Department.choices
        for name, choices in (("complaint_category", list(Complaint.Category.choices)),
                              ("inspection_area", list(Area.choices))):
            if choices:
                self.fields[name] = forms.ChoiceField(
                    label=self.fields[name].label, required=False,
                    choices=[("", "---------"), *choices])
        whys = list(self.instance.whys or []) if self.instance.pk else []
        for index in range(5):
            if index < len(whys):
                self.fields[f"why_{index + 1}"].initial = whys[index]
        self.order_fields(["title", "department", "owner", "complaint_category", "inspection_area",
                           "problem", "breakdown", "target_text", "target_score", "why_1", "why_2",
                           "why_3", "why_4", "why_5", "root_cause", "implementation", "evaluation",
                           "standardisation"])
        self.style()

    def plan_fields(self):
        data = dict(self.cleaned_data)
        data["whys"] = [data.pop(f"why_{i}") for i in range(1, 6)]
        return data


class CountermeasureForm(StyledFormMixin, validation.Form):
    action = forms.CharField(label=_("对策"), max_length=300)
    owner = forms.ModelChoiceField(label=_("负责人"), queryset=get_user_model().objects.none())
    due_on = forms.DateField(label=_("完成期限"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, store_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_choices(store_ids)


class CountermeasureDoneForm(StyledFormMixin, validation.Form):
    done_on = forms.DateField(label=_("完成日期"), widget=forms.DateInput(attrs={"type": "date"}))
    result = forms.CharField(label=_("实施结果"), max_length=300, required=False)


class PlanCloseForm(StyledFormMixin, validation.Form):
    reason = forms.CharField(label=_("关闭原因"), widget=forms.Textarea(attrs={"rows": 2}))


class MysteryCheckForm(StyledFormMixin, validation.Form):
    store = forms.ModelChoiceField(label=_("门店"), queryset=None)
    kind = forms.ChoiceField(label=_("类型"), choices=MysteryShopCheck.Kind.choices)
    department = forms.ChoiceField(label=_("部门"),
                                   choices=[(Department.SALES, Department.SALES.label),
                                            (Department.SERVICE, Department.SERVICE.label)])
    checked_on = forms.DateField(label=_("检查日期"), widget=forms.DateInput(attrs={"type": "date"}))
    staff = forms.ModelChoiceField(label=_("被检员工"), queryset=get_user_model().objects.none())
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, stores, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.fields["staff"].queryset = staff_choices(stores.values("pk"))
        self.items = list(items)
        for item in self.items:
            self.fields[f"item_{item.pk}"] = forms.DecimalField(
                label=f"{item.get_department_display()} · {item.name}（{item.max_points}）",
                min_value=0, max_value=item.max_points, required=False, decimal_places=2)
        self.style()

    def item_fields(self):
        return [self[f"item_{item.pk}"] for item in self.items]

    def results(self):
        """[(item, points, remark)] for the chosen department's items that were scored."""
        department = self.cleaned_data["department"]
        return [(item, self.cleaned_data.get(f"item_{item.pk}"), "") for item in self.items
                if item.department == department
                and self.cleaned_data.get(f"item_{item.pk}") is not None]


class CustomerBandForm(StyledFormMixin, validation.ModelForm):
    """One band of the customer analysis, with the change note."""

    note = forms.CharField(label=_("修改说明"), max_length=100,
                           help_text=_("为什么修改，记入修改记录。"))

    class Meta:
        model = CustomerBand
        fields = ["kind", "label", "lower", "upper", "order", "is_active"]
