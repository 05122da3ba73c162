from django import forms
from django.utils.translation import gettext_lazy as _

from crm_site import validation
from customers.models import ServiceVisit

from .models import (
    CareClass,
    ClubLevel,
    ClubMember,
    FollowupSettings,
    LoungeVisit,
    Programme,
    SatisfactionQuestion,
    Step,
)


class ProgrammeForm(validation.ModelForm):
    closing_kinds = forms.MultipleChoiceField(
        label=_("结束本轮的进厂类型"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=ServiceVisit.RepairType.choices,
        help_text=_("只有这些维修类型的进厂才结束本轮（例如钣金喷漆不结束首保提醒）；空白：任何进厂"))

    class Meta:
        model = Programme
        fields = ["name", "description", "closes_on_visit", "closing_kinds", "assign_to_owner",
                  "is_active", "order"]


class ProgrammeCreateForm(validation.ModelForm):
    """A new programme: the fields a manager sets once (code and date N) and the rest."""

    class Meta:
        model = Programme
        fields = ["code", "name", "anchor", "description", "closes_on_visit", "assign_to_owner",
                  "order"]

    def validate_unique(self):
        """Left to services.programme_create, which names the field."""


class StepForm(validation.ModelForm):
    class Meta:
        model = Step
        fields = ["order", "offset_days", "offset_minutes", "due_within_days", "window_end_days",
                  "channel", "purpose", "sms_template_code", "sms_text", "script", "only_until_came_in",
                  "asks_satisfaction", "is_active"]
        widgets = {"sms_text": forms.Textarea(attrs={"rows": 3}),
                   "script": forms.Textarea(attrs={"rows": 6})}


QuestionFormSet = forms.inlineformset_factory(
    Programme, SatisfactionQuestion, fields=["code", "text", "department", "order", "is_active"],
    extra=1, can_delete=False)


class SettingsForm(validation.ModelForm):
    class Meta:
        model = FollowupSettings
        fields = ["catch_up_days", "call_lookahead_days", "retry_within_days", "max_attempts",
                  "lapsed_after_days", "appointment_credit_days", "sms_valid_days"]


class CampaignForm(validation.Form):
    store = forms.ModelChoiceField(label=_("门店"), queryset=None)
    name = forms.CharField(label=_("活动名称"), max_length=100)
    date = forms.DateField(label=_("活动日期"), widget=forms.DateInput(attrs={"type": "date"}))
    offer = forms.CharField(label=_("活动优惠"), widget=forms.Textarea(attrs={"rows": 3}),
                            required=False)
    lapsed_days = forms.IntegerField(label=_("未进厂天数"), min_value=30, required=False)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores


class CareClassForm(validation.ModelForm):
    class Meta:
        model = CareClass
        fields = ["store", "title", "starts_at", "location", "capacity", "description"]
        widgets = {"starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                    format="%Y-%m-%dT%H:%M")}

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores


class LoungeArriveForm(validation.Form):
    """A visitor at the bar: a known customer (picked by quick find) or a new visitor's
    name and mobile, why they came and what they like."""

    store = forms.ModelChoiceField(label=_("门店"), queryset=None, empty_label=None)
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("姓名"), max_length=100, required=False)
    mobile = forms.CharField(label=_("手机"), max_length=20, required=False,
                             widget=forms.TextInput(attrs={"inputmode": "tel"}))
    purpose = forms.ChoiceField(label=_("来访事由"), choices=LoungeVisit.Purpose.choices,
                                initial=LoungeVisit.Purpose.SERVICE, widget=forms.RadioSelect)
    drink = forms.CharField(label=_("饮品"), max_length=50, required=False)
    newspaper = forms.CharField(label=_("报刊"), max_length=50, required=False)
    interests = forms.CharField(label=_("兴趣"), max_length=200, required=False)
    notes = forms.CharField(label=_("备注"), required=False)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores


class LoungePreferenceForm(validation.Form):
    drink = forms.CharField(label=_("饮品"), max_length=50, required=False)
    newspaper = forms.CharField(label=_("报刊"), max_length=50, required=False)
    interests = forms.CharField(label=_("兴趣"), max_length=200, required=False)


class ClubJoinForm(validation.Form):
    source = forms.ChoiceField(label=_("入会来源"), choices=ClubMember.Source.choices)
    level = forms.ModelChoiceField(label=_("等级"), queryset=ClubLevel.objects.filter(is_active=True),
                                   empty_label=None)
    joined_on = forms.DateField(label=_("入会日期"), widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(label=_("备注"), required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))


class ClubActivityForm(CareClassForm):
    class Meta(CareClassForm.Meta):
        fields = ["store", "kind", "title", "starts_at", "location", "capacity", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [c for c in CareClass.Kind.choices
                                       if c[0] != CareClass.Kind.CARE_CLASS]


class StepCreateForm(StepForm):
    class Meta(StepForm.Meta):
        fields = ["code", *[f for f in StepForm.Meta.fields if f != "is_active"]]

    def validate_unique(self):
        """Left to services.step_add, which names the field."""

    def _post_clean(self):
        """No model validation here: the step has no programme yet; step_add validates."""
