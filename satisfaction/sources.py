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

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from . import rules
from .models import Measure

FOLLOWUP_PROGRAMMES = {"post_delivery_followup": "sales", "post_service_followup": "service"}
REACHED_KINDS = ("reached", "booked", "refused")
FUNNEL_PROGRAMMES = ("first_service", "periodic_service", "insurance_renewal", "lapsed_recall")
PROGRAMME_LABELS = {
    "first_service": _lazy("首保提醒"), "periodic_service": _lazy("定保提醒"),
    "insurance_renewal": _lazy("续保提醒"), "lapsed_recall": _lazy("流失客户召回"),
}
DEPARTMENT_LABELS = {"sales": _lazy("销售"), "service": _lazy("售后"), "": _lazy("未分部门")}
PLANNED_BEFORE_DAYS, PLANNED_AFTER_DAYS = 90, 30
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


def _pct(value):
    return _("不适用") if value is None else f"{value}%"


def _link(name, **query):
    try:
        url = reverse(name)
    except NoReverseMatch:
        return None
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


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


def followup_counts_between(store_ids, start, end):
    """{department: (due, reached)} for follow-up calls planned in [start, end). One query."""
    Task = _model("followups", "Task")
    if Task is None:
        return {}
    rows = (Task.objects.filter(store_id__in=store_ids, channel="call",
                                programme_code__in=list(FOLLOWUP_PROGRAMMES),
                                planned_on__gte=start, planned_on__lt=end)
            .exclude(status="cancelled").values("programme_code")
            .annotate(due=Count("id"), reached=Count("id", filter=Q(outcome_kind__in=REACHED_KINDS))))
    result = {}
    for row in rows:
        department = FOLLOWUP_PROGRAMMES[row["programme_code"]]
        due, reached = result.get(department, (0, 0))
        result[department] = (due + row["due"], reached + row["reached"])
    return result


