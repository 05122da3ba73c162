"""Reads of the satisfaction work shared by pages, API, exports and jobs: targets, the
figures per store, measure and month (the KPI table) and the manager's dashboard.

Figures of the other floors (follow-ups, complaints, inspections) come from
`satisfaction.sources`, each a fixed number of aggregate queries whatever the data size.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Avg, BooleanField, Count, ExpressionWrapper, Prefetch, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from crm_site.models import Store
from crm_site.scoping import for_user
from customers import selectors as customer_selectors
from followups import selectors as followup_selectors
from followups.models import RefusalReason

from . import analysis, rules, sources
from .models import (
    LOWER_IS_BETTER,
    AnalysisMeeting,
    CustomerAnalysisSnapshot,
    CustomerBand,
    ImprovementPlan,
    ItemScore,
    ManufacturerReport,
    Measure,
    MonthlyFigure,
    MonthlySnapshot,
    MysteryShopCheck,
    SatisfactionPolicy,
    Target,
    WeakItem,
)

TREND_MONTHS = 6


# Targets and policy --------------------------------------------------------------------------

def policy_for(store_id):
    """The store's satisfaction policy, else the default row, else the built-in default."""
    rows = {p.store_id: p for p in SatisfactionPolicy.objects.filter(
        Q(store_id=store_id) | Q(store__isnull=True))}
    return rows.get(store_id) or rows.get(None) or SatisfactionPolicy()


def _target_rows(store_ids, periods=None):
    qs = Target.objects.filter(Q(store_id__in=list(store_ids)) | Q(store__isnull=True))
    if periods is not None:
        qs = qs.filter(Q(period__in=list(periods)) | Q(period__isnull=True))
    return list(qs.values("measure", "store_id", "period", "value", "threshold",
                          "secure_grade", "strive_grade"))


def _as_target(row):
    if row is None:
        return None
    return rules.TargetValue(value=row["value"], threshold=row["threshold"],
                             secure_grade=row["secure_grade"], strive_grade=row["strive_grade"])


class TargetBook:
    """Targets loaded once (one query) and looked up per measure, store and month."""

    def __init__(self, store_ids, periods=None):
        self.by_measure = {}
        for row in _target_rows(store_ids, periods):
            self.by_measure.setdefault(row["measure"], []).append(row)

    def get(self, measure, store_id, period):
        return _as_target(rules.pick_target(self.by_measure.get(measure, []), store_id, period))


def target_for(measure, store_id, period):
    return TargetBook([store_id], [period]).get(measure, store_id, period)


# The KPI table ---------------------------------------------------------------------------------

@dataclass
class Figure:
    """One figure: a measure for a store and month, against its target."""

    store_id: int
    period: date
    measure: str
    value: Decimal | None
    numerator: int | None = None
    denominator: int | None = None
    target: rules.TargetValue | None = None
    status: str | None = None
    grade: str = ""
    grade_status: str | None = None
    computed_at: object = None

    @property
    def applicable(self):
        return self.value is not None


def manufacturer_figures(store_ids, periods):
    """CSS/CSI totals, ranks and grades: one query."""
    figures = []
    rows = ManufacturerReport.objects.filter(store_id__in=store_ids, period__in=periods).values(
        "store_id", "period", "survey", "total_score", "region_rank", "region_size", "grade")
    for row in rows:
        figures.append(Figure(row["store_id"], row["period"], f"{row['survey']}_score",
                              row["total_score"], grade=row["grade"]))
        figures.append(Figure(row["store_id"], row["period"], f"{row['survey']}_rank",
                              row["region_rank"], denominator=row["region_size"]))
    return figures


def mystery_figures(store_ids, periods):
    """Average mystery-shopper score per store and month: one query."""
    start, end = min(periods), rules.add_months(max(periods), 1)
    rows = (MysteryShopCheck.objects
            .filter(store_id__in=store_ids, checked_on__gte=start, checked_on__lt=end)
            .annotate(month=TruncMonth("checked_on")).values("store_id", "month")
            .annotate(avg=Avg("score"), n=Count("id")))
    return [Figure(row["store_id"], row["month"], Measure.MS_SCORE,
                   rules.average([row["avg"]]), denominator=row["n"]) for row in rows]


def live_source_figures(store_ids, periods):
    """Follow-up, complaint and inspection figures computed now (a few GROUP BY queries)."""
    return (sources.followup_figures(store_ids, periods)
            + sources.complaint_figures(store_ids, periods)
            + sources.inspection_figures(store_ids, periods))


