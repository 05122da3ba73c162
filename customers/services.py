"""Every write of the customer records, named after what the business does. Each one is
atomic and validates first: bad input raises ValidationError({field: message}) and saves
nothing."""

from datetime import date, timedelta

from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_site.crypto import UnreadableValue, keyed_hash
from crm_site.scoping import works_for

from . import hooks, rules
from .models import (
    ConsentChange,
    CorrectionRequest,
    Customer,
    CustomerErasure,
    CustomerMerge,
    FamilyMember,
    InsurancePolicy,
    PersonalDataExport,
    PersonalDataReveal,
    Sale,
    ServiceRule,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)
from .validators import (
    normalize_credit_code,
    normalize_id_number,
    normalize_landline,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
)

DEFAULT_FIRST_SERVICE_MONTHS = 3
DEFAULT_SERVICE_INTERVAL_MONTHS = 6

CUSTOMER_FIELDS = (
    "kind", "card", "name", "mobile", "landline", "email", "source", "region", "owner",
    "gender", "birth_date", "marital_status", "home_address", "id_number", "employer",
    "employer_address", "occupation", "job_title", "education", "income_band", "hobbies",
    "character_notes", "credit_code", "industry", "company_address", "founded_on",
    "company_size", "main_business", "website", "person_in_charge", "contact_person",
    "sms_allowed", "call_allowed", "contact_refusal_reason", "note",
)
VEHICLE_FIELDS = ("vin", "plate", "engine_no", "model_name", "trim_code", "colour", "mileage",
                  "annual_inspection_on")
FAMILY_FIELDS = ("relation", "name", "birthday", "phone")


def _today():
    return timezone.localdate()


def _raise(errors):
    if errors:
        raise ValidationError(errors)


def _field_error(errors, field, func, *args, **kwargs):
    """Run a normaliser; file its message under `field`."""
    try:
        return func(*args, **kwargs)
    except ValidationError as error:
        errors.setdefault(field, []).extend(error.messages)
        return None


def _set_history_user(instance, actor):
    if actor is not None:
        instance._history_user = actor


# Rules ------------------------------------------------------------------------------------

def service_rule_for(store):
    """(first_service_months, service_interval_months) for the store's brand: the brand's
    row, else the default row (blank brand), else 3 and 6 months."""
    rows = {rule.brand: rule for rule in ServiceRule.objects.filter(brand__in=[store.brand, ""])}
    rule = rows.get(store.brand) or rows.get("")
    if rule is None:
        return DEFAULT_FIRST_SERVICE_MONTHS, DEFAULT_SERVICE_INTERVAL_MONTHS
    return rule.first_service_months, rule.service_interval_months


# Customers -----------------------------------------------------------------------------------

def customer_find_duplicates(*, store, mobile="", id_number="", credit_code="", name="",
                             landline="", exclude_pk=None):
    """Active customers of the store that look like the same person or company: same
    mobile, same ID number, same credit code, or a similar name with the same landline."""
    condition = Q()
    if mobile:
        condition |= Q(mobile=mobile)
    if id_number:
        condition |= Q(id_number_hash=keyed_hash(id_number))
    if credit_code:
        condition |= Q(credit_code=credit_code)
    if name and landline:
        condition |= Q(landline=landline, name__icontains=name[:2])
    if not condition:
        return []
    found = Customer.objects.active().filter(condition, store=store)
    if exclude_pk:
        found = found.exclude(pk=exclude_pk)
    found = list(found.order_by("id")[:10])
    if name and landline:
        found = [c for c in found if c.mobile == mobile or c.id_number == id_number
                 or (credit_code and c.credit_code == credit_code)
                 or rules.similar_names(c.name, name)]
    return found


def _clean_customer(values, *, store, today, exclude_pk=None, allow_duplicate=False):
    """Normalise and check a full set of customer values in place; raise every error."""
    errors = {}
    kind = values.get("kind") or Customer.Kind.PRIVATE
    if kind not in Customer.Kind.values:
        errors["kind"] = [_("客户类型无效。")]
    values["kind"] = kind
    values["name"] = (values.get("name") or "").strip()
    if not values["name"]:
        errors["name"] = [_("请填写姓名或单位名称。")]
    values["mobile"] = _field_error(errors, "mobile", normalize_mobile, values.get("mobile"))
    values["landline"] = _field_error(errors, "landline", normalize_landline,
                                      values.get("landline")) or ""
    values["credit_code"] = _field_error(errors, "credit_code", normalize_credit_code,
                                         values.get("credit_code")) or ""
    gender = values.get("gender") or ""
    if gender not in Customer.Gender.values:
        errors["gender"] = [_("性别无效。")]
    values["gender"] = gender
    birth_date = values.get("birth_date")
    if birth_date and (birth_date > today or birth_date.year < 1900):
        errors["birth_date"] = [_("出生日期不合理。")]
    if isinstance(values.get("id_number"), UnreadableValue):
        id_number = None  # cannot be read with the keys configured: kept as it is stored
    else:
        id_number = _field_error(errors, "id_number", normalize_id_number,
                                 values.get("id_number"),
                                 birth_date=birth_date if "birth_date" not in errors else None,
                                 gender=gender or None, today=today)
        values["id_number"] = id_number or ""
    if id_number and not birth_date:
        from .validators import id_birth_date, id_gender
        values["birth_date"] = id_birth_date(id_number)
        values["gender"] = values["gender"] or id_gender(id_number)
    if values.get("founded_on") and values["founded_on"] > today:
        errors["founded_on"] = [_("成立日期不能晚于今天。")]
    if kind == Customer.Kind.COMPANY and values.get("id_number"):
        errors.setdefault("id_number", []).append(_("单位客户请填写统一社会信用代码，不填身份证号。"))
    if values.get("email"):
        _field_error(errors, "email", EmailValidator(message=_("电子邮箱格式不正确。")),
                     values["email"])
    if values.get("website"):
        _field_error(errors, "website", URLValidator(message=_("网址格式不正确。")),
                     values["website"])
    if values.get("mobile") is None:
        values["mobile"] = ""
    if not values.get("mobile") and not values.get("landline") and kind == Customer.Kind.PRIVATE \
            and "mobile" not in errors:
        errors["mobile"] = [_("请至少填写手机或固定电话。")]
    owner = values.get("owner")
    if owner is not None and not owner.is_superuser and \
            not owner.stores.filter(pk=store.pk).exists():
        errors["owner"] = [_("负责专员必须是本店员工。")]
    for choice_field, choices in (("marital_status", Customer.MaritalStatus),
                                  ("education", Customer.Education),
                                  ("income_band", Customer.IncomeBand),
                                  ("company_size", Customer.CompanySize),
                                  ("card", Customer.Card)):
        if values.get(choice_field) and values[choice_field] not in choices.values:
            errors[choice_field] = [_("选项无效。")]
    _raise(errors)
    if not allow_duplicate:
        duplicates = customer_find_duplicates(
            store=store, mobile=values.get("mobile"), id_number=values.get("id_number"),
            credit_code=values.get("credit_code"), name=values["name"],
            landline=values.get("landline", ""), exclude_pk=exclude_pk)
        if duplicates:
            first = duplicates[0]
            field = ("id_number" if values.get("id_number") and first.id_number == values["id_number"]
                     else "credit_code" if values.get("credit_code")
                     and first.credit_code == values["credit_code"]
                     else "mobile" if values.get("mobile") and first.mobile == values["mobile"]
                     else "name")
            raise ValidationError({field: _("可能与已有客户重复：%(name)s（编号%(id)s）。如确认不是同一人，"
                                            "请勾选“仍然保存”。") % {"name": first.name, "id": first.pk}},
                                  code="duplicate")
    return values


