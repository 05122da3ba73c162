"""Pages of the satisfaction work: the manager's dashboard, the dealer-group view, imports,
reports, weak items, improvement plans, analysis meetings, mystery-shopper checks,
targets and the monthly report export."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_site import validation
from crm_site.context_processors import may_open
from crm_site.exports import csv_response, xlsx_response
from crm_site.forms import apply_errors
from crm_site.proxies import client_ip
from crm_site.replica import reads_from_replica
from crm_site.throttling import EXPORT, IMPORT, limited, throttle
from customers import selectors as customer_selectors
from customers import services as customer_services
from followups import selectors as followup_selectors

from . import analysis, exports, rules, selectors, services, sources
from .filters import ImprovementPlanFilter, MysteryShopCheckFilter, ReportFilter, WeakItemFilter
from .forms import (
    CountermeasureDoneForm,
    CountermeasureForm,
    MeetingDueForm,
    MeetingRecordForm,
    MysteryCheckForm,
    PlanCloseForm,
    PlanForm,
    ScoreImportForm,
    TargetForm,
)
from .models import (
    Countermeasure,
    ImprovementPlan,
    Measure,
    MysteryShopItem,
    ScoreImport,
    Survey,
    Target,
)


def _period(request):
    """The month asked for (?period=YYYY-MM), else the current month in Beijing time. A
    month that cannot be read, or lies outside 2000-2099, is refused."""
    text = request.GET.get("period") or ""
    if not text:
        return timezone.localdate().replace(day=1)
    try:
        return rules.parse_period(text)
    except ValueError:
        raise validation.refuse("period", _("期间格式应为 2026-05。")) from None


def _store(request, stores):
    """The store asked for (?store=<id>) among the user's stores, else the first one.
    A store outside the user's stores is a 404."""
    wanted = request.GET.get("store")
    if wanted:
        try:
            return get_object_or_404(stores, pk=int(wanted))
        except ValueError:
            raise Http404 from None
    store = stores.first()
    if store is None:
        raise Http404(_("您没有所属门店。"))
    return store




def _url(name, *args, **query):
    """A link to a page of this or another app; None when that page does not exist."""
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return None
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def _num(value):
    return float(value) if value is not None else None


# Dashboard ---------------------------------------------------------------------------------------

DASHBOARD_MEASURES = [
    Measure.FOLLOWUP_RATE, Measure.SATISFIED_SHARE, Measure.CSS_SCORE, Measure.CSI_SCORE,
    Measure.CSS_RANK, Measure.CSI_RANK, Measure.MS_SCORE, Measure.COMPLAINT_RESPONSE,
    Measure.COMPLAINT_RESOLUTION, Measure.INSPECTION_PASS,
]
TREND_CHARTS = [
    ("css", Measure.CSS_SCORE), ("csi", Measure.CSI_SCORE), ("ms", Measure.MS_SCORE),
    ("followup", Measure.FOLLOWUP_RATE), ("satisfied", Measure.SATISFIED_SHARE),
]


def _drilldowns(store, period):
    month = f"{period:%Y-%m}"
    common = {"store": store.pk, "period": month}
    month_range = {"store": store.pk, "start": period.isoformat(),
                   "end": (rules.add_months(period, 1) - timedelta(days=1)).isoformat()}
    return {
        Measure.CSS_SCORE: _url("satisfaction:report-list", survey="css", **common),
        Measure.CSI_SCORE: _url("satisfaction:report-list", survey="csi", **common),
        Measure.CSS_RANK: _url("satisfaction:report-list", survey="css", store=store.pk),
        Measure.CSI_RANK: _url("satisfaction:report-list", survey="csi", store=store.pk),
        Measure.MS_SCORE: _url("satisfaction:check-list", **common),
        Measure.FOLLOWUP_RATE: _url("satisfaction:followup-calls", **common),
        Measure.SATISFIED_SHARE: _url("satisfaction:answers", **common),
        Measure.COMPLAINT_RESPONSE: _url("complaints:report", **month_range),
        Measure.COMPLAINT_RESOLUTION: _url("complaints:report", **month_range),
        Measure.INSPECTION_PASS: _url("inspections:dashboard", **month_range),
    }


