"""Pages of the customer records: list and search, the customer 360, forms, masked
identifiers and their logged reveal, correction requests, duplicates and merges, import."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_site import validation
from crm_site.exports import csv_response
from crm_site.forms import apply_errors
from crm_site.models import User
from crm_site.proxies import client_ip
from crm_site.replica import reads_from_replica
from crm_site.scoping import stores_of
from crm_site.templatetags.crm import mask_mobile
from crm_site.throttling import EXPORT, REVEAL, limited, throttle

from . import selectors, services, timeline
from .filters import CorrectionFilter, CustomerFilter
from .forms import (
    ConsentForm,
    CorrectionForm,
    CustomerForm,
    DecisionForm,
    FamilyMemberForm,
    InsurancePolicyForm,
    MergeForm,
    SaleForm,
    ServiceVisitForm,
    SubjectRequestForm,
    TransferForm,
    VehicleForm,
)
from .models import (
    CorrectionRequest,
    Customer,
    CustomerErasure,
    FamilyMember,
    PersonalDataReveal,
)
from .selectors import DUE_PROGRAMMES
from .templatetags.customers_tags import mask_id, masked_correction
from .validators import (
    normalize_credit_code,
    normalize_id_number,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
)

PAGE_SIZE = 25
PAGE_SIZES = (25, 50, 100)
EXPORT_LIMIT = 5000


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request):
    filterset = validation.filter_page(CustomerFilter, request, selectors.customers_for(request.user))
    filters, customers = filterset.values(), filterset.qs
    if request.GET.get("export") == "csv":
        if not request.user.has_perm("customers.export_customers"):
            raise PermissionDenied
        return limited(request, EXPORT) or _export_csv(request, customers)
    per_page = _int(request.GET.get("per_page"))
    per_page = per_page if per_page in PAGE_SIZES else PAGE_SIZE
    page = selectors.CappedPaginator(customers, per_page).get_page(request.GET.get("page"))
    stores = stores_of(request.user)
    context = {
        "page": page, "filters": filters, "filterset": filterset, "stores": stores, "per_page": per_page,
        "page_sizes": PAGE_SIZES,
        "owners": User.objects.filter(is_active=True, stores__in=stores).distinct()
        .order_by("username"),
        "programmes": [(key, label) for key, label in _programme_labels()],
        "querystring": _querystring(request, drop=("page",)),
    }
    template = "customers/partials/customer_rows.html" if request.htmx else "customers/customer_list.html"
    return render(request, template, context)


def _programme_labels():
    labels = {"first_service": _("首保"), "periodic_service": _("定保"),
              "insurance": _("续保"), "inspection": _("年检")}
    return [(key, labels[key]) for key in DUE_PROGRAMMES]


def _querystring(request, drop=()):
    params = request.GET.copy()
    for key in drop:
        params.pop(key, None)
    return params.urlencode()


def _export_csv(request, customers):
    """The current view as CSV (at most EXPORT_LIMIT rows), for the roles that may export
    personal data (customers.export_customers). Identifiers are in full for a role that
    may reveal them, masked otherwise; every export is logged with its filter, its
    records and its row count."""
    full = request.user.has_perm("crm_site.reveal_personal_data")
    rows = list(customers[:EXPORT_LIMIT])
    services.personal_data_export_log(
        user=request.user, customer_ids=[c.pk for c in rows], unmasked=full,
        filters=_querystring(request, drop=("export", "page")),
        ip_address=client_ip(request))
    response, writer = csv_response(f"customers-{timezone.localdate()}.csv")
    writer.writerow([_("编号"), _("姓名/名称"), _("类型"), _("手机"), _("身份证号/信用代码"), _("门店"),
                     _("负责专员"), _("车牌号"), _("车型"), _("接受短信"), _("接受电话")])
    for customer in rows:
        vehicles = customer.active_vehicles
        identifier = customer.credit_code if customer.is_company else customer.id_number
        writer.writerow([
            customer.pk, customer.name, customer.get_kind_display(),
            customer.mobile if full else mask_mobile(customer.mobile),
            identifier if full else mask_id(identifier),
            customer.store.name, customer.owner or "", " ".join(v.plate for v in vehicles),
            " ".join(v.model_name for v in vehicles),
            _("是") if customer.sms_allowed else _("否"), _("是") if customer.call_allowed else _("否"),
        ])
    return response


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request, pk):
    customer = selectors.customer_360(request.user, pk)
    entries = timeline.collect(customer, request.user)
    vehicles = list(customer.vehicles.all())
    return render(request, "customers/customer_detail.html", {
        "customer": customer, "vehicles": vehicles, "timeline": entries,
        "actions": timeline.actions_for(customer, request.user),
        "family": list(customer.family.all()),
        "corrections": list(customer.correction_requests.all())[:10],
        "consent_form": ConsentForm(initial={"sms_allowed": customer.sms_allowed,
                                             "call_allowed": customer.call_allowed,
                                             "reason": customer.contact_refusal_reason}),
        "consent_changes": customer.recent_consent_changes,
        "subject_form": SubjectRequestForm(),
        "family_form": FamilyMemberForm(),
        "can_reveal": request.user.has_perm("crm_site.reveal_personal_data"),
        "today": timezone.localdate(),
    })


@login_required
def customer_edit(request, pk=None):
    customer = None
    if pk is None:
        if not request.user.has_perm("customers.add_customer"):
            raise PermissionDenied
    else:
        if not request.user.has_perm("customers.change_customer"):
            raise PermissionDenied
        customer = selectors.customer_get(request.user, pk, include_inactive=False)
    stores = stores_of(request.user)
    form = CustomerForm(request.POST or None, instance=customer, stores=stores)
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        allow = form.cleaned_data.get("allow_duplicate", False)
        try:
            if customer is None:
                customer = services.customer_create(store=form.cleaned_data["store"],
                                                    actor=request.user, allow_duplicate=allow,
                                                    **values)
                messages.success(request, _("已创建客户档案。"))
            else:
                services.customer_update(customer=customer, actor=request.user,
                                         allow_duplicate=allow, **values)
                messages.success(request, _("已保存。"))
        except ValidationError as error:
            apply_errors(form, error)
            if customer is not None and customer.pk is None:
                customer = None
        else:
            return redirect("customers:detail", customer.pk)
    return render(request, "customers/customer_form.html", {"form": form, "customer": customer})


VALIDATORS = {
    "mobile": normalize_mobile,
    "id_number": normalize_id_number,
    "credit_code": normalize_credit_code,
    "plate": normalize_plate,
    "vin": lambda value: normalize_vin(value)[1],
}


@login_required
@require_POST
def validate_field(request, field):
    """Inline validation (htmx): the message for one field, empty when it is fine."""
    check = VALIDATORS.get(field)
    if check is None:
        raise Http404
    value = request.POST.get(field, "")
    message, level = "", "danger"
    if value.strip():
        try:
            if field == "id_number":
                birth_date = parse_date(request.POST.get("birth_date") or "")
                gender = request.POST.get("gender") or None
                result = check(value, birth_date=birth_date, gender=gender,
                               today=timezone.localdate())
            else:
                result = check(value)
            if field == "vin" and result:
                message, level = result, "warning"
        except ValidationError as error:
            message = " ".join(error.messages)
    return render(request, "customers/partials/field_feedback.html",
                  {"message": message, "level": level})


@login_required
@require_POST
@throttle(REVEAL)
def customer_reveal(request, pk, field):
    """Show one masked identifier in full; every reveal is logged."""
    customer = selectors.customer_get(request.user, pk)
    try:
        value = services.personal_data_reveal(user=request.user, customer=customer, field=field,
                                              ip_address=client_ip(request))
    except ValidationError as error:
        raise Http404 from error
    return HttpResponse(f'<span class="font-monospace" data-revealed="{field}">{_escape(value)}</span>')


def _escape(value):
    from django.utils.html import escape

    return escape(value or "-")


@login_required
@require_POST
def customer_consent(request, pk):
    if not (request.user.has_perm("customers.record_consent")
            or request.user.has_perm("customers.change_customer")):
        raise PermissionDenied
    customer = selectors.customer_get(request.user, pk, include_inactive=False)
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            services.customer_set_consent(customer=customer, actor=request.user,
                                          sms_allowed=form.cleaned_data["sms_allowed"],
                                          call_allowed=form.cleaned_data["call_allowed"],
                                          reason=form.cleaned_data["reason"],
                                          method=form.cleaned_data["method"])
            messages.success(request, _("联系偏好已更新。"))
        except ValidationError as error:
            messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
    else:
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
    return redirect("customers:detail", customer.pk)


# Data-subject requests ---------------------------------------------------------------------------

@login_required
@permission_required("crm_site.reveal_personal_data", raise_exception=True)
@require_POST
@throttle(EXPORT)
@reads_from_replica
def customer_data_export(request, pk):
    """Everything held about the customer as a JSON file, at the customer's request; logged."""
    customer = selectors.customer_get(request.user, pk)
    form = SubjectRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写导出原因（例如客户申请的编号）。"))
        return redirect("customers:detail", customer.pk)
    data = services.customer_data_export(customer=customer, actor=request.user,
                                         reason=form.cleaned_data["reason"],
                                         ip_address=client_ip(request))
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@login_required
@permission_required("customers.erase_customer", raise_exception=True)
@require_POST
def customer_erase(request, pk):
    """Erase the customer's personal data at the customer's request (rows stay for reports)."""
    customer = selectors.customer_get(request.user, pk)
    form = SubjectRequestForm(request.POST)
    if not form.is_valid() or not form.cleaned_data["confirm"]:
        messages.error(request, _("请填写删除原因并勾选确认。"))
        return redirect("customers:detail", customer.pk)
    try:
        services.customer_erase(customer=customer, actor=request.user,
                                reason=form.cleaned_data["reason"])
        messages.success(request, _("已删除该客户的个人信息；其业务记录保留用于统计。"))
    except ValidationError as error:
        messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
    return redirect("customers:detail", customer.pk)


