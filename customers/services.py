"""Every write of the customer records, named after what the business does. Each one is
atomic and validates first: bad input raises ValidationError({field: message}) and saves
nothing."""

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import rules
from .models import (
    Customer,
    FamilyMember,
    InsurancePolicy,
    Sale,
    ServiceRule,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)
from .validators import (
    normalize_credit_code,
    normalize_id_number,
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
        condition |= Q(id_number=id_number)
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
    values["credit_code"] = _field_error(errors, "credit_code", normalize_credit_code,
                                         values.get("credit_code")) or ""
    gender = values.get("gender") or ""
    if gender not in Customer.Gender.values:
        errors["gender"] = [_("性别无效。")]
    values["gender"] = gender
    birth_date = values.get("birth_date")
    if birth_date and (birth_date > today or birth_date.year < 1900):
        errors["birth_date"] = [_("出生日期不合理。")]
    id_number = _field_error(errors, "id_number", normalize_id_number, values.get("id_number"),
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
def customer_create(*, store, name, actor=None, allow_duplicate=False, family=(), **fields):
    """Open a customer record (private or company) with its family members."""
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    values = _clean_customer({"name": name, **fields}, store=store, today=_today(),
                             allow_duplicate=allow_duplicate)
    customer = Customer(store=store, **values)
    if not customer.sms_allowed or not customer.call_allowed:
        customer.consent_updated_at = timezone.now()
    _set_history_user(customer, actor)
    customer.save()
    for index, member in enumerate(family):
        family_member_add(customer=customer, actor=actor, _row=index, **member)
    return customer


@transaction.atomic
def customer_update(*, customer, actor=None, allow_duplicate=False, **fields):
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
    _apply_consent_stamp(customer, before, timezone.now())
    _set_history_user(customer, actor)
    customer.save()
    return customer


@transaction.atomic
def customer_set_consent(*, customer, sms_allowed, call_allowed, reason="", actor=None):
    """Record the customer's wish to be contacted (or not) per channel."""
    if (not sms_allowed or not call_allowed) and not reason.strip():
        raise ValidationError({"contact_refusal_reason": _("客户拒绝联系时请填写原因。")})
    return customer_update(customer=customer, actor=actor, sms_allowed=sms_allowed,
                           call_allowed=call_allowed, contact_refusal_reason=reason.strip())


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
    """The vehicle changes owner (sold on, 过户). The old ownership row is closed and kept."""
    on = on or _today()
    if customer.pk == vehicle.customer_id:
        return vehicle
    if customer.store_id != vehicle.store_id:
        raise ValidationError({"customer": _("新车主必须是本店客户。")})
    current = VehicleOwnership.objects.select_for_update().filter(
        vehicle=vehicle, ended_on__isnull=True).first()
    if current is not None:
        if on < current.started_on:
            raise ValidationError({"on": _("过户日期不能早于当前车主的开始日期。")})
        current.ended_on = on
        current.save(update_fields=["ended_on"])
    VehicleOwnership.objects.create(vehicle=vehicle, customer=customer, started_on=on,
                                    reason=reason)
    vehicle.customer = customer
    vehicle.is_active = True
    _set_history_user(vehicle, actor)
    vehicle.save(update_fields=["customer", "is_active", "updated_at"])
    return vehicle


@transaction.atomic
def vehicle_retire(*, vehicle, on=None, actor=None):
    """The vehicle left our customers (sold elsewhere or scrapped): no more reminders."""
    VehicleOwnership.objects.filter(vehicle=vehicle, ended_on__isnull=True).update(
        ended_on=on or _today())
    vehicle.is_active = False
    _set_history_user(vehicle, actor)
    vehicle.save(update_fields=["is_active", "updated_at"])
    return vehicle


# Sales, visits, policies ------------------------------------------------------------------------

def _check_vehicle_customer(vehicle, customer):
    if not vehicle.is_active:
        raise ValidationError({"vehicle": _("该车辆已停用（已转卖或报废）。")})
    if customer is not None and customer.store_id != vehicle.store_id:
        raise ValidationError({"customer": _("客户不属于该车辆的门店。")})


def _apply_delivery(vehicle, delivered_on):
    first_months, _interval = service_rule_for(vehicle.store)
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
    vehicle = Vehicle.objects.select_for_update().select_related("store").get(pk=vehicle.pk)
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
        _apply_delivery(vehicle, delivered_on)
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
    vehicle = Vehicle.objects.select_for_update().select_related("store").get(pk=sale.vehicle_id)
    _apply_delivery(vehicle, delivered_on)
    _set_history_user(vehicle, actor)
    vehicle.save()
    return sale


SERVICE_TYPES = {ServiceVisit.RepairType.FIRST_SERVICE, ServiceVisit.RepairType.PERIODIC_SERVICE}


@transaction.atomic
def service_visit_record(*, vehicle, repair_type, date_in, date_out=None, amount=0,
                         mileage=None, next_service_on=None, advisor=None, advisor_name="",
                         customer=None, dms_ref="", actor=None):
    """Record a workshop visit and move the vehicle's dates.

    - last visit: the visit's date in (an older visit entered late moves nothing);
    - next periodic service: the stated next date, else the brand's interval (default 6
      months) after the visit; a repair or body visit moves it only when it states one;
    - a first-service visit satisfies the first service (due date cleared, done date set).
    """
    vehicle = Vehicle.objects.select_for_update().select_related("store").get(pk=vehicle.pk)
    customer = customer or vehicle.customer
    _check_vehicle_customer(vehicle, customer)
    errors = {}
    today = _today()
    if repair_type not in ServiceVisit.RepairType.values:
        errors["repair_type"] = [_("维修类型无效。")]
    if date_in and date_in > today:
        errors["date_in"] = [_("进厂日期不能晚于今天。")]
    if date_out and date_in and date_out < date_in:
        errors["date_out"] = [_("出厂日期不能早于进厂日期。")]
    if amount is None or amount < 0:
        errors["amount"] = [_("金额不能为负数。")]
    if next_service_on and date_in and next_service_on <= date_in:
        errors["next_service_on"] = [_("下次保养日期应晚于进厂日期。")]
    if mileage is not None and (mileage < 0 or mileage > 2_000_000):
        errors["mileage"] = [_("里程不合理。")]
    elif mileage is not None and vehicle.mileage and mileage < vehicle.mileage and \
            (vehicle.last_visit_on is None or date_in >= vehicle.last_visit_on):
        errors["mileage"] = [_("里程（%(new)s）小于上次记录的里程（%(old)s）。")
                             % {"new": mileage, "old": vehicle.mileage}]
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
    _apply_visit(vehicle, visit)
    _set_history_user(vehicle, actor)
    vehicle.save()
    return visit


def _apply_visit(vehicle, visit):
    _first, interval = service_rule_for(vehicle.store)
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
    return policy