def _chart_data(data):
    months = [f"{m:%Y-%m}" for m in data.months]
    trends = {}
    for key, measure in TREND_CHARTS:
        trends[key] = {
            "label": str(Measure(measure).label),
            "values": [_num(v) for v in data.trend[measure]],
            "targets": [_num(v) for v in data.trend_targets[measure]],
        }
    items = {}
    for item in data.items:
        items.setdefault(item.report.survey, []).append(
            {"name": item.name, "score": _num(item.score)})
    return {
        "months": months,
        "trends": trends,
        "items": items,
        "item_targets": {
            "css": _num(t.value) if (t := data.figures[Measure.CSS_SCORE].target) else None,
            "csi": _num(t.value) if (t := data.figures[Measure.CSI_SCORE].target) else None,
        },
        "funnel": [{"programme": row["label"], "due": row["due"], "reached": row["reached"],
                    "booked": row["booked"], "came_in": row["came_in"]} for row in data.funnel],
        "ranking": [{"name": row["name"], "score": _num(row["avg"])} for _rank, row in
                    data.staff_ranking],
        "labels": {"target": _("目标"), "score": _("得分"), "due": _("应提醒"),
                   "reached": _("已接通"), "booked": _("已预约"), "came_in": _("已进厂")},
    }


@login_required
@permission_required("satisfaction.view_dashboard", raise_exception=True)
@reads_from_replica
def dashboard(request):
    """The manager's screen for one store and month."""
    stores = selectors.stores_for(request.user)
    store = _store(request, stores)
    period = _period(request)
    data = selectors.dashboard(store, period)
    by_department = selectors.followup_departments([store.pk], period)
    data.plan_counts = {ImprovementPlan.Status(status).label: n for status, n in data.plan_counts.items()}
    links = {measure: link for measure, link in _drilldowns(store, period).items()
             if link and may_open(request.user, link)}
    for summary in (data.complaint_summary, data.inspection_summary):
        if summary and summary.get("lines"):
            summary["lines"] = [
                {**line, "link": line["link"] if line.get("link") and may_open(
                    request.user, line["link"]) else None} for line in summary["lines"]]
    cards = [{"figure": data.figures[m], "label": Measure(m).label, "link": links.get(m),
              "definition": sources.definition(m),
              "percent": m not in (Measure.CSS_SCORE, Measure.CSI_SCORE, Measure.MS_SCORE,
                                   Measure.CSS_RANK, Measure.CSI_RANK)}
             for m in DASHBOARD_MEASURES]
    month = {"store": store.pk, "period": f"{period:%Y-%m}"}
    rate_links = {"insurance_renewal": _url("satisfaction:renewals", **month),
                  "lapsed_recall": _url("satisfaction:recalls", **month)}
    rates = [{**row, "link": rate_links[row["programme"]],
              "name": _("续保率") if row["programme"] == "insurance_renewal" else _("召回率")}
             for row in data.funnel if row["programme"] in rate_links]
    return render(request, "satisfaction/dashboard.html", {
        "stores": stores, "store": store, "period": period, "data": data, "cards": cards,
        "rates": rates,
        "chart_data": _chart_data(data), "by_department": by_department,
        "previous": rules.add_months(period, -1), "next": rules.add_months(period, 1),
        "computed_at": data.computed_at or timezone.now(),
    })


@login_required
@permission_required("satisfaction.view_group", raise_exception=True)
def group(request):
    """The dealer-group view: the same figures across the user's stores, ranked."""
    period = _period(request)
    stores = selectors.stores_for(request.user)
    rows = selectors.group_view(stores, period)
    stamps = [f.computed_at for row in rows for f in row["figures"].values() if f.computed_at]
    measures = [(m, Measure(m).label) for m in DASHBOARD_MEASURES]
    for row in rows:
        row["cells"] = [(row["figures"].get(m), row["ranks"][m]) for m, _label in measures]
    return render(request, "satisfaction/group.html", {
        "rows": rows, "measures": measures, "period": period,
        "previous": rules.add_months(period, -1), "next": rules.add_months(period, 1),
        "computed_at": min(stamps) if stamps else timezone.now(),
    })


@login_required
@permission_required("satisfaction.view_dashboard", raise_exception=True)
@reads_from_replica
def export_monthly(request):
    """The monthly satisfaction report of one store as an Excel workbook."""
    stores = selectors.stores_for(request.user)
    store = _store(request, stores)
    period = _period(request)
    data = selectors.dashboard(store, period)
    content = exports.monthly_report(data, selectors.followup_departments([store.pk], period))
    return xlsx_response(content, f"satisfaction-{store.code}-{period:%Y-%m}.xlsx")