def _apply_consent_stamp(customer, before, now):
    if before != (customer.sms_allowed, customer.call_allowed, customer.contact_refusal_reason):
        customer.consent_updated_at = now


@transaction.atomic
def customer_create(*, store, name, actor=None, allow_duplicate=False, family=(),
                    consent_method=ConsentChange.Method.RECORD, **fields):
    """Open a customer record (private or company) with its family members."""
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    values = _clean_customer({"name": name, **fields}, store=store, today=_today(),
                             allow_duplicate=allow_duplicate)
    customer = Customer(store=store, **values)
    now = timezone.now()
    if not customer.sms_allowed or not customer.call_allowed:
        customer.consent_updated_at = now
    _set_history_user(customer, actor)
    customer.save()
    _record_consent(customer, None, actor=actor, method=consent_method, now=now)
    for index, member in enumerate(family):
        family_member_add(customer=customer, actor=actor, _row=index, **member)
    return customer


@transaction.atomic
def customer_update(*, customer, actor=None, allow_duplicate=False,
                    consent_method=ConsentChange.Method.RECORD, **fields):
    """Change a customer's details. Only the given fields change; the rest are kept."""
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    current = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
    changed_identity = any(fields.get(k, current[k]) != current[k]
                           for k in ("mobile", "id_number", "credit_code", "landline"))
    values = _clean_customer({**current, **fields}, store=customer.store, today=_today(),
                             exclude_pk=customer.pk,
                             allow_duplicate=allow_duplicate or not changed_identity)
    before = (customer.sms_allowed, customer.call_allowed, customer.contact_refusal_reason)
    for name, value in values.items():
        setattr(customer, name, value)
    now = timezone.now()
    _apply_consent_stamp(customer, before, now)
    _set_history_user(customer, actor)
    customer.save()
    _record_consent(customer, before, actor=actor, method=consent_method, now=now)
    return customer


def _record_consent(customer, before, *, actor, method, now):
    """A ConsentChange row for each channel whose consent changed (on a new record: each
    channel the customer refused); the floors above react through the "consent changed"
    hooks (a withdrawn channel's planned work is cancelled)."""
    channels = ((ConsentChange.Channel.SMS, customer.sms_allowed),
                (ConsentChange.Channel.CALL, customer.call_allowed))
    previous = (True, True) if before is None else before[:2]
    rows = [ConsentChange(customer=customer, channel=channel, allowed=allowed, method=method,
                          reason=customer.contact_refusal_reason if not allowed else "",
                          recorded_by=actor, changed_at=now)
            for (channel, allowed), was in zip(channels, previous, strict=True)
            if allowed != was]
    if rows:
        ConsentChange.objects.bulk_create(rows)
        hooks.consent_changed(customer, rows)


@transaction.atomic
def customer_set_consent(*, customer, sms_allowed, call_allowed, reason="", actor=None,
                         method=ConsentChange.Method.PHONE):
    """Record the customer's wish to be contacted (or not) per channel, and how the
    customer said so (on a call, in person, in writing, by SMS reply)."""
    if (not sms_allowed or not call_allowed) and not reason.strip():
        raise ValidationError({"contact_refusal_reason": _("客户拒绝联系时请填写原因。")})
    if method not in ConsentChange.Method.values:
        raise ValidationError({"method": _("请选择客户表示同意或拒绝的方式。")})
    return customer_update(customer=customer, actor=actor, sms_allowed=sms_allowed,
                           call_allowed=call_allowed, contact_refusal_reason=reason.strip(),
                           consent_method=method)


def sms_opt_out_apply(reply, changed):
    """The "sms opt-out" hook of crm_site: the customer replied 退订 / TD / T. Every
    active record with that mobile (of the store the reply came back to, when the
    provider's extend code names it) that still accepts SMS withdraws its consent through
    customer_set_consent: a ConsentChange by SMS reply, the history row, and the planned
    messages stop at once through the "consent changed" hooks."""
    customers = Customer.objects.filter(mobile=reply.mobile, is_active=True, sms_allowed=True)
    if reply.store_id:
        customers = customers.filter(store_id=reply.store_id)
    for customer in customers.select_for_update().order_by("pk"):
        customer_set_consent(
            customer=customer, sms_allowed=False, call_allowed=customer.call_allowed,
            reason=customer.contact_refusal_reason or _("客户短信回复“%(text)s”退订") % {
                "text": reply.text[:20]},
            method=ConsentChange.Method.SMS_REPLY)
        changed.append(customer)


def _clean_family(values, today, row=None):
    errors = {}
    prefix = f"family.{row}." if row is not None else ""
    if values.get("relation") not in FamilyMember.Relation.values:
        errors[f"{prefix}relation"] = [_("请选择关系。")]
    values["name"] = (values.get("name") or "").strip()
    if not values["name"]:
        errors[f"{prefix}name"] = [_("请填写姓名。")]
    if values.get("birthday") and values["birthday"] > today:
        errors[f"{prefix}birthday"] = [_("生日不能晚于今天。")]
    phone = values.get("phone") or ""
    if phone and phone.replace(" ", "").lstrip("+").isdigit() and len(phone.replace(" ", "")) >= 11:
        phone = _field_error(errors, f"{prefix}phone", normalize_mobile, phone) or phone
    values["phone"] = phone
    _raise(errors)
    return values


