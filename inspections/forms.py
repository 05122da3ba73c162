"""Forms of the inspection pages. Photos are plain FileFields: the content check is the
service's (inspections.photos), not the browser's or the file name's."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm_site import validation

from .models import ChecklistItem, Outcome, Severity

PHOTO_WIDGET = forms.ClearableFileInput(attrs={
    "accept": "image/*", "capture": "environment", "class": "form-control form-control-lg",
})


class AnswerForm(validation.Form):
    outcome = forms.ChoiceField(label=_("结果"), choices=Outcome.choices)
    note = forms.CharField(label=_("备注"), max_length=500, required=False)
    responsible = forms.ModelChoiceField(label=_("整改责任人"), queryset=None, required=False)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = staff


class PhotoForm(validation.Form):
    photo = forms.FileField(label=_("照片"), widget=PHOTO_WIDGET,
                            error_messages={"required": _("照片：请选择一张照片。")})


class FixForm(validation.Form):
    photo = forms.FileField(label=_("整改后照片"), widget=PHOTO_WIDGET, required=False)
    note = forms.CharField(label=_("整改说明"), max_length=500, required=False,
                           widget=forms.TextInput(attrs={"class": "form-control"}))


class VerifyForm(validation.Form):
    passed = forms.TypedChoiceField(label=_("复查结果"), coerce=lambda v: v == "1",
                                    choices=[("1", _("通过")), ("0", _("不通过"))])
    note = forms.CharField(label=_("复查意见"), max_length=500, required=False)


class ChecklistItemForm(validation.ModelForm):
    class Meta:
        model = ChecklistItem
        fields = ["position", "text", "weight", "severity", "photo_required"]
        widgets = {
            "position": forms.NumberInput(attrs={"class": "form-control", "min": 0}),
            "text": forms.TextInput(attrs={"class": "form-control"}),
            "weight": forms.NumberInput(attrs={"class": "form-control", "min": 1, "max": 100}),
            "severity": forms.Select(attrs={"class": "form-select"}, choices=Severity.choices),
            "photo_required": forms.CheckboxInput(attrs={"class": "form-check-input"}),
        }


class ChecklistForm(validation.Form):
    name = forms.CharField(label=_("名称"), max_length=100,
                           widget=forms.TextInput(attrs={"class": "form-control"}))
    responsible = forms.ModelChoiceField(label=_("默认整改责任人"), queryset=None, required=False,
                                         widget=forms.Select(attrs={"class": "form-select"}))
    is_active = forms.BooleanField(label=_("启用"), required=False,
                                   widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = staff


class ReportFilterForm(validation.Form):
    store = forms.ModelChoiceField(label=_("门店"), queryset=None, required=False,
                                   empty_label=_("全部门店"),
                                   widget=forms.Select(attrs={"class": "form-select"}))
    start = forms.DateField(label=_("从"), required=False,
                            widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}))
    end = forms.DateField(label=_("到"), required=False,
                          widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}))

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            problem = validation.date_range_problem(start, end)
            if problem:
                self.add_error("end", problem)
        return cleaned
