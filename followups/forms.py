from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CareClass, FollowupSettings, Programme, SatisfactionQuestion, Step


class ProgrammeForm(forms.ModelForm):
    class Meta:
        model = Programme
        fields = ["name", "description", "closes_on_visit", "assign_to_owner", "is_active", "order"]


class StepForm(forms.ModelForm):
    class Meta:
        model = Step
        fields = ["order", "offset_days", "offset_minutes", "due_within_days", "channel",
                  "purpose", "sms_template_code", "sms_text", "script", "only_until_came_in",
                  "asks_satisfaction", "is_active"]
        widgets = {"sms_text": forms.Textarea(attrs={"rows": 3}),
                   "script": forms.Textarea(attrs={"rows": 6})}


QuestionFormSet = forms.inlineformset_factory(
    Programme, SatisfactionQuestion, fields=["code", "text", "department", "order", "is_active"],
    extra=1, can_delete=False)


class SettingsForm(forms.ModelForm):
    class Meta:
        model = FollowupSettings
        fields = ["catch_up_days", "retry_within_days", "max_attempts", "lapsed_after_days",
                  "appointment_credit_days", "sms_valid_days"]


class CampaignForm(forms.Form):
    store = forms.ModelChoiceField(label=_("门店"), queryset=None)
    name = forms.CharField(label=_("活动名称"), max_length=100)
    date = forms.DateField(label=_("活动日期"), widget=forms.DateInput(attrs={"type": "date"}))
    offer = forms.CharField(label=_("活动优惠"), widget=forms.Textarea(attrs={"rows": 3}),
                            required=False)
    lapsed_days = forms.IntegerField(label=_("未进厂天数"), min_value=30, required=False)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores


class CareClassForm(forms.ModelForm):
    class Meta:
        model = CareClass
        fields = ["store", "title", "starts_at", "location", "capacity", "description"]
        widgets = {"starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                    format="%Y-%m-%dT%H:%M")}

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
