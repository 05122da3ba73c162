"""Reads of the complaints app shared by the pages, the API and the customer timeline:
scoped to the user's stores, with the joins they need so query counts stay fixed."""

from datetime import timedelta

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_site.scoping import for_user, stores_of

from .models import Complaint, ComplaintAttachment, ComplaintEvent, Severity

Status = Complaint.Status


def complaints_for(user):
    return for_user(Complaint.objects.all(), user)


# The SQL form of "this clock is past its deadline and still running" at `now`.
def breached_q(now):
    return (
        Q(responded_at__isnull=True, response_due_at__lt=now)
        | Q(resolved_at__isnull=True, paused_at__isnull=True, resolution_due_at__lt=now)
        | Q(department_feedback_at__isnull=True, handed_off_at__isnull=False,
            department_due_at__lt=now)
    ) & ~Q(status=Status.CLOSED)


def warning_q(now):
    return (
        Q(responded_at__isnull=True, response_warn_at__lte=now)
        | Q(resolved_at__isnull=True, paused_at__isnull=True, resolution_warn_at__lte=now)
        | Q(resolved_at__isnull=True, paused_at__isnull=False,
            resolution_warn_at__lte=F("paused_at"))
        | Q(department_feedback_at__isnull=True, handed_off_at__isnull=False,
            department_warn_at__lte=now)
    ) & ~breached_q(now) & ~Q(status=Status.CLOSED)


BOARD_STATES = ("in_time", "warning", "breached")


def board(user, *, store=None, department=None, severity=None, owner=None, state=None,
          now=None):
    """Ids of the open complaints of the user's stores, the most urgent deadline first.

    Ids only: the page is cut from the board index (store, current deadline, id) without
    joins, then board_rows() fetches those rows with what they show. The explicit list
    of store ids (on top of the scoping subquery) lets the planner walk that index in
    order instead of sorting every open complaint."""
    now = now or timezone.now()
    store_ids = list(stores_of(user).values_list("pk", flat=True))
    if store:
        store_ids = [pk for pk in store_ids if pk == store]
    qs = complaints_for(user).open().filter(store_id__in=store_ids)
    if department:
        qs = qs.filter(department=department)
    if severity:
        qs = qs.filter(severity=severity)
    if owner:
        qs = qs.filter(owner_id=owner)
    if state == "breached":
        qs = qs.filter(breached_q(now))
    elif state == "warning":
        qs = qs.filter(warning_q(now))
    elif state == "in_time":
        qs = qs.exclude(breached_q(now)).exclude(warning_q(now))
    return (qs.order_by(F("current_due_at").asc(nulls_last=True), "id")
            .values_list("id", flat=True))


def board_rows(ids):
    """The complaints of a board page, in the page's order (one query)."""
    ids = list(ids)
    rows = (Complaint.objects.filter(id__in=ids)
            .select_related("store", "customer", "vehicle", "owner", "department_manager"))
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def complaint_detail(user, pk):
    """One complaint of the user's stores (404 otherwise) with its timeline."""
    qs = (complaints_for(user)
          .select_related("store", "customer", "vehicle", "owner", "logged_by",
                          "department_manager", "repeat_of")
          .prefetch_related("attachments"))
    return get_object_or_404(qs, pk=pk)


def timeline(complaint):
    return list(ComplaintEvent.objects.filter(complaint=complaint).select_related("actor")
                .order_by("at", "id"))


def customer_timeline(customer, user):
    """Provider for the customer page's timeline: one query."""
    from customers.timeline import TimelineEntry

    from .services import complaint_url

    rows = complaints_for(user).filter(customer=customer).order_by("-received_at")[:50]
    return [
        TimelineEntry(
            when=row.received_at, kind="complaint",
            title=_("投诉（%(category)s，%(status)s）") % {
                "category": row.get_category_display(), "status": row.get_status_display()},
            body=row.description[:120], url=complaint_url(row.pk))
        for row in rows
    ]


def recent_for_customer(user, customer_id, *, limit=5):
    return list(complaints_for(user).filter(customer_id=customer_id)
                .order_by("-received_at")[:limit])


# Reports -------------------------------------------------------------------------------

DIMENSIONS = {
    "department": ("department", Complaint.Department),
    "category": ("category", Complaint.Category),
    "severity": ("severity", Severity),
    "month": ("month", None),
}


def _percent(part, whole):
    return round(100.0 * part / whole, 1) if whole else None


def report(user, *, start, end, store=None, now=None):
    """Response and resolution compliance, average times, repeat rate and pauses of the
    complaints received in [start, end) by each dimension, and the open breaches."""
    now = now or timezone.now()
    qs = complaints_for(user).filter(received_at__gte=start, received_at__lt=end)
    if store:
        qs = qs.filter(store_id=store)
    response_decided = Q(responded_at__isnull=False) | Q(response_due_at__lt=now)
    resolution_decided = Q(resolved_at__isnull=False) | Q(paused_at__isnull=True,
                                                          resolution_due_at__lt=now)
    metrics = {
        "total": Count("id"),
        "response_decided": Count("id", filter=response_decided),
        "response_in_time": Count("id", filter=Q(responded_at__lte=F("response_due_at"))),
        "resolution_decided": Count("id", filter=resolution_decided),
        "resolution_in_time": Count("id", filter=Q(resolved_at__lte=F("resolution_due_at"))),
        "repeats": Count("id", filter=Q(is_repeat=True)),
        "paused": Count("id", filter=Q(paused_seconds__gt=0) | Q(paused_at__isnull=False)),
        "paused_total_seconds": Sum("paused_seconds"),
        "avg_response": Avg(ExpressionWrapper(F("responded_at") - F("received_at"),
                                              output_field=DurationField())),
        # Paused time is waiting on the customer or the manufacturer: not counted.
        "avg_resolution": Avg(ExpressionWrapper(
            F("resolved_at") - F("received_at")
            - F("paused_seconds") * Value(timedelta(seconds=1), output_field=DurationField()),
            output_field=DurationField())),
        "reissued": Count("id", filter=Q(round__gt=1)),
    }

    def finish(row):
        row["response_rate"] = _percent(row["response_in_time"], row["response_decided"])
        row["resolution_rate"] = _percent(row["resolution_in_time"], row["resolution_decided"])
        row["repeat_rate"] = _percent(row["repeats"], row["total"])
        return row

    totals = finish(qs.aggregate(**metrics))
    tables = {}
    for name, (field, choices) in DIMENSIONS.items():
        grouped = qs
        if name == "month":
            grouped = qs.annotate(month=TruncMonth("received_at"))
        labels = dict(choices.choices) if choices else {}
        rows = grouped.order_by(field).values(field).annotate(**metrics)
        tables[name] = [
            finish({**row, "key": row[field],
                     "label": (row[field].strftime("%Y-%m") if name == "month"
                               else labels.get(row[field], row[field] or _("未指定")))})
            for row in rows
        ]
    breaches = list(complaints_for(user).filter(breached_q(now))
                    .filter(**({"store_id": store} if store else {}))
                    .select_related("customer", "owner", "store").order_by("received_at")[:200])
    return {"totals": totals, "tables": tables, "breaches": breaches}


def attachment_visible(user, name):
    """Whether `user` may see the stored attachment `name`: they may read attachments and
    the complaint is one of their stores'."""
    if not user.has_perm("complaints.view_complaintattachment"):
        return False
    return ComplaintAttachment.objects.filter(
        file=name, complaint__in=complaints_for(user).values("pk")).exists()
