"""Figures read from the floors below (follow-ups, complaints, inspections, customers).

Every figure is defined once, by the app that owns what it measures (a selector returning
a crm_site.figures.Figure, whose docstring holds the definition); this module only asks
those owners and groups their rows per store and month, a fixed number of aggregate
queries whatever the data size.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from complaints import selectors as complaint_selectors
from complaints.models import Complaint
from customers import selectors as customer_selectors
from followups import selectors as followup_selectors
from followups.models import CallAttempt, SatisfactionAnswer
from inspections import selectors as inspection_selectors
from inspections.models import Rectification

from . import rules
from .models import Measure

FOLLOWUP_PROGRAMMES = followup_selectors.FOLLOWUP_PROGRAMMES
REACHED_KINDS = followup_selectors.REACHED
PROGRAMME_LABELS = {
    "first_service": _lazy("首保提醒"), "periodic_service": _lazy("定保提醒"),
    "insurance_renewal": _lazy("续保提醒"), "lapsed_recall": _lazy("流失客户召回"),
}
DEPARTMENT_LABELS = {"sales": _lazy("销售"), "service": _lazy("售后"), "": _lazy("未分部门")}
RATE_NAMES = {"insurance_renewal": "renewal", "lapsed_recall": "recall"}

# The owner of each figure the floors below define (its `definition` is the card's tooltip).
OWNERS = {
    Measure.FOLLOWUP_RATE: followup_selectors.followup_rate,
    Measure.SATISFIED_SHARE: followup_selectors.satisfied_share,
    Measure.COMPLAINT_RESPONSE: complaint_selectors.response_in_time,
    Measure.COMPLAINT_RESOLUTION: complaint_selectors.resolution_in_time,
    Measure.INSPECTION_PASS: inspection_selectors.pass_rate,
    Measure.RECTIFICATION_ON_TIME: inspection_selectors.rectifications_on_time,
}
FUNNEL_OWNERS = {"insurance_renewal": customer_selectors.renewal_rate,
                 "lapsed_recall": followup_selectors.recall_rate}


def definition(measure):
    """The translated definition of a measure's figure, or "" when it has no owner here."""
    owner = OWNERS.get(measure)
    return _(owner.definition) if owner else ""


def _span(periods):
    return min(periods), rules.add_months(max(periods), 1)


def _bounds(periods):
    """[start, end) of the months as aware datetimes (midnight Beijing time)."""
    return rules.period_bounds(min(periods))[0], rules.period_bounds(max(periods))[1]


def _figure(store_id, period, measure, counts):
    from .selectors import Figure

    numerator, denominator = counts
    return Figure(store_id, period, measure, rules.rate(numerator, denominator),
                  numerator=numerator, denominator=denominator)


def _table(store_ids, periods, measures):
    """Figure rows for every store and month: [(measure, Figure)] each grouped in one query."""
    result = []
    for measure, figure in measures:
        counts = figure.by_store_month()
        result += [_figure(store_id, period, measure, counts.get((store_id, period), (0, 0)))
                   for store_id in store_ids for period in periods]
    return result


def _pct(value):
    return _("不适用") if value is None else f"{value}%"


def _link(name, **query):
    try:
        url = reverse(name)
    except NoReverseMatch:
        return None
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


# Follow-ups ---------------------------------------------------------------------------------------

def followup_figures(store_ids, periods):
    """Follow-up rate and satisfied share per store and month (two queries). A month with
    nothing due is present with value None (not applicable)."""
    start, end = _span(periods)
    return _table(store_ids, periods, [
        (Measure.FOLLOWUP_RATE, followup_selectors.followup_rate(store_ids, start, end)),
        (Measure.SATISFIED_SHARE, followup_selectors.satisfied_share(store_ids, start, end))])


def followup_departments(store_ids, start, end):
    """[{department, due, reached, rate, answered, satisfied, share, dissatisfied}] for
    calls planned and answers given in [start, end) (two queries)."""
    calls = followup_selectors.followup_rate(store_ids, start, end).by(
        programme="programme_code")
    answers = followup_selectors.satisfied_share(store_ids, start, end)
    answer_rows = (answers.rows.order_by().values("department")
                   .annotate(n=Count("id"), satisfied=Count("id", filter=answers.hits),
                             dissatisfied=Count("id", filter=followup_selectors.DISSATISFIED)))
    rows = {}

    def row_of(department):
        return rows.setdefault(department, {"department": department, "due": 0, "reached": 0,
                                            "answered": 0, "satisfied": 0, "dissatisfied": 0})
    for code, (reached, due) in calls.items():
        row = row_of(FOLLOWUP_PROGRAMMES[code])
        row["due"] += due
        row["reached"] += reached
    for answer in answer_rows:
        row = row_of(answer["department"] or "")
        row["answered"] += answer["n"]
        row["satisfied"] += answer["satisfied"]
        row["dissatisfied"] += answer["dissatisfied"]
    for row in rows.values():
        row["rate"] = rules.rate(row["reached"], row["due"])
        row["share"] = rules.rate(row["satisfied"], row["answered"])
    return sorted(rows.values(), key=lambda row: row["department"])


def followup_by_department(store_ids, period):
    """The follow-up rows per department for one month (two queries)."""
    return followup_departments(store_ids, period, rules.add_months(period, 1))