@transaction.atomic
def family_member_add(*, customer, actor=None, _row=None, **fields):
    values = _clean_family({k: fields.get(k) for k in FAMILY_FIELDS}, _today(), _row)
    member = FamilyMember(customer=customer, **values)
    _set_history_user(member, actor)
    member.save()
    return member


@transaction.atomic
def family_member_update(*, member, actor=None, **fields):
    values = _clean_family({**{k: getattr(member, k) for k in FAMILY_FIELDS}, **fields}, _today())
    for name, value in values.items():
        setattr(member, name, value)
    _set_history_user(member, actor)
    member.save()
    return member


def family_member_remove(*, member, actor=None):
    _set_history_user(member, actor)
    member.delete()


# Vehicles --------------------------------------------------------------------------------------

def _clean_vehicle(values, *, exclude_pk=None):
    errors = {}
    warnings = []
    result = _field_error(errors, "vin", normalize_vin, values.get("vin"))
    if result:
        values["vin"], warning = result
        if warning:
            warnings.append(warning)
        clash = Vehicle.objects.filter(vin=values["vin"])
        if exclude_pk:
            clash = clash.exclude(pk=exclude_pk)
        if clash.exists():
            errors["vin"] = [_("该车架号已登记在另一辆车上。")]
    values["plate"] = _field_error(errors, "plate", normalize_plate, values.get("plate")) or ""
    mileage = values.get("mileage")
    if mileage is not None and (mileage < 0 or mileage > 2_000_000):
        errors["mileage"] = [_("里程不合理。")]
    for text in ("engine_no", "trim_code"):
        values[text] = (values.get(text) or "").strip().upper()
    _raise(errors)
    return values, warnings