# Reports managers send on --------------------------------------------------------------------------

def _xlsx(content, filename):
    return xlsx_response(content, filename)


def _day(request, name, default):
    return validation.query_date(request.GET, name, default)


@login_required
@permission_required("satisfaction.view_dashboard", raise_exception=True)
@reads_from_replica
def report_daily(request):
    """The day report per caller (回访员日报)."""
    stores = selectors.stores_for(request.user)
    store = _store(request, stores)
    day = _day(request, "day", timezone.localdate())
    rows = sources.caller_day([store.pk], day)
    if request.GET.get("format") == "xlsx":
        headers = [_("回访员"), _("拨打次数"), _("任务数"), _("接通"), _("预约"), _("未接通"), _("接通率"),
                   _("满意度评价"), _("满意"), _("不满意"), _("满意率")]
        table = [[r["name"], r["calls"], r["tasks"], r["reached"], r["booked"], r["unreachable"],
                  r["reach_rate"], r["answered"], r["satisfied"], r["dissatisfied"], r["share"]]
                 for r in rows]
        title = _("回访员日报 %(store)s %(day)s") % {"store": store.name, "day": day.isoformat()}
        return _xlsx(exports.table_workbook(title, [(_("日报"), headers, table)]),
                     f"daily-{store.code}-{day.isoformat()}.xlsx")
    return render(request, "satisfaction/report_daily.html", {
        "rows": rows, "store": store, "stores": stores, "day": day,
        "previous": day - timedelta(days=1), "next": day + timedelta(days=1)})


@login_required
@permission_required("satisfaction.view_dashboard", raise_exception=True)
@reads_from_replica
def report_weekly(request):
    """The weekly follow-up summary per department with verbatim remarks (回访周报)."""
    stores = selectors.stores_for(request.user)
    store = _store(request, stores)
    day = _day(request, "week", timezone.localdate())
    week = day - timedelta(days=day.weekday())
    rows, remarks = selectors.followup_week([store.pk], week)
    if request.GET.get("format") == "xlsx":
        refused = limited(request, EXPORT)
        if refused is not None:
            return refused
        summary = [[r["label"], r["due"], r["reached"], r["rate"], r["answered"], r["satisfied"],
                    r["dissatisfied"], r["share"]] for r in rows]
        verbatim = [[str(sources.DEPARTMENT_LABELS.get(a.department, a.department)),
                     a.answered_on.isoformat(), str(a.task.customer), a.question.text,
                     a.get_rating_display(), a.reason, str(a.caller)] for a in remarks]
        # The verbatim sheet names customers: an export of personal data, logged.
        customer_services.personal_data_export_log(
            user=request.user, customer_ids=sorted({a.task.customer_id for a in remarks}),
            filters=f"{request.path}?store={store.code}&week={week.isoformat()}",
            ip_address=client_ip(request), kind="report")
        title = _("回访周报 %(store)s %(start)s 至 %(end)s") % {
            "store": store.name, "start": week.isoformat(),
            "end": (week + timedelta(days=6)).isoformat()}
        return _xlsx(exports.table_workbook(title, [
            (_("按部门汇总"), [_("部门"), _("应回访"), _("已接通"), _("回访率"), _("评价数"), _("满意"),
                          _("不满意"), _("满意率")], summary),
            (_("客户原话"), [_("部门"), _("日期"), _("客户"), _("问题"), _("评价"), _("客户原话"),
                          _("回访员")], verbatim)]),
            f"weekly-{store.code}-{week.isoformat()}.xlsx")
    return render(request, "satisfaction/report_weekly.html", {
        "rows": rows, "remarks": remarks, "store": store, "stores": stores, "week": week,
        "week_end": week + timedelta(days=6), "previous": week - timedelta(days=7),
        "next": week + timedelta(days=7)})


# Drill-down to the rows behind the follow-up figures ----------------------------------------------

