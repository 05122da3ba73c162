"""Reads of the complaints app shared by the pages, the API and the customer timeline:
scoped to the user's stores, with the joins they need so query counts stay fixed."""

from datetime import timedelta
from zoneinfo import ZoneInfo

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
from django.utils.translation import gettext_noop

from crm_site.figures import Figure, defined_as
from crm_site.rules import percent
from crm_site.scoping import for_user, stores_of

from .models import Complaint, ComplaintAttachment, ComplaintEvent, Severity

Status = Complaint.Status
LOCAL_TZ = "Asia/Shanghai"


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


def board_complaints(user):
    """The open complaints of the user's stores: the board's rows before its filters
    (complaints.filters.ComplaintFilter). The explicit list of store ids (on top of the
    scoping subquery) lets the planner walk the board index in order."""
    store_ids = list(stores_of(user).values_list("pk", flat=True))
    return complaints_for(user).open().filter(store_id__in=store_ids)


def board(complaints):
    """Ids of `complaints` (board_complaints, filtered), the most urgent deadline first.

    Ids only: the page is cut from the board index (store, current deadline, id) without
    joins, then board_rows() fetches those rows with what they show."""
    return (complaints.order_by(F("current_due_at").asc(nulls_last=True), "id")
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


# The SQL form of rules.done_in_time: done at the deadline is in time. The resolution
# deadline has already moved by every pause (services.complaint_resume).
RESPONSE_IN_TIME = Q(responded_at__lte=F("response_due_at"))
RESOLUTION_IN_TIME = Q(resolved_at__lte=F("resolution_due_at"))


def response_decided(now):
    """Complaints whose response is decided at `now`: answered, or past the deadline
    unanswered (rules.breach_due)."""
    return Q(responded_at__isnull=False) | Q(response_due_at__lt=now)


def resolution_decided(now):
    """Complaints whose resolution is decided at `now`: resolved, or past the deadline
    unresolved with the clock running. A paused clock is waiting on the customer or the
    manufacturer: not decided, so neither in time nor missed."""
    return Q(resolved_at__isnull=False) | Q(paused_at__isnull=True, resolution_due_at__lt=now)


def received_between(store_ids, start, end):
    """Complaints of these stores received in [start, end) (aware datetimes)."""
    return Complaint.objects.filter(store_id__in=list(store_ids), received_at__gte=start,
                                    received_at__lt=end)


def _month():
    return TruncMonth("received_at", tzinfo=ZoneInfo(LOCAL_TZ))


@defined_as(gettext_noop("30分钟响应率：收到的投诉中，已答复或已过响应时限的为分母；"
                         "在时限内（含恰好到时限）答复的为分子。"))
def response_in_time(complaints, now):
    """Response compliance of `complaints` (a queryset, e.g. received_between) at `now`."""
    return Figure(complaints.filter(response_decided(now)), RESPONSE_IN_TIME, month=_month())


@defined_as(gettext_noop("24小时解决率：收到的投诉中，已解决或已过解决时限（暂停中的不计）的为分母；"
                         "在时限内（含恰好到时限，暂停时间不计）解决的为分子。"))
def resolution_in_time(complaints, now):
    """Resolution compliance of `complaints` (a queryset, e.g. received_between) at `now`."""
    return Figure(complaints.filter(resolution_decided(now)), RESOLUTION_IN_TIME, month=_month())


@defined_as(gettext_noop("投诉时限达成率：收到的投诉中响应和解决都已判定（暂停中的不计）的为分母；"
                         "响应和解决都在时限内的为分子。"))
def sla_kept(complaints, now):
    """Both clocks kept, of `complaints` (a queryset, e.g. received_between) at `now`."""
    return Figure(complaints.filter(response_decided(now) & resolution_decided(now)),
                  RESPONSE_IN_TIME & RESOLUTION_IN_TIME, month=_month())


def compliance_counts(now):
    """The aggregates of response_in_time and resolution_in_time, to count them together
    with other totals in one query: {name: Count}."""
    return {
        "response_decided": Count("id", filter=response_decided(now)),
        "response_in_time": Count("id", filter=response_decided(now) & RESPONSE_IN_TIME),
        "resolution_decided": Count("id", filter=resolution_decided(now)),
        "resolution_in_time": Count("id", filter=resolution_decided(now) & RESOLUTION_IN_TIME),
    }


def report(user, *, start, end, store=None, now=None):
    """Response and resolution compliance, average times, repeat rate and pauses of the
    complaints received in [start, end) by each dimension, and the open breaches.
    Compliance counts as response_in_time and resolution_in_time do."""
    now = now or timezone.now()
    qs = complaints_for(user).filter(received_at__gte=start, received_at__lt=end)
    if store:
        qs = qs.filter(store_id=store)
    metrics = {
        "total": Count("id"),
        **compliance_counts(now),
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
        row["response_rate"] = percent(row["response_in_time"], row["response_decided"])
        row["resolution_rate"] = percent(row["resolution_in_time"], row["resolution_decided"])
        row["repeat_rate"] = percent(row["repeats"], row["total"])
        return row

    totals = finish(qs.aggregate(**metrics))
    tables = {}
    for name, (field, choices) in DIMENSIONS.items():
        grouped = qs
        if name == "month":
            grouped = qs.annotate(month=_month())
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


# SLA policy settings --------------------------------------------------------------------

def sla_policies(user):
    """The group's policies and the overrides of the user's stores (what the settings
    page and the API show)."""
    from .models import SlaPolicy

    return (SlaPolicy.objects.filter(Q(store__isnull=True)
                                     | Q(store__in=stores_of(user).values("pk")))
            .select_related("store").order_by(F("store_id").asc(nulls_first=True), "severity"))


def sla_policy_changes(user, *, limit=50):
    """The "what changed" list of the SLA settings: the group's rows and the user's
    stores' rows."""
    from crm_site.history import changes

    from .models import SLA_POLICY_FIELDS, SlaPolicy

    history = SlaPolicy.history.filter(
        Q(store__isnull=True) | Q(store__in=stores_of(user).values("pk"))).select_related("store")
    return changes(history, fields=("severity", *SLA_POLICY_FIELDS), limit=limit,
                   row_label=lambda r: r.store.name if r.store_id else _("集团默认"))