@transaction.atomic
def vehicle_register(*, store, customer, vin, actor=None, started_on=None,
                     reason=VehicleOwnership.Reason.REGISTERED, **fields):
    """Put a vehicle on a customer's record and open its ownership history. Returns the
    vehicle; `vehicle.warnings` lists soft findings (e.g. a foreign VIN's check digit)."""
    unknown = set(fields) - set(VEHICLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown vehicle fields: {sorted(unknown)}")
    if customer.store_id != store.pk:
        raise ValidationError({"customer": _("客户不属于该门店。")})
    if not customer.is_active:
        raise ValidationError({"customer": _("该客户已停用或已合并。")})
    values, warnings = _clean_vehicle({"vin": vin, **fields})
    vehicle = Vehicle(store=store, customer=customer, **values)
    _set_history_user(vehicle, actor)
    try:
        with transaction.atomic():
            vehicle.save()
    except IntegrityError as error:
        raise ValidationError({"vin": _("该车架号已登记在另一辆车上。")}) from error
    VehicleOwnership.objects.create(vehicle=vehicle, customer=customer,
                                    started_on=started_on or _today(), reason=reason)
    vehicle.warnings = warnings
    return vehicle


@transaction.atomic
def vehicle_update(*, vehicle, actor=None, **fields):
    unknown = set(fields) - set(VEHICLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown vehicle fields: {sorted(unknown)}")
    values, warnings = _clean_vehicle(
        {**{k: getattr(vehicle, k) for k in VEHICLE_FIELDS}, **fields}, exclude_pk=vehicle.pk)
    for name, value in values.items():
        setattr(vehicle, name, value)
    _set_history_user(vehicle, actor)
    vehicle.save()
    vehicle.warnings = warnings
    return vehicle


@transaction.atomic
def vehicle_transfer(*, vehicle, customer, on=None, actor=None,
                     reason=VehicleOwnership.Reason.TRANSFER):
    """The vehicle changes owner (sold on, 过户). The old ownership row is closed and kept;
    the work planned for the old owner about the car is cancelled by the floors above
    ("vehicle ownership ended" hooks)."""
    on = on or _today()
    if customer.pk == vehicle.customer_id:
        return vehicle
    if customer.store_id != vehicle.store_id:
        raise ValidationError({"customer": _("新车主必须是本店客户。")})
    current = VehicleOwnership.objects.select_for_update().filter(
        vehicle=vehicle, ended_on__isnull=True).first()
    if current is not None:
        if on < current.started_on:
            if reason != VehicleOwnership.Reason.SALE:
                raise ValidationError({"on": _("过户日期不能早于当前车主的开始日期。")})
            on = current.started_on  # a sale entered after the car was put on file
        current.ended_on = on
        current.save(update_fields=["ended_on"])
    VehicleOwnership.objects.create(vehicle=vehicle, customer=customer, started_on=on,
                                    reason=reason)
    vehicle.customer = customer
    vehicle.is_active = True
    _set_history_user(vehicle, actor)
    vehicle.save(update_fields=["customer", "is_active", "updated_at"])
    hooks.ownership_ended(vehicle, retired=False)
    return vehicle


@transaction.atomic
def vehicle_retire(*, vehicle, on=None, actor=None):
    """The vehicle left our customers (sold elsewhere or scrapped): no more reminders, and
    the work already planned about it is cancelled ("vehicle ownership ended" hooks)."""
    VehicleOwnership.objects.filter(vehicle=vehicle, ended_on__isnull=True).update(
        ended_on=on or _today())
    vehicle.is_active = False
    _set_history_user(vehicle, actor)
    vehicle.save(update_fields=["is_active", "updated_at"])
    hooks.ownership_ended(vehicle, retired=True)
    return vehicle


# Sales, visits, policies ------------------------------------------------------------------------

def _check_vehicle_customer(vehicle, customer):
    if not vehicle.is_active:
        raise ValidationError({"vehicle": _("该车辆已停用（已转卖或报废）。")})
    if customer is not None and customer.store_id != vehicle.store_id:
        raise ValidationError({"customer": _("客户不属于该车辆的门店。")})


def apply_delivery(vehicle, delivered_on, rule=None):
    first_months, _interval = rule or service_rule_for(vehicle.store)
    vehicle.delivered_on = delivered_on
    if vehicle.first_service_done_on is None:
        vehicle.first_service_due_on = rules.first_service_due(delivered_on, first_months)


@transaction.atomic
def sale_record(*, vehicle, price, order_date, customer=None, delivered_on=None,
                discount=0, consultant=None, consultant_name="", insurance_bought=False,
                finance_used=False, dms_ref="", actor=None):
    """Record a new-car sale. With a delivery date the vehicle's delivery and first-service
    due date are set (brand rule, default 3 months) and the customer gets a C card.
    A sale to another customer than the current owner moves the ownership."""
    vehicle = Vehicle.objects.select_for_update(of=("self",)).select_related("store").get(pk=vehicle.pk)
    customer = customer or vehicle.customer
    _check_vehicle_customer(vehicle, customer)
    errors = {}
    today = _today()
    if price is None or price < 0:
        errors["price"] = [_("成交价不能为负数。")]
    if discount is None or discount < 0:
        errors["discount"] = [_("优惠金额不能为负数。")]
    elif price is not None and discount > price:
        errors["discount"] = [_("优惠金额不能大于成交价。")]
    if order_date and order_date > today:
        errors["order_date"] = [_("订车日期不能晚于今天。")]
    if delivered_on and order_date and delivered_on < order_date:
        errors["delivered_on"] = [_("交车日期不能早于订车日期。")]
    if delivered_on and delivered_on > today:
        errors["delivered_on"] = [_("交车日期不能晚于今天。")]
    if consultant is not None and not consultant.is_superuser and \
            not consultant.stores.filter(pk=vehicle.store_id).exists():
        errors["consultant"] = [_("销售顾问必须是本店员工。")]
    dms_ref = (dms_ref or "").strip()
    if dms_ref and Sale.objects.filter(store=vehicle.store, dms_ref=dms_ref).exists():
        errors["dms_ref"] = [_("该DMS单号已导入。")]
    _raise(errors)
    if customer.pk != vehicle.customer_id:
        vehicle_transfer(vehicle=vehicle, customer=customer, on=delivered_on or order_date,
                         actor=actor, reason=VehicleOwnership.Reason.SALE)
    sale = Sale(vehicle=vehicle, customer=customer, store=vehicle.store, consultant=consultant,
                consultant_name=consultant_name or (str(consultant) if consultant else ""),
                price=price, discount=discount, order_date=order_date, delivered_on=delivered_on,
                insurance_bought=insurance_bought, finance_used=finance_used, dms_ref=dms_ref)
    _set_history_user(sale, actor)
    sale.save()
    if delivered_on:
        apply_delivery(vehicle, delivered_on)
        _set_history_user(vehicle, actor)
        vehicle.save()
        if customer.card != Customer.Card.C:
            customer.card = Customer.Card.C
            _set_history_user(customer, actor)
            customer.save(update_fields=["card", "updated_at"])
    return sale


@transaction.atomic
def sale_deliver(*, sale, delivered_on, actor=None):
    """The car of an earlier order is handed over: the first-service date follows."""
    if delivered_on < sale.order_date:
        raise ValidationError({"delivered_on": _("交车日期不能早于订车日期。")})
    if delivered_on > _today():
        raise ValidationError({"delivered_on": _("交车日期不能晚于今天。")})
    sale.delivered_on = delivered_on
    _set_history_user(sale, actor)
    sale.save(update_fields=["delivered_on"])
    vehicle = Vehicle.objects.select_for_update(of=("self",)).select_related("store").get(pk=sale.vehicle_id)
    apply_delivery(vehicle, delivered_on)
    _set_history_user(vehicle, actor)
    vehicle.save()
    return sale


SERVICE_TYPES = {ServiceVisit.RepairType.FIRST_SERVICE, ServiceVisit.RepairType.PERIODIC_SERVICE}
# No workshop record of ours is older than this; an earlier date is a typing error.
VISIT_EARLIEST = date(1990, 1, 1)


def _years_after(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def visit_problems(vehicle, *, repair_type, date_in, date_out, amount, mileage,
                   next_service_on, today):
    """{field: [messages]} of what is wrong with a visit of `vehicle` (the form, the API
    and the DMS import check the same rules)."""
    errors = {}
    if repair_type not in ServiceVisit.RepairType.values:
        errors["repair_type"] = [_("维修类型无效。")]
    # A used car has visits from before its present owner's delivery: only the year
    # bounds the past.
    if date_in and date_in > today:
        errors["date_in"] = [_("进厂日期不能晚于今天。")]
    elif date_in and date_in < VISIT_EARLIEST:
        errors["date_in"] = [_("进厂日期不能早于%(earliest)s。") % {"earliest": VISIT_EARLIEST.isoformat()}]
    if date_out and date_in and date_out < date_in:
        errors["date_out"] = [_("出厂日期不能早于进厂日期。")]
    elif date_out and date_out > today:
        errors["date_out"] = [_("出厂日期不能晚于今天。")]
    if amount is None or amount < 0:
        errors["amount"] = [_("金额不能为负数。")]
    if next_service_on and date_in and next_service_on <= date_in:
        errors["next_service_on"] = [_("下次保养日期应晚于进厂日期。")]
    elif next_service_on and date_in and next_service_on > _years_after(date_in, 5):
        errors["next_service_on"] = [_("下次保养日期不能晚于进厂日期后5年。")]
    if mileage is not None and (mileage < 0 or mileage > 2_000_000):
        errors["mileage"] = [_("里程不合理。")]
    elif mileage is not None and vehicle.mileage and mileage < vehicle.mileage and \
            (vehicle.last_visit_on is None or date_in >= vehicle.last_visit_on):
        errors["mileage"] = [_("里程（%(new)s）小于上次记录的里程（%(old)s）。")
                             % {"new": mileage, "old": vehicle.mileage}]
    return errors


@transaction.atomic
def service_visit_record(*, vehicle, repair_type, date_in, date_out=None, amount=0,
                         mileage=None, next_service_on=None, advisor=None, advisor_name="",
                         customer=None, dms_ref="", actor=None):
    """Record a workshop visit and move the vehicle's dates.

    - last visit: the visit's date in (an older visit entered late moves nothing);
    - next periodic service: the stated next date, else the brand's interval (default 6
      months) after the visit; a repair or body visit moves it only when it states one;
    - a first-service visit satisfies the first service (due date cleared, done date set);
    - the floors above react through the "visit recorded" hooks (customers.hooks).
    """
    vehicle = Vehicle.objects.select_for_update(of=("self",)).select_related("store").get(pk=vehicle.pk)
    customer = customer or vehicle.customer
    _check_vehicle_customer(vehicle, customer)
    errors = visit_problems(vehicle, repair_type=repair_type, date_in=date_in,
                            date_out=date_out, amount=amount, mileage=mileage,
                            next_service_on=next_service_on, today=_today())
    if advisor is not None and not advisor.is_superuser and \
            not advisor.stores.filter(pk=vehicle.store_id).exists():
        errors["advisor"] = [_("服务顾问必须是本店员工。")]
    dms_ref = (dms_ref or "").strip()
    if dms_ref and ServiceVisit.objects.filter(store=vehicle.store, dms_ref=dms_ref).exists():
        errors["dms_ref"] = [_("该DMS工单号已导入。")]
    _raise(errors)
    visit = ServiceVisit(vehicle=vehicle, customer=customer, store=vehicle.store, advisor=advisor,
                         advisor_name=advisor_name or (str(advisor) if advisor else ""),
                         repair_type=repair_type, amount=amount, date_in=date_in,
                         date_out=date_out, mileage=mileage, next_service_on=next_service_on,
                         dms_ref=dms_ref)
    _set_history_user(visit, actor)
    visit.save()
    apply_visit(vehicle, visit)
    _set_history_user(vehicle, actor)
    vehicle.save()
    hooks.visit_recorded(visit)
    return visit


def apply_visit(vehicle, visit, rule=None):
    """Move the vehicle's dates for a visit; `rule`: service_rule_for(vehicle.store),
    when the caller already read it (an import of many visits)."""
    _first, interval = rule or service_rule_for(vehicle.store)
    if visit.repair_type == ServiceVisit.RepairType.FIRST_SERVICE and (
            vehicle.first_service_done_on is None or visit.date_in < vehicle.first_service_done_on):
        vehicle.first_service_done_on = visit.date_in
        vehicle.first_service_due_on = None
    if not rules.visit_moves_due(vehicle.next_service_due_on, vehicle.last_visit_on, visit.date_in):
        return
    vehicle.last_visit_on = visit.date_in
    if visit.mileage is not None:
        vehicle.mileage = visit.mileage
    if visit.repair_type in SERVICE_TYPES or visit.next_service_on:
        vehicle.next_service_due_on = rules.next_service_due(visit.date_in, visit.next_service_on,
                                                             interval)


@transaction.atomic
def insurance_policy_record(*, vehicle, insurer, starts_on, expires_on, bought_here=True,
                            policy_no="", premium=None, customer=None, actor=None):
    """Record a motor policy; the vehicle's insurance due date becomes the latest expiry."""
    vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    customer = customer or vehicle.customer
    _check_vehicle_customer(vehicle, customer)
    errors = {}
    if not (insurer or "").strip():
        errors["insurer"] = [_("请填写保险公司。")]
    if starts_on and expires_on and expires_on <= starts_on:
        errors["expires_on"] = [_("到期日期必须晚于起保日期。")]
    if premium is not None and premium < 0:
        errors["premium"] = [_("保费不能为负数。")]
    if starts_on and InsurancePolicy.objects.filter(vehicle=vehicle, starts_on=starts_on).exists():
        errors["starts_on"] = [_("该车辆在此起保日期已有保单。")]
    _raise(errors)
    policy = InsurancePolicy(vehicle=vehicle, customer=customer, store=vehicle.store,
                             insurer=insurer.strip(), starts_on=starts_on, expires_on=expires_on,
                             bought_here=bought_here, policy_no=(policy_no or "").strip(),
                             premium=premium)
    _set_history_user(policy, actor)
    policy.save()
    if vehicle.insurance_expires_on is None or expires_on > vehicle.insurance_expires_on:
        vehicle.insurance_expires_on = expires_on
        _set_history_user(vehicle, actor)
        vehicle.save(update_fields=["insurance_expires_on", "updated_at"])
    hooks.policy_recorded(policy)
    return policy



@transaction.atomic
def insurance_renewal_record(*, policy, insurer, bought_here, starts_on=None, expires_on=None,
                             policy_no="", premium=None, actor=None):
    """Record how a policy due was renewed, here or elsewhere (as a caller learns it):
    the car's next policy, starting the day after the expiry and running a year unless
    told otherwise. The renewal rate (selectors.renewal_rate) counts it."""
    starts_on = starts_on or policy.expires_on + timedelta(days=1)
    expires_on = expires_on or rules.add_months(starts_on, 12) - timedelta(days=1)
    return insurance_policy_record(vehicle=policy.vehicle, customer=policy.customer,
                                   insurer=insurer, starts_on=starts_on, expires_on=expires_on,
                                   bought_here=bought_here, policy_no=policy_no, premium=premium,
                                   actor=actor)

# Merging duplicates ---------------------------------------------------------------------------

# Rows that belong to the merge itself or to the audit trail never move.
_MERGE_SKIP = {"customers.customermerge", "customers.personaldatareveal", "customers.customer",
               "customers.personaldataexport", "customers.customererasure"}
# Fields copied from the merged record when the kept record has them blank.
MERGE_FILL_FIELDS = (
    "mobile", "landline", "email", "gender", "birth_date", "marital_status", "home_address",
    "id_number", "employer", "employer_address", "occupation", "job_title", "education",
    "income_band", "hobbies", "character_notes", "credit_code", "industry", "company_address",
    "founded_on", "company_size", "main_business", "website", "person_in_charge",
    "contact_person", "source", "region",
)


def _customer_relations():
    """(model, field name) of every foreign key to Customer, including those of the apps
    above (tasks, complaints, survey answers): a merge moves them all without knowing them."""
    for relation in Customer._meta.get_fields(include_hidden=True):
        if not (relation.one_to_many and relation.auto_created and not relation.concrete):
            continue
        model = relation.related_model
        if model._meta.label_lower in _MERGE_SKIP or getattr(model, "instance_type", None):
            continue  # simple_history's historical models keep what they recorded
        yield model, relation.field.name


def _check_merge_actor(actor, *customers):
    from crm_site.scoping import stores_of

    if not actor.has_perm("customers.merge_customer"):
        raise PermissionDenied(_("您没有合并客户的权限。"))
    allowed = set(stores_of(actor).values_list("pk", flat=True))
    if any(c.store_id not in allowed for c in customers):
        raise PermissionDenied(_("只能合并本店的客户。"))


@transaction.atomic
def customer_merge(*, kept, merged, actor, reason=""):
    """Merge a duplicate into the kept record: its vehicles, sales, visits, policies,
    family, tasks, complaints (every row pointing at it) move to the kept record; blank
    fields of the kept record are filled from it; the duplicate stays, inactive, pointing
    at the kept record. The floors above may move their own rows first ("customer
    merged" hooks: follow-up tasks of a cycle the kept record already has stay behind,
    cancelled). Recorded in CustomerMerge and undoable."""
    _check_merge_actor(actor, kept, merged)
    if kept.pk == merged.pk:
        raise ValidationError({"merged": _("不能把客户合并到自己。")})
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[kept.pk, merged.pk])}
    kept, merged = locked[kept.pk], locked[merged.pk]
    if kept.store_id != merged.store_id:
        raise ValidationError({"merged": _("只能合并同一门店的客户。")})
    if not kept.is_active or not merged.is_active:
        raise ValidationError({"merged": _("已停用或已合并的客户不能再合并。")})
    if kept.erased_at or merged.erased_at:
        raise ValidationError({"merged": _("已删除个人信息的客户不能合并。")})
    moved = {}
    hooks.customer_merged(kept, merged, moved)
    for model, field in _customer_relations():
        key = f"{model._meta.label_lower}.{field}"
        if key in moved:
            continue  # moved by its own floor's hook
        rows = model._base_manager.filter(**{field: merged.pk})
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            continue
        try:
            with transaction.atomic():
                model._base_manager.filter(pk__in=ids).update(**{field: kept.pk})
        except IntegrityError as error:
            raise ValidationError({"merged": _("无法合并：%(what)s中有与保留客户冲突的记录。")
                                   % {"what": model._meta.verbose_name}}) from error
        moved[key] = ids
    filled = {}
    for name in MERGE_FILL_FIELDS:
        if not getattr(kept, name) and getattr(merged, name):
            filled[name] = Customer._meta.get_field(name).value_to_string(kept)
            setattr(kept, name, getattr(merged, name))
    if filled:
        _set_history_user(kept, actor)
        kept.save()
    merged.is_active = False
    merged.merged_into = kept
    _set_history_user(merged, actor)
    merged.save(update_fields=["is_active", "merged_into", "updated_at"])
    return CustomerMerge.objects.create(kept=kept, merged=merged, moved=moved,
                                        filled_fields=filled, reason=reason, merged_by=actor)


@transaction.atomic
def customer_merge_undo(*, merge, actor):
    """Put back what a merge moved: the rows return to the duplicate, the fields it filled
    are emptied again (unless someone changed them since), the duplicate is active again."""
    merge = CustomerMerge.objects.select_for_update(of=("self",)).select_related(
        "kept", "merged").get(pk=merge.pk)
    _check_merge_actor(actor, merge.kept, merge.merged)
    if merge.undone_at is not None:
        raise ValidationError({"merge": _("该合并已撤销。")})
    kept, merged = merge.kept, merge.merged
    if kept.erased_at or merged.erased_at:
        raise ValidationError({"merge": _("已删除个人信息的客户不能撤销合并。")})
    if not kept.is_active:
        raise ValidationError({"merge": _("保留的客户已被合并到其他客户，请先撤销那次合并。")})
    for key, ids in merge.moved.items():
        label, field = key.rsplit(".", 1)
        model = django_apps.get_model(label)
        model._base_manager.filter(pk__in=ids, **{field: kept.pk}).update(**{field: merged.pk})
    restored = False
    for name, old in merge.filled_fields.items():
        field = Customer._meta.get_field(name)
        if getattr(kept, name) == getattr(merged, name):
            setattr(kept, name, field.to_python(old) if old else field.get_default())
            restored = True
    if restored:
        _set_history_user(kept, actor)
        kept.save()
    merged.is_active = True
    merged.merged_into = None
    _set_history_user(merged, actor)
    merged.save(update_fields=["is_active", "merged_into", "updated_at"])
    merge.undone_at, merge.undone_by = timezone.now(), actor
    merge.save(update_fields=["undone_at", "undone_by"])
    return merge


# Correction requests --------------------------------------------------------------------------

CORRECTION_VALUE_MAX = 200
_DEPARTMENT_ROLE = {CorrectionRequest.Department.SALES: "sales_manager",
                    CorrectionRequest.Department.SERVICE: "service_manager"}


def _notify_department(correction):
    from crm_site.models import User
    from crm_site.services import notification_send

    role = _DEPARTMENT_ROLE[correction.department]
    managers = User.objects.filter(is_active=True, stores=correction.store_id,
                                   groups__name=role).distinct()
    notification_send(
        users=managers,
        title=_("客户信息修正申请：%(customer)s") % {"customer": correction.customer.name},
        body=_("%(field)s：%(wrong)s → %(right)s") % {
            "field": correction.get_field_display(), "wrong": correction.wrong_value or "-",
            "right": correction.correct_value},
        url=_url("customers:correction-detail", correction.pk),
        dedupe_key=f"correction-{correction.pk}",
    )


def _url(name, *args):
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _current_value(customer, vehicle, field):
    model, _dot, name = field.partition(".")
    target = customer if model == "customer" else vehicle
    if target is None or not name:
        return ""
    value = getattr(target, name)
    return "" if value is None else str(value)


@transaction.atomic
def correction_request_file(*, customer, field, correct_value, filed_by, department,
                            call_date=None, vehicle=None, wrong_value=None, note=""):
    """A caller files what was wrong on the record and what it should be; the store's
    sales or service manager is told."""
    errors = {}
    if field not in CorrectionRequest.Field.values:
        errors["field"] = [_("请选择错误项目。")]
    if department not in CorrectionRequest.Department.values:
        errors["department"] = [_("请选择责任部门。")]
    correct_value = (correct_value or "").strip()
    if not correct_value:
        errors["correct_value"] = [_("请填写正确信息。")]
    elif len(correct_value) > CORRECTION_VALUE_MAX:
        errors["correct_value"] = [_("正确信息不能超过200个字符。")]
    if vehicle is not None and vehicle.customer_id != customer.pk:
        errors["vehicle"] = [_("车辆不属于该客户。")]
    if field.startswith("vehicle.") and vehicle is None:
        errors["vehicle"] = [_("修正车辆信息时请选择车辆。")]
    call_date = call_date or _today()
    if call_date > _today():
        errors["call_date"] = [_("回访日期不能晚于今天。")]
    _raise(errors)
    correction = CorrectionRequest.objects.create(
        store=customer.store, customer=customer, vehicle=vehicle,
        plate=vehicle.plate if vehicle else "", call_date=call_date, department=department,
        field=field, wrong_value=(wrong_value if wrong_value is not None
                                  else _current_value(customer, vehicle, field))[:200],
        correct_value=correct_value, note=note, filed_by=filed_by,
    )
    transaction.on_commit(lambda: _notify_department(correction))
    return correction


def _check_decider(actor, correction):
    if not actor.has_perm("customers.decide_correctionrequest") or \
            not works_for(actor, correction.store_id):
        raise PermissionDenied(_("您没有处理该修正申请的权限。"))
    if correction.status != CorrectionRequest.Status.OPEN:
        raise ValidationError({"status": _("该申请已处理。")})


def _parse_for_field(field_name, raw):
    """The correct value as the record's field expects it (dates, genders)."""
    field = Customer._meta.get_field(field_name)
    if field.choices:
        by_label = {str(label): value for value, label in field.choices}
        return by_label.get(raw, raw)
    try:
        return field.to_python(raw)
    except ValidationError as error:
        raise ValidationError({"correct_value": error.messages}) from error


@transaction.atomic
def correction_request_apply(*, correction, actor, note="", value=None):
    """The manager applies the correction: the record changes (validated like any edit,
    history names the manager) and the caller is told to confirm it by a second call."""
    correction = CorrectionRequest.objects.select_for_update(of=("self",)).select_related(
        "customer", "vehicle").get(pk=correction.pk)
    _check_decider(actor, correction)
    value = (value if value is not None else correction.correct_value).strip()
    model, _dot, name = correction.field.partition(".")
    try:
        if model == "customer":
            customer_update(customer=correction.customer, actor=actor,
                            **{name: _parse_for_field(name, value)})
        elif model == "vehicle":
            vehicle_update(vehicle=correction.vehicle, actor=actor, **{name: value})
    except ValidationError as error:
        messages = [m for ms in error.message_dict.values() for m in ms] \
            if hasattr(error, "error_dict") else error.messages
        raise ValidationError({"correct_value": messages}) from error
    correction.status = CorrectionRequest.Status.APPLIED
    correction.correct_value = value
    correction.decided_by, correction.decided_at = actor, timezone.now()
    correction.decision_note = note
    _set_history_user(correction, actor)
    correction.save()
    _tell_filer(correction, _("修正申请已处理，请电话复核：%(customer)s"))
    return correction


@transaction.atomic
def correction_request_reject(*, correction, actor, note):
    correction = CorrectionRequest.objects.select_for_update().get(pk=correction.pk)
    _check_decider(actor, correction)
    if not (note or "").strip():
        raise ValidationError({"decision_note": _("驳回时请填写原因。")})
    correction.status = CorrectionRequest.Status.REJECTED
    correction.decided_by, correction.decided_at = actor, timezone.now()
    correction.decision_note = note.strip()
    _set_history_user(correction, actor)
    correction.save()
    _tell_filer(correction, _("修正申请被驳回：%(customer)s"))
    return correction


@transaction.atomic
def correction_request_confirm(*, correction, actor):
    """A second call confirmed the corrected record with the customer. Four eyes: the
    person who applied the correction cannot be the one who confirms it."""
    correction = CorrectionRequest.objects.select_for_update().get(pk=correction.pk)
    if correction.status != CorrectionRequest.Status.APPLIED:
        raise ValidationError({"status": _("只有已修正的申请可以复核。")})
    if correction.confirmed_at is not None:
        return correction
    if correction.decided_by_id == actor.pk:
        raise PermissionDenied(_("修正由您执行，复核须由另一位同事完成。"))
    correction.confirmed_by, correction.confirmed_at = actor, timezone.now()
    _set_history_user(correction, actor)
    correction.save(update_fields=["confirmed_by", "confirmed_at"])
    return correction


def _tell_filer(correction, title):
    from crm_site.services import notification_send

    customer_name = correction.customer.name
    transaction.on_commit(lambda: notification_send(
        users=[correction.filed_by], title=title % {"customer": customer_name},
        body=correction.decision_note, url=_url("customers:correction-detail", correction.pk),
        dedupe_key=f"correction-{correction.pk}-{correction.status}"))


# Personal data ---------------------------------------------------------------------------------

def personal_data_reveal(*, user, customer, field, ip_address=None):
    """Show one masked identifier in full to a role allowed to see it; logged."""
    if not user.has_perm("crm_site.reveal_personal_data"):
        raise PermissionDenied(_("您没有查看完整个人信息的权限。"))
    if field not in PersonalDataReveal.Field.values:
        raise ValidationError({"field": _("字段无效。")})
    PersonalDataReveal.objects.create(user=user, customer=customer, field=field,
                                      ip_address=ip_address)
    return getattr(customer, field)


EXPORT_FILTER_MAX = 500


def personal_data_export_log(*, user, customer_ids, filters="", unmasked=False, ip_address=None,
                             kind=PersonalDataExport.Kind.LIST):
    """Record an export of the customer list or of a report naming customers (who, when,
    which filter, which records, how many, masked or in full). Called by every export of
    personal data."""
    ids = list(customer_ids)
    return PersonalDataExport.objects.create(
        user=user, kind=kind, filters=(filters or "")[:EXPORT_FILTER_MAX],
        customer_ids=ids, row_count=len(ids), unmasked=unmasked, ip_address=ip_address)


def _check_subject_actor(actor, customer, permission, message):
    if not actor.has_perm(permission) or not works_for(actor, customer.store_id):
        raise PermissionDenied(message)


def _plain(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _row(instance, exclude=()):
    """A model row as {field verbose name: value} of its concrete fields."""
    data = {}
    for field in instance._meta.concrete_fields:
        if field.name in exclude or field.name.endswith("_hash"):
            continue
        if field.is_relation:
            value = getattr(instance, field.attname)
        elif field.choices:
            value = getattr(instance, f"get_{field.name}_display")()
        else:
            value = getattr(instance, field.name)
        data[field.name] = _plain(value)
    return data


def customer_data_export(*, customer, actor, reason="", ip_address=None):
    """Everything held about one customer, at the customer's request (a data-subject
    access request): the record in full, family, consent changes, vehicles, sales,
    visits, policies, correction requests, and every entry the floors above show on the
    customer page (calls, SMS, appointments, complaints, survey answers). Logged.
    Returns a dict ready for JSON."""
    from . import timeline

    _check_subject_actor(actor, customer, "crm_site.reveal_personal_data",
                         _("您没有导出客户个人信息的权限。"))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("请填写导出原因（例如客户申请的编号）。")})
    data = {
        "exported_at": timezone.now().isoformat(),
        "customer": _row(customer),
        "family": [_row(m, exclude=("customer",)) for m in customer.family.all()],
        "consent_changes": [_row(c, exclude=("customer",)) for c in customer.consent_changes.all()],
        "vehicles": [_row(v, exclude=("customer",)) for v in customer.vehicles.all()],
        "ownerships": [_row(o, exclude=("customer",)) for o in customer.ownerships.all()],
        "sales": [_row(r, exclude=("customer",)) for r in customer.sales.all()],
        "service_visits": [_row(r, exclude=("customer",)) for r in customer.visits.all()],
        "insurance_policies": [_row(r, exclude=("customer",)) for r in customer.policies.all()],
        "correction_requests": [_row(r, exclude=("customer",))
                                for r in customer.correction_requests.all()],
        "timeline": [{"when": _plain(e.when), "kind": e.kind, "title": str(e.title),
                      "body": str(e.body)} for e in timeline.collect(customer, actor, limit=10_000)],
    }
    PersonalDataExport.objects.create(
        user=actor, kind=PersonalDataExport.Kind.SUBJECT, customer=customer,
        customer_ids=[customer.pk], row_count=1, unmasked=True, reason=reason.strip()[:200],
        ip_address=ip_address)
    return data