@login_required
@permission_required("satisfaction.view_dashboard", raise_exception=True)
def answers(request):
    """Satisfaction answers of one store and month (behind the satisfied share)."""
    stores = selectors.stores_for(request.user)
    store, period = _store(request, stores), _period(request)
    rows = selectors.answers_for(request.user, store, period)
    if rows is None:
        raise Http404
    if request.GET.get("rating") == "dissatisfied":
        rows = rows.filter(followup_selectors.DISSATISFIED)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "satisfaction/answers.html", {
        "page": page, "store": store, "period": period, "stores": stores})


@login_required
@permission_required("satisfaction.view_dashboard", raise_exception=True)
def followup_calls(request):
    """Follow-up calls due in one store and month (behind the follow-up rate)."""
    stores = selectors.stores_for(request.user)
    store, period = _store(request, stores), _period(request)
    rows = selectors.followup_calls_for(request.user, store, period)
    if rows is None:
        raise Http404
    if request.GET.get("reached") == "0":
        rows = rows.exclude(outcome_kind__in=followup_selectors.REACHED)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "satisfaction/followup_calls.html", {
        "page": page, "store": store, "period": period, "stores": stores})


@login_required
@permission_required("satisfaction.view_dashboard", raise_exception=True)
def renewals(request):
    """Insurance policies due in one store and month (behind the renewal rate)."""
    stores = selectors.stores_for(request.user)
    store, period = _store(request, stores), _period(request)
    rows = selectors.renewals_for(request.user, store, period)
    if request.GET.get("renewed") == "0":
        rows = rows.filter(renewed_here=False)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "satisfaction/renewals.html", {
        "page": page, "store": store, "period": period, "stores": stores,
        "definition": _(customer_selectors.renewal_rate.definition)})


@login_required
@permission_required("satisfaction.view_dashboard", raise_exception=True)
def recalls(request):
    """Customers drawn into the recall campaigns of one store and month (behind the
    recall rate)."""
    stores = selectors.stores_for(request.user)
    store, period = _store(request, stores), _period(request)
    rows = selectors.recalls_for(request.user, store, period)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "satisfaction/recalls.html", {
        "page": page, "store": store, "period": period, "stores": stores,
        "definition": _(followup_selectors.recall_rate.definition)})


# Imports and reports -------------------------------------------------------------------------------

@login_required
@permission_required("satisfaction.view_scoreimport", raise_exception=True)
@throttle(IMPORT)
def import_list(request):
    form = ScoreImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not request.user.has_perm("satisfaction.add_scoreimport"):
            raise PermissionDenied
        if form.is_valid():
            upload = form.cleaned_data["file"]
            score_import = services.score_import_file(
                actor=request.user, name=upload.name, content=upload.read())
            if score_import.status == ScoreImport.Status.IMPORTED:
                messages.success(request, _("导入成功：%(n)s 行。") % {"n": score_import.row_count})
            else:
                messages.error(request, _("文件有误，未导入任何数据。"))
            return redirect("satisfaction:import-detail", score_import.pk)
    imports = selectors.imports_for(request.user)
    page = Paginator(imports, 30).get_page(request.GET.get("page"))
    return render(request, "satisfaction/import_list.html", {"form": form, "page": page})


@login_required
@permission_required("satisfaction.view_scoreimport", raise_exception=True)
def import_detail(request, pk):
    score_import = get_object_or_404(selectors.imports_for(request.user), pk=pk)
    reports = selectors.reports_for(request.user).filter(score_import=score_import)
    return render(request, "satisfaction/import_detail.html",
                  {"score_import": score_import, "reports": reports})


@login_required
@permission_required("satisfaction.view_manufacturerreport", raise_exception=True)
def import_template(request):
    """An example file with the expected columns."""
    content = exports.import_template()
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="manufacturer-scores-template.xlsx"'
    return response


@login_required
@permission_required("satisfaction.view_manufacturerreport", raise_exception=True)
def report_list(request):
    filters = validation.filter_page(ReportFilter, request, selectors.reports_for(request.user))
    page = Paginator(filters.qs.order_by("-period", "store__code", "survey"), 50).get_page(
        request.GET.get("page"))
    return render(request, "satisfaction/report_list.html", {"page": page, "filters": filters})


@login_required
@permission_required("satisfaction.view_manufacturerreport", raise_exception=True)
def report_detail(request, pk):
    report = get_object_or_404(selectors.reports_for(request.user), pk=pk)
    items = report.items.order_by("score", "code")
    weak = {w.code: w for w in report.weak_items.prefetch_related("plans")}
    rows = [(item, weak.get(item.code)) for item in items]
    return render(request, "satisfaction/report_detail.html", {"report": report, "rows": rows})