def reminder_funnel(store_ids, period):
    """Per reminder programme for cycles due (N) in the month: due, SMS sent, reached,
    booked, came in (followups.selectors.reminder_funnel). The insurance line's rate is
    the renewal rate (customers.selectors.renewal_rate: policies expiring in the month),
    the recall line's the recall rate (followups.selectors.recall_rate: campaigns dated in
    the month), the others' the came-in conversion (followups.selectors.reminder_conversion)."""
    start, end = period, rules.add_months(period, 1)
    funnel = []
    for row in followup_selectors.reminder_funnel(store_ids, start, end):
        code = row["programme"]
        owner = FUNNEL_OWNERS.get(code)
        line = {**row, "booking_rate": rules.rate(row["booked"], row["reached"]),
                "rate_name": RATE_NAMES.get(code, "conversion")}
        if owner is None:  # the funnel's own numbers are the conversion figure's
            line.update(conversion=rules.rate(row["came_in"], row["due"]),
                        rate_numerator=row["came_in"], rate_denominator=row["due"],
                        definition=_(followup_selectors.reminder_conversion.definition))
        else:
            figure = owner(store_ids, start, end)
            line.update(conversion=figure.percent, rate_numerator=figure.numerator,
                        rate_denominator=figure.denominator, definition=_(owner.definition))
        funnel.append(line)
    return funnel


# Complaints ----------------------------------------------------------------------------------------

def _complaints(store_ids, periods):
    return complaint_selectors.received_between(store_ids, *_bounds(periods))


def complaint_figures(store_ids, periods, now=None):
    """Complaint response and resolution compliance per store and month, as the complaint
    report counts them (complaints.selectors.response_in_time / resolution_in_time).
    Two queries."""
    now = now or timezone.now()
    complaints = _complaints(store_ids, periods)
    return _table(store_ids, periods, [
        (Measure.COMPLAINT_RESPONSE, complaint_selectors.response_in_time(complaints, now)),
        (Measure.COMPLAINT_RESOLUTION, complaint_selectors.resolution_in_time(complaints, now))])


def complaint_raw(store_ids, period, now=None):
    """The plain counts behind the complaint panel (JSON-ready; two queries). The SLA
    counts are those of complaints.selectors.response_in_time / resolution_in_time."""
    now = now or timezone.now()
    complaints = _complaints(store_ids, [period])
    total = complaints.aggregate(received=Count("id"),
                                 important=Count("id", filter=Q(severity="important")),
                                 repeats=Count("id", filter=Q(is_repeat=True)),
                                 open=Count("id", filter=~Q(status=Complaint.Status.CLOSED)),
                                 **complaint_selectors.compliance_counts(now))
    categories = list(complaints.values("category").annotate(n=Count("id"))
                      .order_by("-n", "category"))
    return {"totals": total, "categories": categories}


def complaint_summary(store_ids, period, now=None, raw=None):
    """Counts for one month (received, important, repeats, still open, SLA compliance)
    and the categories, as lines with links to the complaint pages. From `raw` (a
    snapshot) when given, else computed now."""
    raw = raw or complaint_raw(store_ids, period, now)
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
                                                          total["response_decided"])), "link": report,
         "title": _(complaint_selectors.response_in_time.definition)},
        {"label": _("24小时解决率"), "value": _pct(rules.rate(total["resolution_in_time"],
                                                          total["resolution_decided"])), "link": report,
         "title": _(complaint_selectors.resolution_in_time.definition)},
        {"label": _("未结案"), "value": total["open"],
         "link": _link("complaints:board", store=store)},
    ] + [{"label": labels.get(row["category"], row["category"]), "value": row["n"], "link": None}
         for row in categories]
    return {"totals": total, "categories": categories, "lines": lines}


# Inspections ---------------------------------------------------------------------------------------

def inspection_figures(store_ids, periods):
    """Inspection pass rate per store and month (inspections.selectors.pass_rate). One query."""
    rounds = inspection_selectors.completed_rounds(store_ids, *_span(periods))
    return _table(store_ids, periods, [(Measure.INSPECTION_PASS, inspection_selectors.pass_rate(rounds))])


def inspection_raw(store_ids, period):
    """The plain counts behind the inspection panel (JSON-ready; three queries)."""
    rounds = inspection_selectors.completed_rounds(store_ids, period, rules.add_months(period, 1))
    figure = inspection_selectors.pass_rate(rounds)
    start, end = rules.period_bounds(period)
    rect = Rectification.objects.filter(store_id__in=store_ids).aggregate(
        opened=Count("id", filter=Q(notified_at__gte=start, notified_at__lt=end)),
        open=Count("id", filter=Q(status__in=("open", "overdue"))),
        overdue=Count("id", filter=Q(status="overdue")))
    return {"rounds": rounds.count(), "passed": figure.numerator,
            "failed": figure.denominator - figure.numerator, **rect}


def inspection_summary(store_ids, period, raw=None):
    """Rounds, pass rate and rectifications (opened in the month; open and overdue now),
    as lines with links. From `raw` (a snapshot) when given, else computed now."""
    raw = raw or inspection_raw(store_ids, period)
    store = store_ids[0] if len(store_ids) == 1 else ""
    month = {"start": period.isoformat(),
             "end": (rules.add_months(period, 1) - timedelta(days=1)).isoformat()}
    report = _link("inspections:dashboard", store=store, **month)
    lines = [
        {"label": _("完成巡检"), "value": raw["rounds"], "link": report},
        {"label": _("合格率"), "value": _pct(rules.rate(raw["passed"], raw["passed"] + raw["failed"])),
         "link": report, "title": _(inspection_selectors.pass_rate.definition)},
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
    Attempt, Answer = CallAttempt, SatisfactionAnswer
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
    return list(SatisfactionAnswer.objects.filter(store_id__in=store_ids, answered_on__gte=start,
                                      answered_on__lt=end).exclude(reason="")
                .select_related("question", "task__customer", "caller")
                .order_by("department", "rating", "answered_on", "id")[:limit])