@login_required
@require_POST
def family_add(request, pk):
    if not request.user.has_perm("customers.add_familymember"):
        raise PermissionDenied
    customer = selectors.customer_get(request.user, pk, include_inactive=False)
    form = FamilyMemberForm(request.POST)
    if form.is_valid():
        try:
            services.family_member_add(customer=customer, actor=request.user, **form.cleaned_data)
            messages.success(request, _("已添加家庭成员。"))
        except ValidationError as error:
            messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
    else:
        messages.error(request, _("家庭成员信息不完整。"))
    return redirect("customers:detail", customer.pk)


@login_required
@require_POST
def family_remove(request, pk, member_pk):
    if not request.user.has_perm("customers.change_familymember"):
        raise PermissionDenied
    customer = selectors.customer_get(request.user, pk, include_inactive=False)
    member = get_object_or_404(FamilyMember, pk=member_pk, customer=customer)
    services.family_member_remove(member=member, actor=request.user)
    return redirect("customers:detail", customer.pk)


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_history(request, pk):
    """Who changed what on the record and its vehicles (two queries plus the users)."""
    customer = selectors.customer_get(request.user, pk)
    changes = selectors.record_changes(
        customer, masked=not request.user.has_perm("crm_site.reveal_personal_data"))
    return render(request, "customers/customer_history.html",
                  {"customer": customer, "changes": changes})