# Weak items and plans -------------------------------------------------------------------------------

@login_required
@permission_required("satisfaction.view_weakitem", raise_exception=True)
def weak_item_list(request):
    filters = validation.filter_page(WeakItemFilter, request, selectors.weak_items_for(request.user))
    page = Paginator(filters.qs.order_by("-period", "survey", "score"), 50).get_page(
        request.GET.get("page"))
    return render(request, "satisfaction/weak_item_list.html", {"page": page, "filters": filters})


@login_required
@permission_required("satisfaction.view_improvementplan", raise_exception=True)
def plan_list(request):
    filters = validation.filter_page(ImprovementPlanFilter, request,
                                     selectors.plans_for(request.user))
    page = Paginator(filters.qs.order_by("status", "-created_at", "-id"), 50).get_page(
        request.GET.get("page"))
    return render(request, "satisfaction/plan_list.html", {
        "page": page, "filters": filters, "statuses": ImprovementPlan.Status.choices,
        "status": validation.filter_values(filters)["status"]})


@login_required
@permission_required("satisfaction.add_improvementplan", raise_exception=True)
def plan_create(request):
    weak_item = None
    if request.GET.get("weak_item"):
        weak_item = get_object_or_404(selectors.weak_items_for(request.user),
                                      pk=validation.query_int(request.GET, "weak_item"))
    stores = selectors.stores_for(request.user)
    store = weak_item.store if weak_item else _store(request, stores)
    initial = {}
    if weak_item:
        initial = {"title": _("改善：%(item)s") % {"item": weak_item.name},
                   "department": "sales" if weak_item.survey == Survey.CSS else "service",
                   "target_score": weak_item.target,
                   "problem": _("%(month)s %(survey)s 单项“%(item)s”得分 %(score)s，目标 %(target)s。") % {
                       "month": f"{weak_item.period:%Y-%m}", "survey": weak_item.get_survey_display(),
                       "item": weak_item.name, "score": weak_item.score,
                       "target": weak_item.target or "-"}}
    form = PlanForm(request.POST or None, initial=initial, store_ids=[store.pk])
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.improvement_plan_create(actor=request.user, store=store,
                                                    weak_item=weak_item, **form.plan_fields())
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("改善计划已创建。"))
            return redirect("satisfaction:plan-detail", plan.pk)
    return render(request, "satisfaction/plan_form.html",
                  {"form": form, "weak_item": weak_item, "store": store, "plan": None})


@login_required
@permission_required("satisfaction.view_improvementplan", raise_exception=True)
def plan_detail(request, pk):
    plan = get_object_or_404(selectors.plans_for(request.user), pk=pk)
    form = PlanForm(request.POST or None, instance=plan, store_ids=[plan.store_id])
    if request.method == "POST":
        if not request.user.has_perm("satisfaction.change_improvementplan"):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.improvement_plan_update(actor=request.user, plan=plan, **form.plan_fields())
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("已保存。"))
                return redirect("satisfaction:plan-detail", plan.pk)
    return render(request, "satisfaction/plan_detail.html", {
        "plan": plan, "form": form, "steps": ImprovementPlan.Step.choices,
        "countermeasures": plan.countermeasures.select_related("owner"),
        "countermeasure_form": CountermeasureForm(store_ids=[plan.store_id]),
        "done_form": CountermeasureDoneForm(initial={"done_on": timezone.localdate()}),
        "close_form": PlanCloseForm(),
        "history": plan.history.select_related("history_user").order_by("-history_date")[:20],
    })


def _plan_command(request, pk, command):
    plan = get_object_or_404(selectors.plans_for(request.user), pk=pk)
    try:
        command(plan)
    except ValidationError as error:
        for message_list in error.message_dict.values():
            for message in message_list:
                messages.error(request, message)
    except PermissionDenied as error:
        messages.error(request, str(error) or _("没有权限。"))
    return redirect("satisfaction:plan-detail", plan.pk)


@login_required
@permission_required("satisfaction.change_improvementplan", raise_exception=True)
@require_POST
def plan_advance(request, pk):
    return _plan_command(request, pk, lambda plan: services.improvement_plan_advance(
        actor=request.user, plan=plan))


