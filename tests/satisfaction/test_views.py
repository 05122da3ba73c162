"""Pages: the dashboard (fixed query count, scoping, drill-down), the group view, the
export, and 404 for another store's records."""

import io
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from crm_site.roles import Role
from satisfaction import services
from satisfaction.models import AnalysisMeeting, ImprovementPlan, MonthlyFigure, WeakItem

from .factories import import_scores, ms_check

pytestmark = pytest.mark.django_db


def _period():
    return timezone.localdate().replace(day=1)


def _month_text(period):
    return f"{period:%Y-%m}"


def _load(store, actor, staff, n, period):
    """n items per survey, n mystery checks, n plans, n follow-up calls and complaints."""
    month = _month_text(period)
    scores = {f"S{i:02d}": 900 + i * 5 for i in range(n)}
    import_scores(actor, store, "CSS", month, scores)
    import_scores(actor, store, "CSI", month, scores)
    for i in range(n):
        ms_check(actor, store, staff, [10, i % 11], kind="open", checked_on=period)
    for weak in WeakItem.objects.filter(store=store)[:n]:
        services.improvement_plan_create(actor=actor, store=store, title=f"计划{weak.code}",
                                         department="sales", owner=staff, weak_item=weak)
    from complaints.services import complaint_open
    from customers.services import customer_create
    from followups.models import Programme, Task

    programme = Programme.objects.get(code="post_service_followup")
    step = programme.steps.first()
    for i in range(n):
        k = next(_SEQ)
        customer = customer_create(store=store, name=f"客户{k}", mobile=f"139{k:08d}")
        Task.objects.create(store=store, programme=programme, programme_code=programme.code,
                            step=step, customer=customer, due_on=period, offset_days=step.offset_days,
                            planned_on=period + timedelta(days=1), channel="call", status="done",
                            outcome_kind="reached")
        complaint_open(actor=actor, customer=customer, channel="phone", category="price",
                       description="价格", received_at=timezone.now() - timedelta(minutes=5))


_SEQ = iter(range(10**6))


def _queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_dashboard_runs_a_fixed_number_of_queries(client, cr_manager, sales_manager, store):
    client.force_login(cr_manager)
    period = _period()
    url = f"{reverse('satisfaction:dashboard')}?store={store.pk}&period={_month_text(period)}"
    _load(store, cr_manager, sales_manager, 1, period)
    few = _queries(client, url)
    _load(store, cr_manager, sales_manager, 20, rules_previous(period))
    _load(store, cr_manager, sales_manager, 20, period)
    many = _queries(client, url)
    assert few == many
    assert many < 40


def rules_previous(period):
    from satisfaction.rules import add_months

    return add_months(period, -1)


def test_group_view_runs_a_fixed_number_of_queries(client, make_user, store, other_store,
                                                   sales_manager):
    gm = make_user(Role.GENERAL_MANAGER, store, other_store)
    client.force_login(gm)
    url = f"{reverse('satisfaction:group')}?period={_month_text(_period())}"
    few = _queries(client, url)
    _load(store, gm, sales_manager, 5, _period())
    many = _queries(client, url)
    assert few == many
    response = client.get(url)
    assert store.name in response.content.decode() and other_store.name in response.content.decode()