# Vehicles ---------------------------------------------------------------------------------------

@login_required
def vehicle_create(request, pk):
    if not request.user.has_perm("customers.add_vehicle"):
        raise PermissionDenied
    customer = selectors.customer_get(request.user, pk, include_inactive=False)
    form = VehicleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vehicle = services.vehicle_register(store=customer.store, customer=customer,
                                                actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            for warning in vehicle.warnings:
                messages.warning(request, warning)
            return redirect("customers:vehicle-detail", vehicle.pk)
    return render(request, "customers/vehicle_form.html", {"form": form, "customer": customer})


@login_required
def vehicle_edit(request, pk):
    if not request.user.has_perm("customers.change_vehicle"):
        raise PermissionDenied
    vehicle = selectors.vehicle_get(request.user, pk)
    form = VehicleForm(request.POST or None, instance=vehicle)
    if request.method == "POST" and form.is_valid():
        try:
            services.vehicle_update(vehicle=vehicle, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect("customers:vehicle-detail", vehicle.pk)
    return render(request, "customers/vehicle_form.html",
                  {"form": form, "customer": vehicle.customer, "vehicle": vehicle})


RECORD_FORMS = {
    "sale": (SaleForm, services.sale_record, "customers.add_sale", _("销售记录已保存。")),
    "visit": (ServiceVisitForm, services.service_visit_record, "customers.add_servicevisit",
              _("维修保养记录已保存。")),
    "policy": (InsurancePolicyForm, services.insurance_policy_record,
               "customers.add_insurancepolicy", _("保险记录已保存。")),
}


def _record_form(kind, vehicle, data=None):
    form_class = RECORD_FORMS[kind][0]
    if form_class is InsurancePolicyForm:
        return form_class(data, prefix=kind)
    return form_class(data, prefix=kind, store=vehicle.store)


@login_required
@permission_required("customers.view_vehicle", raise_exception=True)
def vehicle_detail(request, pk, kind=None):
    vehicle = selectors.vehicle_get(request.user, pk)
    forms = {name: _record_form(name, vehicle) for name in RECORD_FORMS
             if request.user.has_perm(RECORD_FORMS[name][2])}
    if request.method == "POST":
        if kind not in forms:
            raise PermissionDenied
        form = forms[kind] = _record_form(kind, vehicle, request.POST)
        if form.is_valid():
            service = RECORD_FORMS[kind][1]
            try:
                service(vehicle=vehicle, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, RECORD_FORMS[kind][3])
                return redirect("customers:vehicle-detail", vehicle.pk)
    transfer_form = None
    if request.user.has_perm("customers.change_vehicle"):
        transfer_form = TransferForm(customers=Customer.objects.none(),
                                     initial={"on": timezone.localdate()})
    return render(request, "customers/vehicle_detail.html", {
        "vehicle": vehicle, "forms": forms, "open_form": kind, "transfer_form": transfer_form,
    })


@login_required
@require_POST
def vehicle_transfer(request, pk):
    if not request.user.has_perm("customers.change_vehicle"):
        raise PermissionDenied
    vehicle = selectors.vehicle_get(request.user, pk)
    form = TransferForm(request.POST, customers=selectors.customers_for(request.user).filter(
        store=vehicle.store, is_active=True))
    if form.is_valid():
        try:
            services.vehicle_transfer(vehicle=vehicle, customer=form.cleaned_data["customer"],
                                      on=form.cleaned_data["on"], actor=request.user)
            messages.success(request, _("已过户。"))
        except ValidationError as error:
            messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
    else:
        messages.error(request, _("请选择新车主和过户日期。"))
    return redirect("customers:vehicle-detail", vehicle.pk)


# Correction requests ----------------------------------------------------------------------------

@login_required
def correction_create(request, pk):
    if not request.user.has_perm("customers.add_correctionrequest"):
        raise PermissionDenied
    customer = selectors.customer_get(request.user, pk, include_inactive=False)
    form = CorrectionForm(request.POST or None, customer=customer,
                          initial={"call_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.correction_request_file(
                customer=customer, filed_by=request.user, field=data["field"],
                correct_value=data["correct_value"], department=data["department"],
                call_date=data["call_date"], vehicle=data["vehicle"],
                wrong_value=data["wrong_value"] or None, note=data["note"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("修正申请已提交，已通知责任部门经理。"))
            return redirect("customers:detail", customer.pk)
    return render(request, "customers/correction_form.html", {"form": form, "customer": customer})


@login_required
@permission_required("customers.view_correctionrequest", raise_exception=True)
def correction_list(request):
    query = request.GET.copy()
    query.setdefault("status", CorrectionRequest.Status.OPEN)  # the open ones first
    filters = CorrectionFilter(query, queryset=selectors.corrections_for(request.user),
                               request=request)
    filters.is_valid()
    page = Paginator(filters.qs.order_by("-filed_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "customers/correction_list.html", {
        "page": page, "filters": filters, "status": validation.filter_values(filters)["status"],
        "statuses": CorrectionRequest.Status.choices})


@login_required
@permission_required("customers.view_correctionrequest", raise_exception=True)
def correction_detail(request, pk, action=None):
    correction = get_object_or_404(selectors.corrections_for(request.user), pk=pk)
    if request.method == "POST" and not request.user.has_perm("customers.decide_correctionrequest"):
        raise PermissionDenied
    # A mobile or ID number is not written into the page: left empty, the requested
    # value is applied.
    shown = masked_correction(correction.correct_value, correction.field)
    masked = shown != correction.correct_value
    form = DecisionForm(request.POST or None,
                        initial={"value": "" if masked else correction.correct_value})
    if masked:
        form.fields["value"].widget.attrs["placeholder"] = _("留空则采用申请中的正确信息（%(value)s）") % {
            "value": shown}
    if request.method == "POST" and form.is_valid():
        note, value = form.cleaned_data["note"], form.cleaned_data["value"] or None
        try:
            if action == "apply":
                services.correction_request_apply(correction=correction, actor=request.user,
                                                  note=note, value=value)
                messages.success(request, _("已修正档案。"))
            elif action == "reject":
                services.correction_request_reject(correction=correction, actor=request.user,
                                                   note=note)
                messages.success(request, _("已驳回。"))
            elif action == "confirm":
                services.correction_request_confirm(correction=correction, actor=request.user)
                messages.success(request, _("已记录电话复核。"))
            else:
                raise Http404
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            return redirect("customers:correction-detail", correction.pk)
    return render(request, "customers/correction_detail.html", {
        "correction": correction, "form": form,
        "can_decide": request.user.has_perm("customers.decide_correctionrequest"),
        "history": correction.history.select_related("history_user").order_by("-history_date")[:20],
        "customer_history": correction.customer.history.select_related("history_user")
        .order_by("-history_date")[:5],
    })


# Duplicates and merges ----------------------------------------------------------------------------

@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def duplicate_list(request):
    groups = selectors.duplicate_groups(request.user)
    labels = {"mobile": _("手机相同"), "id_number": _("身份证号相同"),
              "credit_code": _("信用代码相同")}
    return render(request, "customers/duplicate_list.html", {
        "groups": [(reason, labels[reason], value, members) for reason, value, members in groups],
        "merges": selectors.merges_for(request.user).order_by("-merged_at")[:20],
    })


@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def customer_merge(request):
    customers = selectors.customers_for(request.user).filter(is_active=True)
    form = MergeForm(request.POST or None, customers=customers, initial={
        "kept": request.GET.get("kept"), "merged": request.GET.get("merged")})
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_merge(kept=form.cleaned_data["kept"],
                                    merged=form.cleaned_data["merged"], actor=request.user,
                                    reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("已合并，可在重复客户页面撤销。"))
            return redirect("customers:detail", form.cleaned_data["kept"].pk)
    pair = [c for c in (form["kept"].value(), form["merged"].value()) if c]
    candidates = customers.filter(pk__in=[_int(p) for p in pair if _int(p)]).prefetch_related("vehicles")
    return render(request, "customers/merge_form.html", {"form": form, "candidates": candidates})


@login_required
@require_POST
@permission_required("customers.merge_customer", raise_exception=True)
def merge_undo(request, pk):
    merge = get_object_or_404(selectors.merges_for(request.user), pk=pk)
    try:
        services.customer_merge_undo(merge=merge, actor=request.user)
        messages.success(request, _("已撤销合并。"))
    except ValidationError as error:
        messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
    return redirect("customers:duplicates")


@login_required
@permission_required("customers.view_personaldatareveal", raise_exception=True)
def reveal_log(request):
    """Reveals of masked identifiers, exports of personal data and erasures, for the CR
    manager (each list paged on its own)."""
    stores = stores_of(request.user)
    reveals = PersonalDataReveal.objects.filter(
        customer__store__in=stores).select_related("user", "customer")
    page = Paginator(reveals.order_by("-revealed_at", "-id"), 50).get_page(request.GET.get("page"))
    exports = selectors.personal_data_exports_for(request.user)
    export_page = Paginator(exports, 20).get_page(request.GET.get("export_page"))
    erasures = (CustomerErasure.objects.filter(customer__store__in=stores)
                .select_related("customer", "erased_by").order_by("-erased_at")[:20])
    return render(request, "customers/reveal_log.html", {
        "page": page, "export_page": export_page, "erasures": erasures})