@login_required
@permission_required("satisfaction.approve_improvementplan", raise_exception=True)
@require_POST
def plan_approve(request, pk):
    return _plan_command(request, pk, lambda plan: services.improvement_plan_approve(
        actor=request.user, plan=plan))


@login_required
@permission_required("satisfaction.close_improvementplan", raise_exception=True)
@require_POST
def plan_close(request, pk):
    return _plan_command(request, pk, lambda plan: services.improvement_plan_close(
        actor=request.user, plan=plan, reason=request.POST.get("reason", "")))


@login_required
@permission_required("satisfaction.change_improvementplan", raise_exception=True)
@require_POST
def countermeasure_add(request, pk):
    def command(plan):
        form = CountermeasureForm(request.POST, store_ids=[plan.store_id])
        if not form.is_valid():
            raise ValidationError(dict(form.errors.items()))
        services.countermeasure_add(actor=request.user, plan=plan, **form.cleaned_data)
    return _plan_command(request, pk, command)


@login_required
@permission_required("satisfaction.change_improvementplan", raise_exception=True)
@require_POST
def countermeasure_done(request, pk, cm):
    def command(plan):
        countermeasure = get_object_or_404(Countermeasure, plan=plan, pk=cm)
        form = CountermeasureDoneForm(request.POST)
        if not form.is_valid():
            raise ValidationError(dict(form.errors.items()))
        services.countermeasure_complete(actor=request.user, countermeasure=countermeasure,
                                         **form.cleaned_data)
    return _plan_command(request, pk, command)


# Meetings --------------------------------------------------------------------------------------------

@login_required
@permission_required("satisfaction.view_analysismeeting", raise_exception=True)
def meeting_list(request):
    meetings = selectors.meetings_for(request.user).order_by("status", "-due_on")
    page = Paginator(meetings, 30).get_page(request.GET.get("page"))
    return render(request, "satisfaction/meeting_list.html",
                  {"page": page, "today": timezone.localdate()})


@login_required
@permission_required("satisfaction.view_analysismeeting", raise_exception=True)
def meeting_detail(request, pk):
    meeting = get_object_or_404(selectors.meetings_for(request.user), pk=pk)
    due_form = MeetingDueForm(instance=meeting)
    record_form = MeetingRecordForm(initial={
        "held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "minutes": meeting.minutes,
        "decisions": meeting.decisions, "attendees": meeting.attendees})
    if request.method == "POST" and not request.user.has_perm("satisfaction.change_analysismeeting"):
        raise PermissionDenied
    if request.method == "POST":
        try:
            if "due_on" in request.POST:
                due_form = MeetingDueForm(request.POST, instance=meeting)
                if due_form.is_valid():
                    services.analysis_meeting_update(actor=request.user, meeting=meeting,
                                                     due_on=due_form.cleaned_data["due_on"])
                    messages.success(request, _("已修改召开期限。"))
                    return redirect("satisfaction:meeting-detail", meeting.pk)
            else:
                record_form = MeetingRecordForm(request.POST)
                if record_form.is_valid():
                    services.analysis_meeting_record(actor=request.user, meeting=meeting,
                                                     **record_form.cleaned_data)
                    messages.success(request, _("会议记录已保存。"))
                    return redirect("satisfaction:meeting-detail", meeting.pk)
        except PermissionDenied as error:
            messages.error(request, str(error))
        except ValidationError as error:
            apply_errors(record_form, error)
    agenda = meeting.agenda.prefetch_related("plans").order_by("survey", "score")
    return render(request, "satisfaction/meeting_detail.html", {
        "meeting": meeting, "agenda": agenda, "due_form": due_form, "record_form": record_form})


# Mystery shopping ---------------------------------------------------------------------------------

@login_required
@permission_required("satisfaction.view_mysteryshopcheck", raise_exception=True)
def check_list(request):
    filters = validation.filter_page(MysteryShopCheckFilter, request,
                                     selectors.checks_for(request.user))
    page = Paginator(filters.qs.order_by("-checked_on", "-id"), 50).get_page(
        request.GET.get("page"))
    return render(request, "satisfaction/check_list.html", {"page": page, "filters": filters})