def answer_counts_between(store_ids, start, end):
    """{department: (answered, satisfied, dissatisfied)} for answers in [start, end)."""
    Answer = _model("followups", "SatisfactionAnswer")
    if Answer is None:
        return {}
    rows = (Answer.objects.filter(store_id__in=store_ids, answered_on__gte=start, answered_on__lt=end)
            .values("department")
            .annotate(n=Count("id"), satisfied=Count("id", filter=Q(rating__gte=4)),
                      dissatisfied=Count("id", filter=Q(rating__lte=2))))
    return {row["department"] or "": (row["n"], row["satisfied"], row["dissatisfied"]) for row in rows}


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
    # planned_on = N + offset (offsets -65 ... +7, moved to an earlier working day): the
    # bounds let the (store, planned_on) index find the month's cycles.
    rows = (Task.objects.filter(store_id__in=store_ids, programme_code__in=FUNNEL_PROGRAMMES,
                                planned_on__gte=start - timedelta(days=PLANNED_BEFORE_DAYS),
                                planned_on__lt=end + timedelta(days=PLANNED_AFTER_DAYS),
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

def _complaint_counts(store_ids, periods, now):
    Complaint = _model("complaints", "Complaint")
    if Complaint is None:
        return None
    start, _end = rules.period_bounds(min(periods))
    _start, end = rules.period_bounds(max(periods))
    decided_response = Q(responded_at__isnull=False) | Q(response_due_at__lte=now)
    decided_resolution = Q(resolved_at__isnull=False) | Q(resolution_due_at__lte=now)
    rows = (Complaint.objects.filter(store_id__in=store_ids, received_at__gte=start, received_at__lt=end)
            .annotate(month=TruncMonth("received_at", tzinfo=rules.ZoneInfo(rules.LOCAL_TZ)))
            .values("store_id", "month")
            .annotate(received=Count("id"),
                      response_decided=Count("id", filter=decided_response),
                      response_in_time=Count("id", filter=Q(responded_at__lte=F("response_due_at"))),
                      resolution_decided=Count("id", filter=decided_resolution),
                      resolution_in_time=Count("id", filter=Q(resolved_at__lte=F("resolution_due_at"))),
                      repeats=Count("id", filter=Q(is_repeat=True)),
                      important=Count("id", filter=Q(severity="important")),
                      open=Count("id", filter=~Q(status="closed"))))
    return {(row["store_id"], _month(row["month"])): row for row in rows}


def complaint_figures(store_ids, periods, now=None):
    """Complaint response (30 minutes) and resolution (24 hours) compliance per store and
    month, over the complaints whose deadline is decided (met, or passed). One query."""
    counts = _complaint_counts(store_ids, periods, now or timezone.now())
    if counts is None:
        return []
    figures = []
    for store_id in store_ids:
        for period in periods:
            row = counts.get((store_id, period), {})
            figures.append(_figure(store_id, period, Measure.COMPLAINT_RESPONSE,
                                   row.get("response_in_time", 0), row.get("response_decided", 0)))
            figures.append(_figure(store_id, period, Measure.COMPLAINT_RESOLUTION,
                                   row.get("resolution_in_time", 0), row.get("resolution_decided", 0)))
    return figures


def complaint_raw(store_ids, period, now=None):
    """The plain counts behind the complaint panel (JSON-ready; two queries), or None
    without the complaints floor."""
    Complaint = _model("complaints", "Complaint")
    if Complaint is None:
        return None
    counts = _complaint_counts(store_ids, [period], now or timezone.now())
    total = dict.fromkeys(("received", "important", "repeats", "open", "response_in_time",
                           "response_decided", "resolution_in_time", "resolution_decided"), 0)
    for row in counts.values():
        for key in total:
            total[key] += row[key]
    start, end = rules.period_bounds(period)
    categories = list(Complaint.objects.filter(store_id__in=store_ids, received_at__gte=start,
                                               received_at__lt=end)
                      .values("category").annotate(n=Count("id")).order_by("-n", "category"))
    return {"totals": total, "categories": categories}


def complaint_summary(store_ids, period, now=None, raw=None):
    """Counts for one month (received, important, repeats, still open, SLA compliance)
    and the categories, as lines with links to the complaint pages. From `raw` (a
    snapshot) when given, else two queries."""
    Complaint = _model("complaints", "Complaint")
    raw = raw or complaint_raw(store_ids, period, now)
    if raw is None or Complaint is None:
        return {}
    total, categories = raw["totals"], raw["categories"]
    labels = dict(Complaint.Category.choices)
    store = store_ids[0] if len(store_ids) == 1 else ""
    last_day = rules.add_months(period, 1) - timedelta(days=1)
    report = _link("complaints:report", store=store, start=period.isoformat(), end=last_day.isoformat())
    lines = [
        {"label": _("本月投诉"), "value": total["received"], "link": report},
        {"label": _("重要投诉"), "value": total["important"], "link": report},
        {"label": _("重复投诉"), "value": total["repeats"], "link": report},
        {"label": _("30分钟响应率"), "value": _pct(rules.rate(total["response_in_time"],
                                                          total["response_decided"])), "link": report},
        {"label": _("24小时解决率"), "value": _pct(rules.rate(total["resolution_in_time"],
                                                          total["resolution_decided"])), "link": report},
        {"label": _("未结案"), "value": total["open"],
         "link": _link("complaints:board", store=store)},
    ] + [{"label": labels.get(row["category"], row["category"]), "value": row["n"], "link": None}
         for row in categories]
    return {"totals": total, "categories": categories, "lines": lines}


# Inspections ---------------------------------------------------------------------------------------

def _inspection_counts(store_ids, periods):
    Inspection = _model("inspections", "Inspection")
    if Inspection is None:
        return None
    from django.db.models import Sum

    start, end = _span(periods)
    rows = (Inspection.objects.filter(store_id__in=store_ids, status="completed", day__gte=start,
                                      day__lt=end)
            .annotate(month=TruncMonth("day")).values("store_id", "month")
            .annotate(rounds=Count("id"), passed=Sum("pass_count"), failed=Sum("fail_count")))
    return {(row["store_id"], _month(row["month"])): row for row in rows}


def inspection_figures(store_ids, periods):
    """Inspection pass rate per store and month: items passed over items judged (not
    applicable excluded) in completed rounds. One query."""
    counts = _inspection_counts(store_ids, periods)
    if counts is None:
        return []
    figures = []
    for store_id in store_ids:
        for period in periods:
            row = counts.get((store_id, period), {})
            passed, failed = row.get("passed") or 0, row.get("failed") or 0
            figures.append(_figure(store_id, period, Measure.INSPECTION_PASS, passed, passed + failed))
    return figures


def inspection_raw(store_ids, period):
    """The plain counts behind the inspection panel (JSON-ready; two queries), or None."""
    Rectification = _model("inspections", "Rectification")
    counts = _inspection_counts(store_ids, [period])
    if counts is None or Rectification is None:
        return None
    start, end = rules.period_bounds(period)
    rect = Rectification.objects.filter(store_id__in=store_ids).aggregate(
        opened=Count("id", filter=Q(notified_at__gte=start, notified_at__lt=end)),
        open=Count("id", filter=Q(status__in=("open", "overdue"))),
        overdue=Count("id", filter=Q(status="overdue")))
    return {"rounds": sum(row["rounds"] for row in counts.values()),
            "passed": sum(row["passed"] or 0 for row in counts.values()),
            "failed": sum(row["failed"] or 0 for row in counts.values()), **rect}


def inspection_summary(store_ids, period, raw=None):
    """Rounds, pass rate and rectifications (opened in the month; open and overdue now),
    as lines with links. From `raw` (a snapshot) when given, else two queries."""
    raw = raw or inspection_raw(store_ids, period)
    if raw is None:
        return {}
    store = store_ids[0] if len(store_ids) == 1 else ""
    lines = [
        {"label": _("完成巡检"), "value": raw["rounds"], "link": _link("inspections:dashboard", store=store)},
        {"label": _("合格率"), "value": _pct(rules.rate(raw["passed"], raw["passed"] + raw["failed"])),
         "link": _link("inspections:dashboard", store=store)},
        {"label": _("本月整改"), "value": raw["opened"], "link": _link("inspections:rectifications")},
        {"label": _("未完成整改"), "value": raw["open"],
         "link": _link("inspections:rectifications", status="open")},
        {"label": _("超时整改"), "value": raw["overdue"],
         "link": _link("inspections:rectifications", status="overdue")},
    ]
    return {**raw, "lines": lines}


# Reports managers send on ----------------------------------------------------------------------------

def caller_day(store_ids, day):
    """The day report per caller: calls dialled, reached, booked, unreachable (from the
    call attempts of that Beijing day) and survey answers taken. Two queries."""
    Attempt = _model("followups", "CallAttempt")
    Answer = _model("followups", "SatisfactionAnswer")
    if Attempt is None or Answer is None:
        return []
    start = datetime.combine(day, time.min, tzinfo=ZoneInfo(rules.LOCAL_TZ))
    end = start + timedelta(days=1)
    rows = (Attempt.objects.filter(task__store_id__in=store_ids, called_at__gte=start, called_at__lt=end)
            .values("caller_id", "caller__last_name", "caller__first_name", "caller__username")
            .annotate(calls=Count("id"), tasks=Count("task_id", distinct=True),
                      reached=Count("id", filter=Q(outcome__kind__in=REACHED_KINDS)),
                      booked=Count("id", filter=Q(outcome__kind="booked")),
                      unreachable=Count("id", filter=Q(outcome__kind="unreachable"))))
    answers = {row["caller_id"]: row for row in
               Answer.objects.filter(store_id__in=store_ids, answered_on=day).values("caller_id")
               .annotate(answered=Count("id"), satisfied=Count("id", filter=Q(rating__gte=4)),
                         dissatisfied=Count("id", filter=Q(rating__lte=2)))}
    report = []
    for row in rows:
        answer = answers.pop(row["caller_id"], {})
        report.append({**row, "answered": answer.get("answered", 0),
                       "satisfied": answer.get("satisfied", 0),
                       "dissatisfied": answer.get("dissatisfied", 0)})
    for caller_id, answer in answers.items():
        report.append({"caller_id": caller_id, "caller__last_name": "", "caller__first_name": "",
                       "caller__username": str(caller_id), "calls": 0, "tasks": 0, "reached": 0,
                       "booked": 0, "unreachable": 0, **{k: answer[k] for k in
                                                          ("answered", "satisfied", "dissatisfied")}})
    for row in report:
        row["name"] = (f"{row['caller__last_name']}{row['caller__first_name']}".strip()
                       or row["caller__username"])
        row["reach_rate"] = rules.rate(row["reached"], row["calls"])
        row["share"] = rules.rate(row["satisfied"], row["answered"])
    return sorted(report, key=lambda row: (-row["calls"], row["name"]))


def week_remarks(store_ids, start, end, limit=300):
    """Verbatim customer remarks of the week's survey answers (those with a reason),
    worst first, with the question and customer: one query, at most `limit` rows."""
    Answer = _model("followups", "SatisfactionAnswer")
    if Answer is None:
        return []
    return list(Answer.objects.filter(store_id__in=store_ids, answered_on__gte=start,
                                      answered_on__lt=end).exclude(reason="")
                .select_related("question", "task__customer", "caller")
                .order_by("department", "rating", "answered_on", "id")[:limit])