# What an erasure blanks on the record; name becomes a placeholder, dates become empty.
ERASE_BLANK_FIELDS = (
    "mobile", "landline", "email", "home_address", "id_number", "employer", "employer_address",
    "occupation", "job_title", "hobbies", "character_notes", "credit_code", "company_address",
    "website", "person_in_charge", "contact_person", "note", "contact_refusal_reason",
    "gender", "marital_status", "education", "income_band", "region", "source",
)
ERASE_NULL_FIELDS = ("birth_date", "founded_on", "owner")
FAMILY_ERASED_NAME = hooks.ERASED_TEXT


def erased_name(customer):
    """The placeholder an erased customer is known by."""
    return _("已删除客户%(id)s") % {"id": customer.pk}


@transaction.atomic
def customer_erase(*, customer, actor, reason):
    """Erase a customer's personal data at the customer's request. The record stays (with
    a placeholder name, no identifiers, no contact), and so do its vehicles, sales, visits,
    tasks, complaints and answers: reports count the same rows, only who it was is gone.
    The record's history rows, its family members (and their history), its correction
    requests (values and notes), consent reasons, the staff notifications and admin-log
    entries naming it are scrubbed too; the floors above scrub their own rows through
    the "customer erased" hooks (customers.hooks). Duplicates merged into the customer
    earlier (and those merged into them) still hold their own name and mobile: they are
    erased the same way, each with its own CustomerErasure. Recorded in CustomerErasure
    with the count of every kind of row scrubbed."""
    _check_subject_actor(actor, customer, "customers.erase_customer",
                         _("您没有删除客户个人信息的权限。"))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("请填写删除原因（例如客户申请的编号）。")})
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.erased_at is not None:
        raise ValidationError({"customer": _("该客户的个人信息已删除。")})
    duplicates = _merged_into(customer)
    now = timezone.now()
    reason = _without_identity(reason.strip(), customer, *duplicates)
    erasure = _erase(customer, actor=actor, reason=reason, now=now)
    for duplicate in duplicates:
        _erase(duplicate, actor=actor, reason=reason, now=now)
    if duplicates:
        erasure.scrubbed["merged_records"] = len(duplicates)
        erasure.save(update_fields=["scrubbed"])
    return erasure


