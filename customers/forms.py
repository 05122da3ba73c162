"""Forms of the customer pages. They collect input; the services validate and save, and
their ValidationError({field: message}) is shown next to the field (apply_errors)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm_site import validation
from crm_site.forms import style_widgets
from crm_site.models import User

from .models import (
    ConsentChange,
    CorrectionRequest,
    Customer,
    FamilyMember,
    InsurancePolicy,
    Sale,
    ServiceVisit,
    Vehicle,
)
from .services import CUSTOMER_FIELDS, VEHICLE_FIELDS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")






def inline_validation(form, *names):
    """Ask the server about these fields when they change (htmx), before saving."""
    from django.urls import reverse

    for name in names:
        if name in form.fields:
            form.fields[name].widget.attrs.update({
                "hx-post": reverse("customers:validate", args=[name]),
                "hx-trigger": "change", "hx-target": f"#feedback-{name}", "hx-swap": "innerHTML"})


class BootstrapForm(validation.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_widgets(self)


class ServiceModelForm(validation.ModelForm):
    """A ModelForm for widgets and labels only: the model is not validated here, the
    service does it (with normalisation first, e.g. '+86 138 0013 8000')."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_widgets(self)

    def _post_clean(self):
        pass


class CustomerForm(ServiceModelForm):
    mobile = forms.CharField(label=_("手机"), max_length=30, required=False)
    id_number = forms.CharField(label=_("身份证号"), max_length=30, required=False)
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=30, required=False)
    website = forms.URLField(label=_("网址"), required=False, assume_scheme="https")
    allow_duplicate = forms.BooleanField(label=_("确认不是重复客户，仍然保存"), required=False)

    class Meta:
        model = Customer
        fields = ["store", *[f for f in CUSTOMER_FIELDS if f not in
                             ("sms_allowed", "call_allowed", "contact_refusal_reason")]]
        widgets = {"birth_date": DATE, "founded_on": DATE,
                   "character_notes": forms.Textarea(attrs={"rows": 2}),
                   "note": forms.Textarea(attrs={"rows": 2})}

    PERSONAL = ("gender", "birth_date", "marital_status", "home_address", "id_number",
                "employer", "employer_address", "occupation", "job_title", "education",
                "income_band", "hobbies", "character_notes")
    COMPANY = ("credit_code", "industry", "company_address", "founded_on", "company_size",
               "main_business", "website", "person_in_charge", "contact_person")

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.fields["store"].empty_label = None
        self.fields["owner"].queryset = User.objects.filter(
            is_active=True, stores__in=stores).distinct().order_by("username")
        if self.instance.pk:
            del self.fields["store"]
        for name in ("mobile", "id_number", "credit_code"):
            self.fields[name].widget.attrs.update({"autocomplete": "off"})
        style_widgets(self)
        inline_validation(self, "mobile", "id_number", "credit_code")
        if "id_number" in self.fields:
            self.fields["id_number"].widget.attrs["hx-include"] = "[name=birth_date],[name=gender]"
        for names, kind in ((self.PERSONAL, "private"), (self.COMPANY, "company")):
            for name in names:
                if name in self.fields:
                    self.fields[name].widget.attrs["data-kind"] = kind

    def service_values(self):
        data = dict(self.cleaned_data)
        data.pop("allow_duplicate", None)
        data.pop("store", None)
        return {k: ("" if v is None and k not in ("birth_date", "founded_on", "owner") else v)
                for k, v in data.items()}


class ConsentForm(BootstrapForm):
    sms_allowed = forms.BooleanField(label=_("接受短信"), required=False)
    call_allowed = forms.BooleanField(label=_("接受电话"), required=False)
    reason = forms.CharField(label=_("拒绝联系原因"), max_length=200, required=False)
    method = forms.ChoiceField(label=_("表示方式"), choices=ConsentChange.Method.choices,
                               initial=ConsentChange.Method.PHONE, required=False)

    def clean_method(self):
        return self.cleaned_data.get("method") or ConsentChange.Method.PHONE


class SubjectRequestForm(BootstrapForm):
    """A data-subject request: export everything, or erase (with the confirmation box)."""

    reason = forms.CharField(label=_("原因"), max_length=200,
                             help_text=_("例如客户申请的编号与日期"))
    confirm = forms.BooleanField(label=_("确认删除该客户的个人信息（不可撤销）"), required=False)


class FamilyMemberForm(ServiceModelForm):
    class Meta:
        model = FamilyMember
        fields = ["relation", "name", "birthday", "phone"]
        widgets = {"birthday": DATE}


class VehicleForm(ServiceModelForm):
    vin = forms.CharField(label=_("车架号(VIN)"), max_length=30)
    plate = forms.CharField(label=_("车牌号"), max_length=20, required=False)

    class Meta:
        model = Vehicle
        fields = list(VEHICLE_FIELDS)
        widgets = {"annual_inspection_on": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_widgets(self)
        inline_validation(self, "vin", "plate")


class SaleForm(ServiceModelForm):
    class Meta:
        model = Sale
        fields = ["price", "discount", "order_date", "delivered_on", "consultant",
                  "consultant_name", "insurance_bought", "finance_used", "dms_ref"]
        widgets = {"order_date": DATE, "delivered_on": DATE}

    def __init__(self, *args, store, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consultant"].queryset = User.objects.filter(is_active=True, stores=store)


class ServiceVisitForm(ServiceModelForm):
    class Meta:
        model = ServiceVisit
        fields = ["repair_type", "date_in", "date_out", "amount", "mileage", "next_service_on",
                  "advisor", "advisor_name", "dms_ref"]
        widgets = {"date_in": DATE, "date_out": DATE, "next_service_on": DATE}

    def __init__(self, *args, store, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["advisor"].queryset = User.objects.filter(is_active=True, stores=store)


class InsurancePolicyForm(ServiceModelForm):
    class Meta:
        model = InsurancePolicy
        fields = ["insurer", "policy_no", "premium", "starts_on", "expires_on", "bought_here"]
        widgets = {"starts_on": DATE, "expires_on": DATE}


class CustomerRefField(forms.IntegerField):
    """A customer by number (客户编号), looked up in a scoped queryset: no select list of
    every customer of the store."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        super().__init__(*args, **kwargs)
        self.queryset = Customer.objects.none()

    def clean(self, value):
        pk = super().clean(value)
        customer = self.queryset.filter(pk=pk).first()
        if customer is None:
            raise ValidationError(_("找不到编号为 %(pk)s 的有效客户。") % {"pk": pk})
        return customer


class TransferForm(BootstrapForm):
    customer = CustomerRefField(label=_("新车主客户编号"))
    on = forms.DateField(label=_("过户日期"), widget=DATE)

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers


class CorrectionForm(ServiceModelForm):
    class Meta:
        model = CorrectionRequest
        fields = ["vehicle", "call_date", "department", "field", "wrong_value", "correct_value",
                  "note"]
        widgets = {"call_date": DATE, "note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vehicle"].queryset = customer.vehicles.all()
        self.fields["wrong_value"].help_text = _("留空则自动记录档案中的当前值")


class DecisionForm(BootstrapForm):
    note = forms.CharField(label=_("处理意见"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    value = forms.CharField(label=_("修正为"), max_length=200, required=False)


class MergeForm(BootstrapForm):
    kept = CustomerRefField(label=_("保留客户编号"))
    merged = CustomerRefField(label=_("被合并客户编号"))
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kept"].queryset = customers
        self.fields["merged"].queryset = customers


