"""The general manager reads the satisfaction dashboard in a real browser and drills
down: each figure's link opens the rows behind it, and the rows add up to the figure."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from followups import services
from followups.models import SatisfactionQuestion

from ..browser import open_nav, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def month_of_calls(staff, call_task):
    """Three follow-up calls this month: two reached with answers (one dissatisfied
    answer, which opens a complaint), one still open."""
    caller, today = staff["caller"], timezone.localdate()
    tasks = [call_task("post_delivery_followup", "call", caller, today - timedelta(days=1))
             for _n in range(3)]
    questions = list(SatisfactionQuestion.objects.filter(
        programme__code="post_delivery_followup", is_active=True).order_by("order", "id"))
    services.task_record_outcome(task=tasks[0], actor=caller, outcome="reached",
                                 answers=[{"question": q.pk, "rating": 5} for q in questions])
    services.task_record_outcome(task=tasks[1], actor=caller, outcome="reached", answers=[
        {"question": questions[0].pk, "rating": 4},
        {"question": questions[1].pk, "rating": 2, "reason": "交车等了两个小时"},
        {"question": questions[2].pk, "rating": 5}])
    return tasks


def _card(page, measure):
    return page.locator(f"[data-measure={measure}]")


def _rows(page):
    """The rows of the drill-down table (not the 'no data' line)."""
    return page.locator("main table tbody tr:not(:has(td[colspan]))")


def _back_to_dashboard(page):
    open_nav(page, "满意度", "经理看板")
    expect(page.locator("h1")).to_contain_text("经理看板")


def test_general_manager_reads_the_dashboard_and_drills_down(live_server, device_page, staff,
                                                             month_of_calls):
    page = device_page
    sign_in(page, live_server.url, "gm")
    assert "/satisfaction/" in page.url  # the general manager's home is the dashboard
    # The month shown is computed as the page loads: the calls just made are counted.
    expect(_card(page, "followup_rate")).to_contain_text(re.compile(r"66\.70?%"))
    expect(_card(page, "followup_rate")).to_contain_text("(2/3)")
    expect(_card(page, "satisfied_share")).to_contain_text(re.compile(r"83\.30?%"))
    expect(_card(page, "satisfied_share")).to_contain_text("(5/6)")
    shot(page, "dashboard")

    # Follow-up rate: the calls due this month, and those not reached.
    with page.expect_navigation():
        _card(page, "followup_rate").locator("a").click()
    expect(page.locator("h1")).to_contain_text("应回访电话")
    assert _rows(page).count() == 3
    shot(page, "dashboard-followup-calls")
    with page.expect_navigation():
        page.get_by_role("link", name="只看未接通").click()
    assert _rows(page).count() == 3 - 2

    # Satisfied share: every answer, the satisfied ones and the dissatisfied one.
    _back_to_dashboard(page)
    with page.expect_navigation():
        _card(page, "satisfied_share").locator("a").click()
    expect(page.locator("h1")).to_contain_text("满意度结果")
    ratings = _rows(page).locator("td:nth-child(4)").all_inner_texts()
    assert len(ratings) == 6
    assert sum(r in ("非常满意", "满意") for r in ratings) == 5
    assert page.locator("main tr.table-danger").count() == 1
    shot(page, "dashboard-answers")

    # The department table's dissatisfied count links to those answers.
    _back_to_dashboard(page)
    link = page.locator("[data-testid=by-department] td:last-child a").first
    count = int(link.inner_text())
    assert count == 1
    with page.expect_navigation():
        link.click()
    assert _rows(page).count() == count
    assert "交车等了两个小时" in _rows(page).first.inner_text()

    # Complaints: the dissatisfied answer opened one, still open on the board.
    _back_to_dashboard(page)
    line = page.locator("[data-testid=complaints] .d-flex", has_text="未结案").locator("a")
    open_count = int(line.inner_text())
    assert open_count == 1
    with page.expect_navigation():
        line.click()
    expect(page.locator("[data-testid=complaint-row]")).to_have_count(open_count)
    shot(page, "dashboard-open-complaints")