def _identity(customer):
    """(text, replacement) pairs that take the customer's name and mobile out of a text."""
    return ((customer.name, erased_name(customer)), (customer.mobile, ""))


def _without_identity(text, *customers):
    for customer in customers:
        for old, new in _identity(customer):
            text = text.replace(old, new) if old else text
    return text


def _merged_into(customer):
    """The records not yet erased that were merged into the customer, and those merged
    into them (one query per generation), locked."""
    found, seen, generation = [], {customer.pk}, [customer.pk]
    while generation:
        rows = [row for row in Customer.objects.select_for_update().filter(
            merged_into__in=generation, erased_at__isnull=True).order_by("id")
            if row.pk not in seen]
        seen.update(row.pk for row in rows)
        found += rows
        generation = [row.pk for row in rows]
    return found


def _erase(customer, *, actor, reason, now):
    """Scrub one customer record and everything naming it (customer_erase)."""
    from crm_site.models import Notification

    name = erased_name(customer)
    identity = _identity(customer)
    scrubbed = {}
    hooks.customer_erased(customer, scrubbed)  # the floors above, while the name is known

    family = FamilyMember.objects.filter(customer=customer)
    scrubbed["admin_log"] = (
        hooks.admin_log_scrub(Customer.objects.filter(pk=customer.pk), name)
        + hooks.admin_log_scrub(family, FAMILY_ERASED_NAME)
        + hooks.admin_log_scrub(customer.correction_requests.all(),
                                hooks.replaced("object_repr", *identity)))
    corrections = customer.correction_requests.all()
    scrubbed["notifications"] = Notification.objects.filter(
        url__in=[_url("customers:correction-detail", pk)
                 for pk in corrections.values_list("pk", flat=True)]).update(
        title=hooks.replaced("title", *identity), **hooks.erased_text("body"))
    blank = dict.fromkeys(ERASE_BLANK_FIELDS, "")
    blank.update(dict.fromkeys(ERASE_NULL_FIELDS))
    for field, value in blank.items():
        setattr(customer, field, value)
    customer.name = name
    customer.sms_allowed = customer.call_allowed = False
    customer.consent_updated_at = customer.erased_at = now
    _set_history_user(customer, actor)
    customer.save()
    history_blank = {("owner_id" if k == "owner" else k): v for k, v in blank.items()}
    scrubbed["customer_history"] = customer.history.update(
        name=name, id_number_hash="", **history_blank)
    member_ids = list(family.values_list("pk", flat=True))
    family.update(name=FAMILY_ERASED_NAME, phone="", birthday=None)
    scrubbed["family"] = len(member_ids)
    scrubbed["family_history"] = FamilyMember.history.filter(id__in=member_ids).update(
        name=FAMILY_ERASED_NAME, phone="", birthday=None)
    correction_text = {"wrong_value": "", "correct_value": FAMILY_ERASED_NAME,
                       **hooks.erased_text("note", "decision_note")}
    scrubbed["corrections"] = corrections.update(**correction_text)
    scrubbed["correction_history"] = CorrectionRequest.history.filter(
        id__in=corrections.values("pk")).update(**correction_text)
    scrubbed["consent_changes"] = customer.consent_changes.update(reason="")
    # Exports that named the customer: theirs, or lists whose ids include theirs.
    listed = rf"(^|[^0-9]){customer.pk}([^0-9]|$)"
    scrubbed["exports"] = PersonalDataExport.objects.annotate(
        ids_text=Cast("customer_ids", TextField())).filter(
        Q(customer=customer) | Q(ids_text__regex=listed)).update(
        filters=hooks.replaced("filters", *identity, max_length=500),
        reason=hooks.replaced("reason", *identity))
    ConsentChange.objects.bulk_create([
        ConsentChange(customer=customer, channel=channel, allowed=False,
                      method=ConsentChange.Method.RECORD, recorded_by=actor, changed_at=now)
        for channel in ConsentChange.Channel.values])
    return CustomerErasure.objects.create(customer=customer, erased_by=actor,
                                          reason=reason[:200], scrubbed=scrubbed)