def source_figures(store_ids, periods, *, live=False, live_periods=()):
    """The floors' figures: from the monthly summary for each month it covers for every
    store asked for (one query; each figure carries its computed_at), computed live for
    the other months and for `live_periods` (a few GROUP BY queries)."""
    if live:
        return live_source_figures(store_ids, periods)
    summary_periods = [p for p in periods if p not in set(live_periods)]
    rows = list(MonthlyFigure.objects.filter(store_id__in=store_ids, period__in=summary_periods))
    covered = {(row.store_id, row.period) for row in rows}
    summarised = {p for p in summary_periods if all((s, p) in covered for s in store_ids)}
    figures = [Figure(row.store_id, row.period, row.measure, row.value, numerator=row.numerator,
                      denominator=row.denominator, computed_at=row.computed_at)
               for row in rows if row.period in summarised]
    missing = [p for p in periods if p not in summarised]
    if missing:
        figures += live_source_figures(store_ids, missing)
    return figures


def kpi_table(store_ids, periods, *, live=False, live_periods=()):
    """Every figure for these stores and months, each with its target and status.
    A fixed number of queries whatever the number of stores, months or rows; a measure
    with nothing due is present with value None ("not applicable"). The floors' figures
    come from the monthly summary when it is complete (see services.figures_refresh),
    else live; `live=True` always computes them now, `live_periods` those months (the
    month a page shows with links to its rows, so a card equals its drill-down)."""
    store_ids, periods = list(store_ids), sorted(set(periods))
    if not store_ids or not periods:
        return []
    figures = manufacturer_figures(store_ids, periods) + mystery_figures(store_ids, periods)
    figures += source_figures(store_ids, periods, live=live, live_periods=live_periods)
    book = TargetBook(store_ids, periods)
    for figure in figures:
        figure.target = book.get(figure.measure, figure.store_id, figure.period)
        figure.status = rules.target_status(figure.value, figure.target,
                                            lower_is_better=figure.measure in LOWER_IS_BETTER)
        if figure.grade and figure.target:
            figure.grade_status = rules.grade_status(figure.grade, figure.target.secure_grade,
                                                     figure.target.strive_grade)
    figures.sort(key=lambda f: (f.store_id, f.period, f.measure))
    return figures


# Scoped lists ------------------------------------------------------------------------------------

def stores_for(user):
    return for_user(Store.objects.filter(is_active=True), user, "pk").select_related("group")


def reports_for(user):
    return for_user(ManufacturerReport.objects.select_related("store", "score_import"), user)


def weak_items_for(user):
    plans = ImprovementPlan.objects.select_related("owner").order_by("status", "-id")
    return for_user(WeakItem.objects.select_related("store", "report"), user).prefetch_related(
        Prefetch("plans", queryset=plans))


def plans_for(user):
    return for_user(ImprovementPlan.objects.select_related(
        "store", "owner", "weak_item", "approved_by", "closed_by"), user)


def meetings_for(user):
    return for_user(AnalysisMeeting.objects.select_related("store", "report", "chair"), user)


def checks_for(user):
    return for_user(MysteryShopCheck.objects.select_related("store", "staff", "checker"), user)


def item_scores(report_ids):
    return ItemScore.objects.filter(report_id__in=report_ids).select_related("report")


# The dashboard ------------------------------------------------------------------------------------

@dataclass
class Dashboard:
    store: Store
    period: date
    months: list
    figures: dict  # measure -> Figure for the period
    trend: dict  # measure -> [value or None per month]
    trend_targets: dict  # measure -> [target value or None per month]
    reports: list
    items: list
    weak_items: list
    meetings: list
    staff_ranking: list
    funnel: list
    complaint_summary: dict
    inspection_summary: dict
    plan_counts: dict = field(default_factory=dict)
    computed_at: object = None  # oldest summary figure shown; None: all computed now