@login_required
@permission_required("satisfaction.view_mysteryshopcheck", raise_exception=True)
def check_detail(request, pk):
    check = get_object_or_404(selectors.checks_for(request.user), pk=pk)
    return render(request, "satisfaction/check_detail.html", {
        "check": check, "results": check.results.select_related("item").order_by("item__order")})


@login_required
@permission_required("satisfaction.add_mysteryshopcheck", raise_exception=True)
def check_create(request):
    stores = selectors.stores_for(request.user)
    items = MysteryShopItem.objects.filter(is_active=True).filter(
        Q(store__isnull=True) | Q(store__in=stores)).order_by("department", "order", "code")
    form = MysteryCheckForm(request.POST or None, stores=stores, items=items,
                            initial={"checked_on": timezone.localdate(), "store": stores.first()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            check = services.mystery_check_record(
                actor=request.user, store=data["store"], kind=data["kind"],
                department=data["department"], checked_on=data["checked_on"], staff=data["staff"],
                results=form.results(), notes=data["notes"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("检查已记录，得分 %(score)s。") % {"score": check.score})
            return redirect("satisfaction:check-detail", check.pk)
    return render(request, "satisfaction/check_form.html", {"form": form})


# Targets ----------------------------------------------------------------------------------------------

@login_required
@permission_required("satisfaction.view_target", raise_exception=True)
def target_list(request):
    stores = selectors.stores_for(request.user)
    targets = Target.objects.filter(Q(store__isnull=True) | Q(store__in=stores)).select_related(
        "store").order_by("measure", "store__code", "period")
    form = TargetForm(request.POST or None, stores=stores)
    if request.method == "POST":
        if not request.user.has_perm("satisfaction.change_target"):
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.target_set(actor=request.user, **data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("目标已保存。"))
                return redirect("satisfaction:target-list")
    return render(request, "satisfaction/target_list.html", {"targets": targets, "form": form})


# Who our customers are ------------------------------------------------------------------------------

def _span(request):
    """The month, quarter or year asked for (?period=2026-05, 2026-Q2 or 2026), else the
    current month in Beijing time; anything else is refused."""
    text = request.GET.get("period") or ""
    if not text:
        return rules.parse_span(f"{timezone.localdate():%Y-%m}")
    try:
        return rules.parse_span(text)
    except ValueError:
        raise validation.refuse("period", _("期间格式应为 2026-05、2026-Q2 或 2026。")) from None


def _analysis_link(name, store, span, **query):
    return _url(name, store=store.pk, period=span.text, **query)


def _analysis_chart_data(data):
    charts = {}
    for breakdown in data.breakdowns:
        charts[breakdown.code] = {
            "title": breakdown.title,
            "labels": [row["label"] for row in breakdown.rows],
            "values": [row["count"] for row in breakdown.rows],
            "links": [row["link"] for row in breakdown.rows],
        }
    return {"charts": charts, "labels": {"customers": _("客户数")}}


@login_required
@permission_required("satisfaction.view_customer_analysis", raise_exception=True)
@reads_from_replica
def customer_analysis(request):
    """Who our customers are: the store's customer base in a month, quarter or year, each
    bar linking to the customers behind it."""
    stores = selectors.stores_for(request.user)
    store, span = _store(request, stores), _span(request)
    data = selectors.customer_analysis(store, span)
    for breakdown in data.breakdowns:
        for row in breakdown.rows:
            row["link"] = _analysis_link("satisfaction:customer-analysis-list", store, span,
                                         breakdown=breakdown.code, key=row["key"] or "-")
    side_labels = ((analysis.SALES, _("销售：成交客户")), (analysis.SERVICE, _("售后：进厂客户")))
    sides = [(side, label, [b for b in data.breakdowns if b.side == side]) for side, label in side_labels]
    return render(request, "satisfaction/customer_analysis.html", {
        "stores": stores, "store": store, "span": span, "data": data, "sides": sides,
        "chart_data": _analysis_chart_data(data),
        "previous": rules.span_shift(span, -1), "next": rules.span_shift(span, 1),
        "computed_at": data.computed_at or timezone.now(),
    })


@login_required
@permission_required("satisfaction.view_customer_analysis", raise_exception=True)
@require_POST
def customer_analysis_refresh(request):
    """Recompute the stored customer analysis of one of the user's stores and periods now."""
    stores = selectors.stores_for(request.user)
    store = get_object_or_404(stores, pk=request.POST.get("store") or 0)
    try:
        span = rules.parse_span(request.POST.get("period") or "")
    except ValueError:
        span = rules.parse_span(f"{timezone.localdate():%Y-%m}")
    services.customer_analysis_refresh(store_ids=[store.pk], spans=[span])
    messages.success(request, _("客户分析已重新计算。"))
    return redirect(f"{reverse('satisfaction:customer-analysis')}?store={store.pk}&period={span.text}")


def _breakdown(request, data):
    breakdown = data.get(request.GET.get("breakdown") or "")
    if breakdown is None:
        raise Http404(_("没有这个分析项。"))
    return breakdown


@login_required
@permission_required("satisfaction.view_customer_analysis", raise_exception=True)
@reads_from_replica
def customer_analysis_list(request):
    """The customers behind one bar, identifiers masked as on the customer list."""
    stores = selectors.stores_for(request.user)
    store, span = _store(request, stores), _span(request)
    code, key = request.GET.get("breakdown") or "", request.GET.get("key") or ""
    if code not in analysis.BREAKDOWNS:
        raise Http404(_("没有这个分析项。"))
    customers = selectors.customers_behind(request.user, store, span, code, "" if key == "-" else key)
    if customers is None:
        raise Http404(_("没有这个分析项。"))
    page = Paginator(customers, 50).get_page(request.GET.get("page"))
    side, title = analysis.BREAKDOWNS[code]
    return render(request, "satisfaction/customer_analysis_list.html", {
        "page": page, "store": store, "span": span, "title": title, "key": key,
        "label": selectors.breakdown_label(code, "" if key == "-" else key),
        "back": _analysis_link("satisfaction:customer-analysis", store, span),
    })


SHEET_NAME = str.maketrans(dict.fromkeys("/\\?*[]:", "-"))  # characters a sheet name may not hold


@login_required
@permission_required("satisfaction.view_customer_analysis", raise_exception=True)
@reads_from_replica
def customer_analysis_export(request):
    """One breakdown (or all of them, without ?breakdown) as CSV or an Excel workbook."""
    stores = selectors.stores_for(request.user)
    store, span = _store(request, stores), _span(request)
    data = selectors.customer_analysis(store, span)
    chosen = [_breakdown(request, data)] if request.GET.get("breakdown") else data.breakdowns
    headers = [_("分析项"), _("分组"), _("客户数"), _("占比（%）")]
    title = _("客户分析 %(store)s %(period)s") % {"store": store.name, "period": span.text}
    name = f"customers-{store.code}-{span.text}" + (f"-{chosen[0].code}" if len(chosen) == 1 else "")
    if request.GET.get("format") == "csv":
        response, writer = csv_response(f"{name}.csv")
        writer.writerow([title])
        writer.writerow(headers)
        for breakdown in chosen:
            for row in breakdown.rows:
                writer.writerow([breakdown.title, row["label"], row["count"],
                                 row["share"] if row["share"] is not None else ""])
        return response
    sheets = [(f"{index} {b.title}".translate(SHEET_NAME), headers,
               [[b.title, row["label"], row["count"], row["share"]] for row in b.rows])
              for index, b in enumerate(chosen, start=1)]
    return _xlsx(exports.table_workbook(title, sheets), f"{name}.xlsx")


# Settings: customer analysis bands -------------------------------------------------------

@login_required
@permission_required("satisfaction.change_customerband", raise_exception=True)
def band_settings(request):
    """The bands of the customer analysis (the group's), one form to change a band
    (?edit=id) or add one, and what changed."""
    from .forms import CustomerBandForm
    from .models import BAND_FIELDS, CustomerBand

    bands = list(CustomerBand.objects.order_by("kind", "order", "lower", "id"))
    source = request.POST if request.method == "POST" else request.GET
    editing = next((b for b in bands if str(b.pk) == source.get("edit")), None)
    form = CustomerBandForm(request.POST if request.method == "POST" else None,
                            instance=editing or CustomerBand())
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in BAND_FIELDS}
        try:
            services.customer_band_save(actor=request.user, band=editing,
                                        note=form.cleaned_data["note"], **data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("已保存分段。"))
            return redirect("satisfaction:band-settings")
    return render(request, "satisfaction/band_settings.html", {
        "bands": bands, "form": form, "editing": editing,
        "changes": selectors.customer_band_changes(),
    })