def test_dashboard_shows_figures_charts_and_not_applicable(manager_client, cr_manager, store):
    import_scores(cr_manager, store, "CSS", _month_text(_period()), {"S01": 990, "S02": 930})
    response = manager_client.get(reverse("satisfaction:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="dashboard-data"' in html
    assert "satisfaction/dashboard.js" in html
    assert "不适用" in html  # nothing due for follow-ups: not applicable, not 0 %
    assert "项目S02" in html
    data = response.context["chart_data"]
    assert data["trends"]["css"]["values"][-1] == 950.0
    assert data["trends"]["css"]["targets"][-1] == 950.0


def test_dashboard_picker_takes_a_month_and_steps_a_month_at_a_time(manager_client, store):
    body = manager_client.get(f"{reverse('satisfaction:dashboard')}?store={store.pk}&period=2026-01"
                              ).content.decode()
    assert 'type="month" name="period" id="pick-period" value="2026-01"' in body
    assert f'href="?store={store.pk}&amp;period=2025-12">‹ 2025-12</a>' in body
    assert f'href="?store={store.pk}&amp;period=2026-02">2026-02 ›</a>' in body


def test_cr_manager_lands_on_the_dashboard(manager_client):
    response = manager_client.get(reverse("home"))
    assert response["Location"] == reverse("satisfaction:dashboard")


def test_another_stores_dashboard_is_404(manager_client, other_store):
    response = manager_client.get(f"{reverse('satisfaction:dashboard')}?store={other_store.pk}")
    assert response.status_code == 404


def test_another_stores_records_are_404_and_never_listed(client, cr_manager, other_manager,
                                                         store, other_store):
    import_scores(other_manager, other_store, "CSS", "2026-05", {"S01": 900, "S02": 990})
    weak = WeakItem.objects.get(code="S01")
    plan = services.improvement_plan_create(actor=other_manager, store=other_store, title="B店计划",
                                            department="sales", owner=other_manager, weak_item=weak)
    report = weak.report
    meeting = AnalysisMeeting.objects.get()
    client.force_login(cr_manager)
    for name, pk in [("plan-detail", plan.pk), ("report-detail", report.pk),
                     ("meeting-detail", meeting.pk), ("import-detail", report.score_import_id)]:
        assert client.get(reverse(f"satisfaction:{name}", args=[pk])).status_code == 404, name
    assert client.get(f"{reverse('satisfaction:plan-create')}?weak_item={weak.pk}").status_code == 404
    for name in ("plan-list", "report-list", "weak-item-list", "meeting-list", "import-list"):
        html = client.get(reverse(f"satisfaction:{name}")).content.decode()
        assert "B店" not in html, name
    group = client.get(reverse("satisfaction:group")).content.decode()
    assert "B店" not in group


def test_roles_without_the_dashboard_are_refused(client, caller):
    client.force_login(caller)
    assert client.get(reverse("satisfaction:dashboard")).status_code == 403
    assert client.get(reverse("satisfaction:group")).status_code == 403


def test_monthly_report_export(manager_client, cr_manager, sales_manager, store):
    period = _period()
    import_scores(cr_manager, store, "CSS", _month_text(period), {"S01": 990, "S02": 930})
    ms_check(cr_manager, store, sales_manager, [10, 9], checked_on=period)
    response = manager_client.get(
        f"{reverse('satisfaction:export-monthly')}?store={store.pk}&period={_month_text(period)}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames[:2] == ["指标", "单项得分"]
    values = [cell.value for row in workbook["单项得分"].iter_rows() for cell in row]
    assert "项目S02" in values
    ranking = [cell.value for row in workbook["员工排名"].iter_rows() for cell in row]
    assert str(sales_manager) in ranking


def test_monthly_report_in_english_has_sheet_names_excel_accepts(manager_client, store):
    manager_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = manager_client.get(
        f"{reverse('satisfaction:export-monthly')}?store={store.pk}&period={_month_text(_period())}")
    workbook = load_workbook(io.BytesIO(response.content))
    assert "Weak items and plans" in workbook.sheetnames
    assert all(len(name) <= 31 for name in workbook.sheetnames)


def test_upload_page_reports_bad_rows(manager_client, store):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .factories import csv_bytes

    bad = csv_bytes([[store.code, "CSS", "2026-05", "S01", "项目", "abc", "", "", "", "", ""]])
    response = manager_client.post(reverse("satisfaction:import-list"),
                                   {"file": SimpleUploadedFile("bad.csv", bad)}, follow=True)
    html = response.content.decode()
    assert "未导入任何数据" in html
    assert 'data-testid="import-errors"' in html


def test_plan_pages_walk_the_steps(client, cr_manager, sales_manager, store):
    import_scores(cr_manager, store, "CSS", "2026-05", {"S01": 990, "S02": 930})
    weak = WeakItem.objects.get(code="S02")
    client.force_login(sales_manager)
    form = client.get(f"{reverse('satisfaction:plan-create')}?weak_item={weak.pk}")
    assert form.status_code == 200
    response = client.post(f"{reverse('satisfaction:plan-create')}?weak_item={weak.pk}", {
        "title": "交车讲解", "department": "sales", "owner": sales_manager.pk,
        "problem": "得分低"})
    plan = ImprovementPlan.objects.get()
    assert response["Location"] == reverse("satisfaction:plan-detail", args=[plan.pk])
    client.post(reverse("satisfaction:plan-advance", args=[plan.pk]))
    plan.refresh_from_db()
    assert plan.step == 2
    client.post(reverse("satisfaction:plan-close", args=[plan.pk]), {"reason": "x"})
    plan.refresh_from_db()
    assert plan.is_open  # a department head may not close it


def test_mystery_check_form(manager_client, cr_manager, sales_manager, store):
    from satisfaction.models import MysteryShopCheck, MysteryShopItem

    items = list(MysteryShopItem.objects.filter(department="sales").order_by("order")[:2])
    response = manager_client.post(reverse("satisfaction:check-create"), {
        "store": store.pk, "kind": "covert", "department": "sales",
        "checked_on": date.today().isoformat(), "staff": sales_manager.pk,
        f"item_{items[0].pk}": "10", f"item_{items[1].pk}": "5"})
    check = MysteryShopCheck.objects.get()
    assert response["Location"] == reverse("satisfaction:check-detail", args=[check.pk])
    assert check.score == 75


@pytest.mark.parametrize("name", ["import-list", "report-list", "weak-item-list", "plan-list",
                                  "meeting-list", "check-list", "check-create", "target-list",
                                  "answers", "followup-calls", "import-template",
                                  "report-daily", "report-weekly"])
def test_pages_open(manager_client, name):
    assert manager_client.get(reverse(f"satisfaction:{name}")).status_code == 200


@pytest.mark.parametrize(("utc", "expected"), [
    ("2026-05-31T15:59:59+00:00", "2026-05"),  # 23:59:59 in Beijing
    ("2026-05-31T16:00:00+00:00", "2026-06"),  # midnight in Beijing
])
def test_dashboard_opens_on_the_beijing_month(manager_client, utc, expected):
    from datetime import datetime

    import time_machine

    with time_machine.travel(datetime.fromisoformat(utc), tick=False):
        response = manager_client.get(reverse("satisfaction:dashboard"))
    assert f"{response.context['period']:%Y-%m}" == expected


def test_dashboard_month_is_live_and_its_trend_reads_the_summary(client, cr_manager, sales_manager,
                                                                   store):
    """The month shown is computed now, so its cards and panels equal the rows behind them
    even right after a change; the trend's earlier months come from the stored summary."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    client.force_login(cr_manager)
    period = _period()
    previous = rules_previous(period)
    url = f"{reverse('satisfaction:dashboard')}?store={store.pk}&period={_month_text(period)}"
    _load(store, cr_manager, sales_manager, 1, period)
    _load(store, cr_manager, sales_manager, 1, previous)
    stamp = datetime(2026, 1, 2, 3, 4, tzinfo=ZoneInfo("Asia/Shanghai"))
    services.figures_refresh(periods=[previous, period], now=stamp)
    few = _queries(client, url)
    _load(store, cr_manager, sales_manager, 10, period)
    assert _queries(client, url) == few
    html = client.get(url).content.decode()
    assert "2026-01-02 03:04" not in html  # the month shown was computed now
    panel = client.get(url).context["data"].complaint_summary["totals"]["received"]
    _load(store, cr_manager, sales_manager, 2, period)
    assert client.get(url).context["data"].complaint_summary["totals"]["received"] == panel + 2
    trend = client.get(url).context["data"].trend
    stored = {row.measure: row.value for row in
              MonthlyFigure.objects.filter(store=store, period=previous)}
    assert stored  # the floors' figures (follow-ups, complaints, inspections) are summarised
    _load(store, cr_manager, sales_manager, 3, previous)  # not in the trend until the next refresh
    data = client.get(url).context["data"]
    for measure, value in stored.items():
        assert data.trend[measure] == trend[measure]
        assert data.trend[measure][data.months.index(previous)] == value


class TestReports:
    def _calls(self, store, caller, day):
        from customers.services import customer_create
        from followups.models import CallAttempt, Outcome, Programme, SatisfactionAnswer, Task

        programme = Programme.objects.get(code="post_service_followup")
        step = programme.steps.first()
        question = programme.questions.first()
        for i, (code, rating, reason) in enumerate([("reached", 2, "等太久"), ("no_answer", None, ""),
                                                    ("booked", 5, "很好")]):
            k = next(_SEQ)
            customer = customer_create(store=store, name=f"客户{k}", mobile=f"137{k:08d}")
            outcome = Outcome.objects.get(code=code)
            task = Task.objects.create(store=store, programme=programme, programme_code=programme.code,
                                       step=step, customer=customer, due_on=day, offset_days=0,
                                       planned_on=day, channel="call", status="done",
                                       outcome_kind=outcome.kind)
            CallAttempt.objects.create(task=task, number=1, caller=caller, outcome=outcome,
                                       called_at=timezone.make_aware(
                                           datetime_at(day, 10 + i)))
            if rating:
                SatisfactionAnswer.objects.create(
                    task=task, question=question, store=store, programme_code=programme.code,
                    department="service", rating=rating, reason=reason, answered_on=day,
                    caller=caller)

    def test_daily_report_per_caller(self, manager_client, store, caller,
                                     django_capture_on_commit_callbacks):
        day = timezone.localdate()
        with django_capture_on_commit_callbacks(execute=False):
            self._calls(store, caller, day)
        response = manager_client.get(reverse("satisfaction:report-daily"),
                                      {"store": store.pk, "day": day.isoformat()})
        row = response.context["rows"][0]
        assert (row["calls"], row["reached"], row["booked"], row["unreachable"]) == (3, 2, 1, 1)
        assert (row["answered"], row["dissatisfied"]) == (2, 1)
        export = manager_client.get(reverse("satisfaction:report-daily"),
                                    {"store": store.pk, "day": day.isoformat(), "format": "xlsx"})
        sheet = load_workbook(io.BytesIO(export.content)).active
        assert any(str(caller) == cell.value for r in sheet.iter_rows() for cell in r)

    def test_weekly_summary_with_verbatim_remarks(self, manager_client, store, caller,
                                                  django_capture_on_commit_callbacks):
        day = timezone.localdate()
        with django_capture_on_commit_callbacks(execute=False):
            self._calls(store, caller, day)
        response = manager_client.get(reverse("satisfaction:report-weekly"),
                                      {"store": store.pk, "week": day.isoformat()})
        html = response.content.decode()
        assert "“等太久”" in html and "“很好”" in html
        service = next(r for r in response.context["rows"] if r["department"] == "service")
        assert (service["due"], service["reached"], service["answered"]) == (3, 2, 2)
        export = manager_client.get(reverse("satisfaction:report-weekly"),
                                    {"store": store.pk, "week": day.isoformat(), "format": "xlsx"})
        workbook = load_workbook(io.BytesIO(export.content))
        remarks = [c.value for r in workbook.worksheets[1].iter_rows() for c in r]
        assert "等太久" in remarks
        from customers.models import PersonalDataExport

        logged = PersonalDataExport.objects.get(kind="report")  # the sheet names customers
        assert logged.row_count >= 1 and "week=" in logged.filters


def datetime_at(day, hour):
    from datetime import datetime, time

    return datetime.combine(day, time(hour))