def dashboard(store, period, months=TREND_MONTHS):
    """The manager's screen for one store and month, in a fixed number of queries. The
    month shown is computed now, so each card equals the rows its drill-down lists; the
    trend's earlier months come from the monthly summary where it is complete."""
    trend_months = rules.months_back(period, months)
    figures = kpi_table([store.pk], trend_months, live_periods=[period])
    by_key = {(f.period, f.measure): f for f in figures}
    current = {f.measure: f for f in figures if f.period == period}
    stamps = [f.computed_at for f in current.values() if f.computed_at]
    book = TargetBook([store.pk], trend_months)
    trend, trend_targets = {}, {}
    for measure in Measure.values:
        trend[measure] = [_plain(by_key.get((m, measure))) for m in trend_months]
        trend_targets[measure] = [
            (t.value if (t := book.get(measure, store.pk, m)) else None) for m in trend_months]
    for measure in Measure.values:
        if measure not in current:
            target = book.get(measure, store.pk, period)
            current[measure] = Figure(store.pk, period, measure, None, target=target)
    reports = list(ManufacturerReport.objects.filter(store=store, period=period)
                   .select_related("score_import").order_by("survey"))
    items = list(ItemScore.objects.filter(report__store=store, report__period=period)
                 .select_related("report").order_by("report__survey", "score", "code"))
    plans = ImprovementPlan.objects.select_related("owner").order_by("status", "-id")
    weak = list(WeakItem.objects.filter(store=store, period=period)
                .prefetch_related(Prefetch("plans", queryset=plans)).order_by("survey", "score"))
    meetings = list(AnalysisMeeting.objects.filter(store=store, period=period)
                    .select_related("report", "chair").order_by("due_on"))
    start, end = period, rules.add_months(period, 1)
    ranking_rows = list(
        MysteryShopCheck.objects.filter(store=store, checked_on__gte=start, checked_on__lt=end)
        .values("staff_id", "staff__last_name", "staff__first_name", "staff__username")
        .annotate(avg=Avg("score"), n=Count("id")))
    for row in ranking_rows:
        row["name"] = (f"{row['staff__last_name']}{row['staff__first_name']}".strip()
                       or row["staff__username"])
    ranking = rules.rank(ranking_rows, key=lambda row: row["avg"])
    plan_counts = dict(ImprovementPlan.objects.filter(store=store).values_list("status")
                       .annotate(n=Count("id")).values_list("status", "n"))
    funnel = sources.reminder_funnel([store.pk], period)
    snapshots = {}
    if stamps:  # the figures come from the summary: so do the panels, when stored
        snapshots = dict(MonthlySnapshot.objects.filter(store=store, period=period)
                         .values_list("source", "data"))
    for row in funnel:
        row["label"] = str(sources.PROGRAMME_LABELS.get(row["programme"], row["programme"]))
    return Dashboard(
        store=store, period=period, months=trend_months, figures=current, trend=trend,
        trend_targets=trend_targets, reports=reports, items=items, weak_items=weak,
        meetings=meetings, staff_ranking=ranking,
        funnel=funnel,
        complaint_summary=sources.complaint_summary(
            [store.pk], period, raw=snapshots.get(MonthlySnapshot.Source.COMPLAINTS)),
        inspection_summary=sources.inspection_summary(
            [store.pk], period, raw=snapshots.get(MonthlySnapshot.Source.INSPECTIONS)),
        plan_counts=plan_counts, computed_at=min(stamps) if stamps else None,
    )


def _plain(figure):
    if figure is None or figure.value is None:
        return None
    return figure.value


def group_view(stores, period):
    """The same figures across stores for one month, each store ranked per measure."""
    stores = list(stores)
    figures = kpi_table([s.pk for s in stores], [period], live=True)
    table = {s.pk: {} for s in stores}
    for figure in figures:
        table[figure.store_id][figure.measure] = figure
    rows = [{"store": s, "figures": table[s.pk]} for s in stores]
    ranks = {}
    for measure in Measure.values:
        def key(row, measure=measure):
            figure = row["figures"].get(measure)
            return figure.value if figure and figure.value is not None else None
        ranks[measure] = {row["store"].pk: position for position, row in
                          rules.rank(rows, key, reverse=measure not in LOWER_IS_BETTER)}
    for row in rows:
        row["ranks"] = {measure: ranks[measure].get(row["store"].pk) for measure in Measure.values}
    rows.sort(key=lambda row: (row["ranks"][Measure.CSI_SCORE] or 10**6,
                               row["ranks"][Measure.CSS_SCORE] or 10**6, row["store"].code))
    return rows


