"""Figures read from the floors below (follow-ups, complaints, inspections).

Each function is a small, fixed number of aggregate queries (GROUP BY store and month),
never a loop over rows, so the dashboard costs the same for ten rows or ten million.
An app that is not installed (or has no such model yet) contributes nothing.

Definitions (DOMAIN.md sections 3, 4, 5, 6 and 8):
- follow-up rate: follow-up calls (after delivery and after service) planned in the month
  and not cancelled = due; of those, the customer reached (reached, booked or refused) =
  reached.
- satisfied share: answers in the month rated satisfied or very satisfied over all answers.
- complaint response / resolution: complaints received in the month (midnight Asia/Shanghai
  boundaries) responded within 30 minutes / resolved within 24 hours over those received.
"""

from datetime import date

from django.apps import apps
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from . import rules
from .models import Measure

FOLLOWUP_PROGRAMMES = {"post_delivery_followup": "sales", "post_service_followup": "service"}
REACHED_KINDS = ("reached", "booked", "refused")
FUNNEL_PROGRAMMES = ("first_service", "periodic_service", "insurance_renewal", "lapsed_recall")
RATE_NAMES = {"insurance_renewal": "renewal", "lapsed_recall": "recall"}


def _model(app_label, name):
    if not apps.is_installed(app_label):
        return None
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def _span(periods):
    return min(periods), rules.add_months(max(periods), 1)


def _figure(store_id, period, measure, numerator, denominator):
    from .selectors import Figure

    return Figure(store_id, period, measure, rules.rate(numerator, denominator),
                  numerator=numerator, denominator=denominator)


def _month(value):
    if value is None:
        return None
    return date(value.year, value.month, 1)


# Follow-ups ---------------------------------------------------------------------------------------

def followup_counts(store_ids, periods, by_department=False):
    """{(store_id, month[, department]): (due, reached)} for follow-up calls (one query)."""
    Task = _model("followups", "Task")
    if Task is None:
        return {}
    start, end = _span(periods)
    fields = ["store_id", "month"] + (["programme_code"] if by_department else [])
    rows = (Task.objects.filter(store_id__in=store_ids, channel="call",
                                programme_code__in=list(FOLLOWUP_PROGRAMMES),
                                planned_on__gte=start, planned_on__lt=end)
            .exclude(status="cancelled")
            .annotate(month=TruncMonth("planned_on")).values(*fields)
            .annotate(due=Count("id"), reached=Count("id", filter=Q(outcome_kind__in=REACHED_KINDS))))
    result = {}
    for row in rows:
        key = (row["store_id"], _month(row["month"]))
        if by_department:
            key += (FOLLOWUP_PROGRAMMES[row["programme_code"]],)
        result[key] = (row["due"], row["reached"])
    return result


def answer_counts(store_ids, periods, by_department=False):
    """{(store_id, month[, department]): (answered, satisfied, dissatisfied)} (one query)."""
    Answer = _model("followups", "SatisfactionAnswer")
    if Answer is None:
        return {}
    start, end = _span(periods)
    fields = ["store_id", "month"] + (["department"] if by_department else [])
    rows = (Answer.objects.filter(store_id__in=store_ids, answered_on__gte=start, answered_on__lt=end)
            .annotate(month=TruncMonth("answered_on")).values(*fields)
            .annotate(n=Count("id"), satisfied=Count("id", filter=Q(rating__gte=4)),
                      dissatisfied=Count("id", filter=Q(rating__lte=2))))
    result = {}
    for row in rows:
        key = (row["store_id"], _month(row["month"]))
        if by_department:
            key += (row["department"] or "",)
        result[key] = (row["n"], row["satisfied"], row["dissatisfied"])
    return result


