"""Scoped reads of customer records shared by pages, API and the export: every one goes
through crm_site.scoping.for_user and loads related rows in a fixed number of queries."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.paginator import Paginator
from django.db.models import CharField, Count, Exists, F, OuterRef, Prefetch, Q, Value
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_noop

from crm_site.crypto import keyed_hash
from crm_site.figures import Figure, defined_as
from crm_site.scoping import for_user, stores_of

from . import rules
from .models import (
    ConsentChange,
    CorrectionRequest,
    Customer,
    CustomerMerge,
    InsurancePolicy,
    PersonalDataExport,
    Sale,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)
from .validators import PROVINCES, mobile_fragment

SEARCH_VEHICLE_LIMIT = 500
CONSENT_SHOWN = 10
LAPSED_AFTER_DAYS = 180  # the default of the follow-ups settings row (an upper floor)
DUE_PROGRAMMES = {
    "first_service": "first_service_due_on",
    "periodic_service": "next_service_due_on",
    "insurance": "insurance_expires_on",
    "inspection": "annual_inspection_on",
}
SORTS = {"name": ("name", "id"), "-created": ("-created_at", "-id"), "id": ("id",),
         "-id": ("-id",)}


def customers_for(user):
    return for_user(Customer.objects.all(), user)


def vehicles_for(user):
    return for_user(Vehicle.objects.all(), user)


def _vehicle_search_ids(user, term):
    """Ids of customers whose vehicle (in the user's stores) has this plate or VIN, or one
    containing `term` (one query). A whole VIN or plate is an exact match on its btree
    index (a plate by prefix); a fragment of 3 or more characters uses the trigram
    indexes."""
    term = re.sub(r"[\s·•]", "", term).upper()
    if len(term) < 3:
        return []
    vehicles = vehicles_for(user)
    if re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", term):
        vehicles = vehicles.filter(vin=term)
    elif re.fullmatch(rf"[{PROVINCES}][A-Z][A-Z0-9挂学警港澳]{{5,6}}", term):
        vehicles = vehicles.filter(plate__startswith=term)  # 7 typed of an 8-character plate
    else:
        vehicles = vehicles.filter(Q(plate__contains=term) | Q(vin__contains=term))
    return list(vehicles.values_list("customer_id", flat=True)[:SEARCH_VEHICLE_LIMIT])


class CappedPaginator(Paginator):
    """Counts at most `cap` rows (COUNT over a LIMITed subquery): on a dealer group's
    million customers an unfiltered list page stays fast; the page shows "10000+"."""

    cap = 10_000

    @cached_property
    def count(self):
        rows = self.object_list
        if hasattr(rows, "values"):
            rows = rows.order_by().values("pk")
        counted = rows[: self.cap + 1].count()
        self.capped = counted > self.cap
        return min(counted, self.cap)

    capped = False


@dataclass
class CustomerFilters:
    q: str = ""
    store: int | None = None
    owner: int | None = None
    due: str = ""
    due_within: int = 30
    lapsed: bool = False
    include_inactive: bool = False
    sort: str = "-id"


def customer_list(user, filters: CustomerFilters, *, today=None, queryset=None):
    """The customer list: scoped, searched, filtered, sorted; vehicles prefetched so the
    page costs the same queries for 1 row or 100. The page and the API reach it through
    customers.filters.CustomerFilter."""
    today = today or timezone.localdate()
    qs = (customers_for(user) if queryset is None else queryset).select_related("store", "owner")
    if not filters.include_inactive:
        qs = qs.filter(is_active=True)
    term = (filters.q or "").strip()
    if term:
        # Trigram indexes serve fragments of 3 characters or more; a shorter term (a
        # two-character Chinese name) matches from the start, on the name's btree index.
        condition = Q(name__contains=term) if len(term) >= 3 else Q(name__startswith=term)
        digits = mobile_fragment(term)
        if len(digits) >= 3 and len(digits) >= len(re.sub(r"\s", "", term)) - 1:
            condition |= Q(mobile__contains=digits)
        vehicle_ids = _vehicle_search_ids(user, term)
        if vehicle_ids:
            condition |= Q(pk__in=vehicle_ids)
        if re.fullmatch(r"[0-9Xx]{18}", term):
            condition |= Q(id_number_hash=keyed_hash(term))
        qs = qs.filter(condition)
    if filters.store:
        qs = qs.filter(store_id=filters.store)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.due in DUE_PROGRAMMES:
        column = DUE_PROGRAMMES[filters.due]
        qs = qs.filter(pk__in=vehicles_for(user).filter(
            is_active=True, **{f"{column}__gte": today,
                               f"{column}__lte": today + timedelta(days=filters.due_within)},
        ).values("customer_id"))
    if filters.lapsed:
        cutoff = rules.lapse_cutoff(today, LAPSED_AFTER_DAYS)
        qs = qs.filter(pk__in=vehicles_for(user).filter(is_active=True).filter(
            Q(last_visit_on__lte=cutoff) | Q(last_visit_on__isnull=True, delivered_on__lte=cutoff)
        ).values("customer_id"))
    qs = qs.order_by(*SORTS.get(filters.sort, SORTS["-id"]))
    return qs.prefetch_related(
        Prefetch("vehicles", queryset=Vehicle.objects.filter(is_active=True).order_by("id"),
                 to_attr="active_vehicles"))


def customer_get(user, pk, *, include_inactive=True):
    """One customer of the user's stores, or 404."""
    qs = customers_for(user).select_related("store", "owner", "merged_into")
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return get_object_or_404(qs, pk=pk)


def customer_360(user, pk):
    """Everything the customer page shows, in a fixed number of queries."""
    return get_object_or_404(
        customers_for(user).select_related("store", "owner", "merged_into").prefetch_related(
            "family",
            Prefetch("vehicles", queryset=Vehicle.objects.order_by("-is_active", "-id")),
            Prefetch("correction_requests",
                     queryset=CorrectionRequest.objects.select_related("filed_by", "decided_by")
                     .order_by("-filed_at")),
            Prefetch("consent_changes", to_attr="recent_consent_changes",
                     queryset=ConsentChange.objects.select_related("recorded_by")
                     .order_by("-changed_at", "-id")[:CONSENT_SHOWN]),
        ),
        pk=pk,
    )


def vehicle_get(user, pk):
    return get_object_or_404(
        vehicles_for(user).select_related("store", "customer").prefetch_related(
            Prefetch("ownerships", queryset=VehicleOwnership.objects.select_related("customer")),
            Prefetch("sales", queryset=Sale.objects.select_related("consultant")),
            Prefetch("visits", queryset=ServiceVisit.objects.select_related("advisor")),
            "policies",
        ),
        pk=pk,
    )


def duplicate_groups(user, *, limit=100):
    """Groups of active customers in one store sharing a mobile, ID number or credit code.
    Returns a list of (reason, value, [customers]) in three grouped queries plus one."""
    base = customers_for(user).filter(is_active=True)
    groups = []
    # ID numbers are encrypted: they are grouped by their keyed hash.
    fields = {"mobile": "mobile", "id_number": "id_number_hash", "credit_code": "credit_code"}
    for reason, field in fields.items():
        rows = (base.exclude(**{field: ""}).values("store_id", field)
                .annotate(n=Count("id")).filter(n__gt=1).order_by("-n", field)[:limit])
        groups.extend((reason, row["store_id"], row[field]) for row in rows)
    if not groups:
        return []
    condition = Q()
    for reason, store_id, value in groups:
        condition |= Q(store_id=store_id, **{fields[reason]: value})
    members = {}
    for customer in base.filter(condition).select_related("store", "owner").order_by("id"):
        for reason, store_id, value in groups:
            if customer.store_id == store_id and getattr(customer, fields[reason]) == value:
                members.setdefault((reason, store_id, value), []).append(customer)
    result = []
    for reason, store_id, value in groups[:limit]:
        found = members.get((reason, store_id, value), [])
        shown = getattr(found[0], reason) if found else ""
        result.append((reason, shown, found))
    return result


def merges_for(user):
    return for_user(CustomerMerge.objects.select_related("kept", "merged", "merged_by",
                                                         "undone_by"), user, "kept__store")


def corrections_for(user):
    return for_user(CorrectionRequest.objects.select_related(
        "customer", "vehicle", "filed_by", "decided_by", "store"), user)


def personal_data_exports_for(user):
    """Exports of personal data the user's stores answer for: a customer's own export by
    the customer's store, a list export by the stores of whoever exported it."""
    stores = stores_of(user)
    ids = PersonalDataExport.objects.filter(
        Q(customer__store__in=stores) | Q(customer__isnull=True, user__stores__in=stores)
    ).values("pk")
    return (PersonalDataExport.objects.filter(pk__in=ids).select_related("user", "customer")
            .order_by("-exported_at", "-id"))


def policies_for(user):
    return for_user(InsurancePolicy.objects.all(), user)


TIMELINE_LIMITS = {"sale": 100, "visit": 100, "insurance": 50, "ownership": 50, "correction": 50}


def _record_rows(qs, kind, when, a, b, c, order):
    """One part of the timeline's UNION: (kind, when, vehicle, plate, vin, model, a, b, c)."""
    text = CharField()
    return qs.annotate(
        t_kind=Value(kind, output_field=text), t_when=when, t_vehicle=F("vehicle_id"),
        t_plate=F("vehicle__plate"), t_vin=F("vehicle__vin"), t_model=F("vehicle__model_name"),
        t_a=Cast(a, text), t_b=Cast(b, text), t_c=Cast(c, text),
    ).order_by(*order).values_list(
        "t_kind", "t_when", "t_vehicle", "t_plate", "t_vin", "t_model", "t_a", "t_b", "t_c",
    )[:TIMELINE_LIMITS[kind]]


def records_timeline(customer, user):
    """Timeline entries of the customer's own records: sales, visits, policies and owner
    changes in one UNION query (each part capped, newest first), and correction requests
    from the customer page's prefetch (or one query)."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from .timeline import TimelineEntry

    can = user.has_perm
    parts = []
    if can("customers.view_sale"):
        parts.append(_record_rows(Sale.objects.filter(customer=customer), "sale",
                                  Coalesce("delivered_on", "order_date"), "consultant_name",
                                  "price", Value(""), ("-order_date", "-id")))
    if can("customers.view_servicevisit"):
        parts.append(_record_rows(ServiceVisit.objects.filter(customer=customer), "visit",
                                  F("date_in"), "repair_type", "amount", "mileage",
                                  ("-date_in", "-id")))
    if can("customers.view_insurancepolicy"):
        parts.append(_record_rows(InsurancePolicy.objects.filter(customer=customer), "insurance",
                                  F("starts_on"), "insurer", "expires_on", Value(""),
                                  ("-expires_on", "-id")))
    parts.append(_record_rows(VehicleOwnership.objects.filter(customer=customer), "ownership",
                              F("started_on"), "reason", "ended_on", Value(""),
                              ("-started_on", "-id")))
    rows = list(parts[0].union(*parts[1:], all=True)) if len(parts) > 1 else list(parts[0])
    entries = []
    repair_types = dict(ServiceVisit.RepairType.choices)
    reasons = dict(VehicleOwnership.Reason.choices)
    for kind, when, vehicle_id, plate, vin, model, a, b, c in rows:
        url = reverse("customers:vehicle-detail", args=[vehicle_id])
        if kind == "sale":
            entries.append(TimelineEntry(
                when=when, kind="sale",
                title=_("购车：%(model)s %(plate)s") % {"model": model, "plate": plate},
                body=_("成交价 %(price)s，顾问 %(who)s") % {"price": b, "who": a or "-"}, url=url))
        elif kind == "visit":
            entries.append(TimelineEntry(
                when=when, kind="visit",
                title=_("进厂：%(type)s %(plate)s") % {"type": repair_types.get(a, a), "plate": plate},
                body=_("金额 %(amount)s，里程 %(km)s") % {"amount": b, "km": c or "-"}, url=url))
        elif kind == "insurance":
            entries.append(TimelineEntry(
                when=when, kind="insurance",
                title=_("投保：%(insurer)s %(plate)s") % {"insurer": a, "plate": plate},
                body=_("到期 %(date)s") % {"date": b}))
        else:
            entries.append(TimelineEntry(
                when=when, kind="ownership",
                title=_("成为车主：%(plate)s（%(reason)s）") % {
                    "plate": plate or vin, "reason": reasons.get(a, a)}))
            if b:
                entries.append(TimelineEntry(
                    when=date.fromisoformat(b), kind="ownership",
                    title=_("不再是车主：%(plate)s") % {"plate": plate or vin}))
    if can("customers.view_correctionrequest"):
        cache = getattr(customer, "_prefetched_objects_cache", {})
        corrections = (cache["correction_requests"] if "correction_requests" in cache
                       else CorrectionRequest.objects.filter(customer=customer))
        for correction in list(corrections)[:TIMELINE_LIMITS["correction"]]:
            entries.append(TimelineEntry(
                when=correction.filed_at, kind="correction",
                title=_("信息修正申请：%(field)s（%(status)s）") % {
                    "field": correction.get_field_display(),
                    "status": correction.get_status_display()},
                url=reverse("customers:correction-detail", args=[correction.pk])))
    return entries


HISTORY_HIDDEN = {"updated_at", "created_at", "id", "history_id", "history_date",
                  "history_change_reason", "history_type", "history_user_id", "id_number_hash"}


def _diffs(records, label):
    """Consecutive history rows of one object -> [(when, user, what, [(field, old, new)])]."""
    changes = []
    previous = {}
    for record in records:
        key = record.id
        prev = previous.get(key)
        if prev is None:
            changes.append((record.history_date, record.history_user, label(record),
                            record.get_history_type_display(), []))
        else:
            delta = record.diff_against(prev)
            fields = [(change.field, change.old, change.new) for change in delta.changes
                      if change.field not in HISTORY_HIDDEN]
            if fields or record.history_type != "~":
                changes.append((record.history_date, record.history_user, label(record),
                                record.get_history_type_display(), fields))
        previous[key] = record
    return changes


def _masker(masked):
    """Old and new values of identifiers as the page may show them."""
    from crm_site.templatetags.crm import mask_mobile

    from .templatetags.customers_tags import mask_id

    masks = {"mobile": mask_mobile, "id_number": mask_id, "credit_code": mask_id}

    def show(name, value):
        if masked and name in masks and value:
            return masks[name](value)
        return value
    return show


def record_changes(customer, *, limit=200, masked=True):
    """The customer's and its vehicles' history as a list of changes, newest first;
    identifiers masked unless `masked` is False (a role that may reveal them)."""
    from django.utils.translation import gettext as _

    customer_rows = list(customer.history.select_related("history_user")
                         .order_by("history_date", "history_id"))
    vehicle_rows = list(Vehicle.history.filter(customer_id=customer.pk)
                        .select_related("history_user").order_by("history_date", "history_id"))
    changes = _diffs(customer_rows, lambda r: _("客户档案"))
    changes += _diffs(vehicle_rows, lambda r: _("车辆 %(plate)s") % {"plate": r.plate or r.vin})
    changes.sort(key=lambda c: c[0], reverse=True)
    labels = {f.name: f.verbose_name for f in Customer._meta.fields}
    labels.update({f.name: f.verbose_name for f in Vehicle._meta.fields if f.name not in labels})
    show = _masker(masked)
    return [(when, user, what, kind, [(labels.get(name, name), show(name, old), show(name, new))
                                      for name, old, new in fields])
            for when, user, what, kind, fields in changes[:limit]]


# Figures (crm_site.figures) ------------------------------------------------------------------

def policies_due(store_ids, start, end):
    """Insurance policies of these stores expiring in [start, end) (dates), each with
    `renewed_here` / `renewed_elsewhere`: whether the car's next policy (recorded by hand,
    by import or through the API, with its insurer and whether bought here) starts by
    RENEWAL_GRACE_DAYS after the expiry, and was bought here or elsewhere."""
    renewals = InsurancePolicy.objects.filter(
        vehicle_id=OuterRef("vehicle_id"), starts_on__gt=OuterRef("starts_on"),
        starts_on__lte=OuterRef("expires_on") + timedelta(days=rules.RENEWAL_GRACE_DAYS))
    return (InsurancePolicy.objects.filter(store_id__in=list(store_ids), expires_on__gte=start,
                                           expires_on__lt=end)
            .annotate(renewed_here=Exists(renewals.filter(bought_here=True)),
                      renewed_elsewhere=Exists(renewals.filter(bought_here=False))))


@defined_as(gettext_noop("续保率：当月到期的保单为分母；车辆的下一张保单在到期后30天内起保且在本店投保的为分子"
                         "（在外投保的续保不计入分子）。"))
def renewal_rate(store_ids, start, end):
    """Renewal rate of these stores for policies expiring in [start, end)."""
    return Figure(policies_due(store_ids, start, end), Q(renewed_here=True),
                  month=TruncMonth("expires_on"))