def imports_for(user):
    """Imports that touched the user's stores, and the user's own (rejected ones name no
    store)."""
    from .models import ScoreImport

    if user.is_superuser:
        return ScoreImport.objects.select_related("uploaded_by")
    visible = for_user(Store.objects.all(), user, "pk")
    return (ScoreImport.objects.filter(Q(stores__in=visible) | Q(uploaded_by=user)).distinct()
            .select_related("uploaded_by"))


def followup_departments(store_ids, period):
    rows = sources.followup_by_department(store_ids, period)
    for row in rows:
        row["label"] = str(sources.DEPARTMENT_LABELS.get(row["department"], row["department"]))
    return rows


def answers_for(user, store, period):
    """The satisfaction answers behind the satisfied share of one store and month, scoped."""
    figure = followup_selectors.satisfied_share([store.pk], period, rules.add_months(period, 1))
    return (for_user(figure.rows, user)
            .select_related("question", "caller", "task__customer").order_by("rating", "-answered_on", "id"))


def followup_calls_for(user, store, period):
    """The follow-up calls behind the follow-up rate of one store and month, scoped."""
    figure = followup_selectors.followup_rate([store.pk], period, rules.add_months(period, 1))
    return (for_user(figure.rows, user).select_related("customer", "assignee", "outcome", "programme")
            .order_by("planned_on", "id"))


def renewals_for(user, store, period):
    """The policies behind the renewal rate of one store and month, scoped; each with
    renewed_here / renewed_elsewhere."""
    figure = customer_selectors.renewal_rate([store.pk], period, rules.add_months(period, 1))
    return (for_user(figure.rows, user).select_related("vehicle", "customer")
            .order_by("expires_on", "id"))


def recalls_for(user, store, period):
    """The customers behind the recall rate of one store and month, scoped; each with
    `came_back`."""
    figure = followup_selectors.recall_rate([store.pk], period, rules.add_months(period, 1))
    return (for_user(figure.rows, user).annotate(came_back=ExpressionWrapper(
        figure.hits, output_field=BooleanField())).order_by("name", "id"))


def followup_week(store_ids, week_start):
    """The weekly follow-up summary per department (sales, service): calls due and
    reached, answers and satisfied share, and the customers' verbatim remarks."""
    end = week_start + timedelta(days=7)
    rows = sources.followup_departments(store_ids, week_start, end)
    for row in rows:
        row["label"] = str(sources.DEPARTMENT_LABELS.get(row["department"], row["department"]))
    return rows, sources.week_remarks(store_ids, week_start, end)


# Who our customers are ------------------------------------------------------------------------------

def customer_analysis(store, span, *, today=None, live=False):
    """The customer analysis of one store and period (see satisfaction.analysis): from the
    stored summary when the refresh job has computed it (one query; `computed_at` says
    when), else computed now. `live=True` always computes it now."""
    if not live:
        snapshot = CustomerAnalysisSnapshot.objects.filter(store=store, period=span.text).first()
        if snapshot is not None:
            return analysis.from_data(store, span, snapshot.day, snapshot.data, snapshot.computed_at)
    return analysis.customer_analysis(store, span, today=today or timezone.localdate())


def customers_behind(user, store, span, code, key, *, today=None):
    """The customers behind one bar, scoped to the user's stores; None for an unknown bar."""
    customers = analysis.customers_behind(store, span, code, key, today=today or timezone.localdate())
    if customers is None:
        return None
    return analysis.customer_rows(for_user(customers, user))


def breakdown_label(code, key):
    """What one bar is called, for the list page's heading."""
    if code == "service_origin":
        return analysis.ORIGIN_LABELS.get(key, key)
    if code == "service_status":
        return analysis.STATUS_LABELS.get(key, key)
    if code in ("sales_age", "service_mileage", "service_loyalty", "lapsed_reason") and key:
        if code == "lapsed_reason":
            row = RefusalReason.objects.filter(pk=key).first() if key.isdigit() else None
            return row.label if row else key
        band = CustomerBand.objects.filter(pk=key).first() if key.isdigit() else None
        return band.label if band else key
    if code == "service_frequency" and key.isdigit():
        return analysis.frequency_label(int(key))
    return key or analysis.UNKNOWN


def customer_band_changes(*, limit=50):
    """The "what changed" list of the customer analysis bands (the group's rows)."""
    from crm_site.history import changes

    from .models import BAND_FIELDS, CustomerBand

    return changes(CustomerBand.history.all(), fields=BAND_FIELDS, limit=limit,
                   row_label=lambda record: record.label)