def followup_figures(store_ids, periods):
    """Follow-up rate and satisfied share per store and month (two queries). A month with
    nothing due is present with value None (not applicable)."""
    if _model("followups", "Task") is None:
        return []
    calls = followup_counts(store_ids, periods)
    answers = answer_counts(store_ids, periods)
    figures = []
    for store_id in store_ids:
        for period in periods:
            due, reached = calls.get((store_id, period), (0, 0))
            answered, satisfied, _dis = answers.get((store_id, period), (0, 0, 0))
            figures.append(_figure(store_id, period, Measure.FOLLOWUP_RATE, reached, due))
            figures.append(_figure(store_id, period, Measure.SATISFIED_SHARE, satisfied, answered))
    return figures


def followup_by_department(store_ids, period):
    """[{department, due, reached, rate, answered, satisfied, share, dissatisfied}] for one
    month (two queries)."""
    if _model("followups", "Task") is None:
        return []
    calls = followup_counts(store_ids, [period], by_department=True)
    answers = answer_counts(store_ids, [period], by_department=True)
    rows = {}
    for (_store, _when, department), (due, reached) in calls.items():
        row = rows.setdefault(department, {"department": department, "due": 0, "reached": 0,
                                           "answered": 0, "satisfied": 0, "dissatisfied": 0})
        row["due"] += due
        row["reached"] += reached
    for (_store, _when, department), (answered, satisfied, dissatisfied) in answers.items():
        row = rows.setdefault(department, {"department": department, "due": 0, "reached": 0,
                                           "answered": 0, "satisfied": 0, "dissatisfied": 0})
        row["answered"] += answered
        row["satisfied"] += satisfied
        row["dissatisfied"] += dissatisfied
    for row in rows.values():
        row["rate"] = rules.rate(row["reached"], row["due"])
        row["share"] = rules.rate(row["satisfied"], row["answered"])
    return sorted(rows.values(), key=lambda row: row["department"])


def reminder_funnel(store_ids, period):
    """Per reminder programme for cycles due (N) in the month: due, SMS sent, reached,
    booked, came in, with the conversion rate (renewal rate for insurance, recall rate
    for lapsed customers). Two queries."""
    Task = _model("followups", "Task")
    Appointment = _model("followups", "Appointment")
    if Task is None:
        return []
    start, end = period, rules.add_months(period, 1)
    rows = (Task.objects.filter(store_id__in=store_ids, programme_code__in=FUNNEL_PROGRAMMES,
                                due_on__gte=start, due_on__lt=end)
            .values("programme_code")
            .annotate(due=Count("customer_id", distinct=True),
                      sms=Count("id", filter=Q(channel="sms", status="done")),
                      reached=Count("customer_id", distinct=True,
                                    filter=Q(outcome_kind__in=REACHED_KINDS)),
                      booked=Count("customer_id", distinct=True, filter=Q(outcome_kind="booked"))))
    came = {}
    if Appointment is not None:
        came = dict(Appointment.objects.filter(store_id__in=store_ids, due_on__gte=start,
                                               due_on__lt=end, status="came_in")
                    .values_list("programme__code").annotate(n=Count("customer_id", distinct=True))
                    .values_list("programme__code", "n"))
    by_code = {row["programme_code"]: row for row in rows}
    funnel = []
    for code in FUNNEL_PROGRAMMES:
        row = by_code.get(code, {"due": 0, "sms": 0, "reached": 0, "booked": 0})
        came_in = came.get(code, 0)
        funnel.append({"programme": code, "due": row["due"], "sms": row["sms"],
                       "reached": row["reached"], "booked": row["booked"], "came_in": came_in,
                       "conversion": rules.rate(came_in, row["due"]),
                       "booking_rate": rules.rate(row["booked"], row["reached"]),
                       "rate_name": RATE_NAMES.get(code, "conversion")})
    return funnel


# Complaints ----------------------------------------------------------------------------------------

def complaint_figures(store_ids, periods):
    """Complaint response and resolution compliance per store and month."""
    return []


def complaint_summary(store_ids, period):
    """Counts for one month: received, open, breached, repeats, by category."""
    return {}


# Inspections ---------------------------------------------------------------------------------------

def inspection_figures(store_ids, periods):
    """Inspection pass rate per store and month."""
    return []


def inspection_summary(store_ids, period):
    """Pass rate and open / overdue rectifications for one month."""
    return {}
