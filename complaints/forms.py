"""Forms of the complaint pages: the quick log, one small form per action, filters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm_site import validation
from crm_site.forms import StyledFormMixin
from crm_site.models import User
from crm_site.scoping import for_user

from .models import SLA_POLICY_FIELDS, Complaint, Reason, Severity, SlaPolicy
from .services import CONTACT_CHANNELS

LOCAL_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1},
                                  format="%Y-%m-%dT%H:%M:%S")


class StyledForm(StyledFormMixin, validation.Form):
    """The complaint forms: dense, small widgets."""

    compact = True


class ComplaintLogForm(StyledForm):
    """Log a complaint in a few seconds: who, what, how serious."""

    customer = forms.ModelChoiceField(label=_("客户"), queryset=None)
    vehicle = forms.ModelChoiceField(label=_("车辆"), queryset=None, required=False)
    channel = forms.ChoiceField(label=_("投诉渠道"), choices=Complaint.Channel.choices,
                                initial=Complaint.Channel.PHONE)
    category = forms.ChoiceField(label=_("投诉类别"), choices=Complaint.Category.choices)
    description = forms.CharField(label=_("投诉内容"), widget=forms.Textarea(attrs={"rows": 3}))
    severity = forms.ChoiceField(label=_("投诉级别"), choices=Severity.choices,
                                 initial=Severity.GENERAL, widget=forms.RadioSelect)
    important_reasons = forms.MultipleChoiceField(
        label=_("重要投诉原因"), choices=Reason.choices, required=False,
        widget=forms.CheckboxSelectMultiple)
    received_at = forms.DateTimeField(
        label=_("客户提出时间"), required=False, widget=LOCAL_INPUT,
        input_formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
                       "%Y-%m-%d %H:%M"],
        help_text=_("留空为现在；通话后补登请填写客户提出的时间。"))
    department = forms.ChoiceField(label=_("责任部门"), required=False,
                                   choices=[("", "---------"), *Complaint.Department.choices])

    def __init__(self, *args, user, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        from customers.models import Customer, Vehicle

        customers = for_user(Customer.objects.filter(is_active=True), user)
        vehicles = for_user(Vehicle.objects.all(), user)
        if customer is not None:
            customers = customers.filter(pk=customer.pk)
            vehicles = vehicles.filter(customer=customer)
            self.fields["customer"].initial = customer.pk
            self.fields["customer"].widget = forms.HiddenInput()
        self.fields["customer"].queryset = customers
        self.fields["vehicle"].queryset = vehicles
        if customer is None:
            self.fields["customer"].widget = forms.NumberInput(attrs={"min": 1})
            self.fields["customer"].help_text = _("客户编号；可从客户页面点击“登记投诉”自动带入。")
            self.fields["vehicle"].widget = forms.NumberInput(attrs={"min": 1})
            self.fields["vehicle"].help_text = _("车辆编号（可选）")
        self.style()


class RespondForm(StyledForm):
    channel = forms.ChoiceField(label=_("联系方式"), choices=list(CONTACT_CHANNELS.items()))
    note = forms.CharField(label=_("沟通内容"), widget=forms.Textarea(attrs={"rows": 2}))
    contacted_at = forms.DateTimeField(label=_("联系时间"), required=False, widget=LOCAL_INPUT,
                                       input_formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"],
                                       help_text=_("留空为现在"))


class HandOffForm(StyledForm):
    department = forms.ChoiceField(label=_("责任部门"), choices=Complaint.Department.choices)
    department_manager = forms.ModelChoiceField(label=_("部门负责人"), queryset=None,
                                                required=False,
                                                help_text=_("留空则按部门自动指定"))
    note = forms.CharField(label=_("说明"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, complaint, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department_manager"].queryset = User.objects.filter(
            is_active=True, stores=complaint.store_id).order_by("username")
        if complaint.department:
            self.fields["department"].initial = complaint.department


class FeedbackForm(StyledForm):
    feedback = forms.CharField(label=_("部门处理情况"), widget=forms.Textarea(attrs={"rows": 3}))
    root_cause = forms.CharField(label=_("原因分析"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    corrective_action = forms.CharField(label=_("纠正措施"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(StyledForm):
    resolution = forms.CharField(label=_("解决方案"), widget=forms.Textarea(attrs={"rows": 3}))
    root_cause = forms.CharField(label=_("原因分析"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    corrective_action = forms.CharField(label=_("纠正措施"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 2}))


class CallbackForm(StyledForm):
    satisfied = forms.TypedChoiceField(
        label=_("客户是否满意"), coerce=lambda value: value == "yes", widget=forms.RadioSelect,
        choices=[("yes", _("满意，结案")), ("no", _("不满意，重新派单"))])
    note = forms.CharField(label=_("回访记录"), widget=forms.Textarea(attrs={"rows": 2}))


class ReissueForm(StyledForm):
    note = forms.CharField(label=_("重新派单原因"), widget=forms.Textarea(attrs={"rows": 2}))
    department = forms.ChoiceField(label=_("责任部门"), required=False,
                                   choices=[("", _("不变")), *Complaint.Department.choices])


class PauseForm(StyledForm):
    reason = forms.CharField(label=_("暂停原因"), max_length=200,
                             help_text=_("例如：等待客户提供资料、等待厂家答复"))


class ResumeForm(StyledForm):
    note = forms.CharField(label=_("说明"), required=False)


class ClassifyForm(StyledForm):
    severity = forms.ChoiceField(label=_("投诉级别"), choices=Severity.choices,
                                 widget=forms.RadioSelect)
    important_reasons = forms.MultipleChoiceField(
        label=_("重要投诉原因"), choices=Reason.choices, required=False,
        widget=forms.CheckboxSelectMultiple)
    category = forms.ChoiceField(label=_("投诉类别"), choices=Complaint.Category.choices)
    note = forms.CharField(label=_("说明"), required=False)

    def __init__(self, *args, complaint, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].initial = complaint.severity
        self.fields["important_reasons"].initial = list(complaint.important_reasons)
        self.fields["category"].initial = complaint.category


class AttachmentForm(StyledForm):
    file = forms.FileField(label=_("照片或文档"))


ACTION_FORMS = {
    "respond": (RespondForm, _("登记首次响应")),
    "hand_off": (HandOffForm, _("转交责任部门")),
    "department_feedback": (FeedbackForm, _("填写部门反馈")),
    "resolve": (ResolveForm, _("登记解决")),
    "callback": (CallbackForm, _("登记回访")),
    "reissue": (ReissueForm, _("重新派单")),
    "pause": (PauseForm, _("暂停解决计时")),
    "resume": (ResumeForm, _("恢复解决计时")),
    "classify": (ClassifyForm, _("修改分类")),
}


def action_form(action, complaint, data=None):
    form_class = ACTION_FORMS[action][0]
    kwargs = {"complaint": complaint} if form_class in (HandOffForm, ClassifyForm) else {}
    return form_class(data, prefix=action, **kwargs)


class SlaPolicyForm(StyledFormMixin, validation.ModelForm):
    """The SLA policy of one severity as the settings page edits it, with the change note."""

    note = forms.CharField(label=_("修改说明"), max_length=100,
                           help_text=_("为什么修改，记入修改记录。"))

    class Meta:
        model = SlaPolicy
        fields = SLA_POLICY_FIELDS
