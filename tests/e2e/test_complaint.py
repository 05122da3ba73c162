"""The CR manager takes a complaint from logging to verified in a real browser: the
nav's quick log, the first response by a contact, the hand-off to the service
department, the department manager's feedback, the resolution and the satisfied call
back that closes it. The complaint page offers the next action as one button at each
step."""

import re

import pytest
from playwright.sync_api import expect

from complaints.models import Complaint

from ..browser import htmx_ready, open_menu, open_nav, shot, sign_in
from ..followups.factories import VehicleFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _next_action(page, label, status):
    """The page shows `status` and offers `label` as its one next-action button."""
    expect(page.locator("[data-testid=status]")).to_have_text(status)
    expect(page.locator("[data-testid=next-action]")).to_have_text(label)


def _act(page, action, fill):
    """Open the next action's form, fill it, send it; the page reloads with the result."""
    htmx_ready(page, f"#action-{action} form")
    if not page.locator(f"#action-{action}.show").count():  # a lone action is open already
        page.click("[data-testid=next-action]")
    page.wait_for_selector(f"#action-{action}.collapse.show")  # unfolded, not still moving
    form = page.locator(f"#action-{action} form")
    expect(form).to_be_visible()
    fill(form)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_complaint_from_logging_to_verified(live_server, device_page, staff, store):
    page = device_page
    car = VehicleFactory(store=store, customer__name="张三", plate="沪A12345")

    # Logged from the nav's quick log: find the customer, describe the problem.
    sign_in(page, live_server.url, "crm")
    open_nav(page, "投诉", "登记投诉")
    page.fill("input[name=q]", "张三")
    with page.expect_navigation():
        page.locator("input[name=q]").press("Enter")
    with page.expect_navigation():
        page.locator("[data-testid=customer-matches] a", has_text="张三").click()
    page.select_option("#id_vehicle", str(car.pk))
    page.select_option("#id_category", Complaint.Category.SERVICE_QUALITY)
    page.fill("#id_description", "保养后发动机有异响")
    shot(page, "complaint-log")
    with page.expect_navigation():
        page.get_by_role("button", name="登记并开始计时").click()
    assert re.search(r"/complaints/\d+/$", page.url)
    complaint = Complaint.objects.get(customer=car.customer)
    detail = page.url
    _next_action(page, "登记首次响应", "待响应")
    shot(page, "complaint-new")

    # First response: a real contact with the customer.
    def respond(form):
        form.locator("select[name=respond-channel]").select_option("phone")
        form.locator("textarea[name=respond-note]").fill("已致电客户致歉，约定今天检查")
    _act(page, "respond", respond)
    _next_action(page, "转交责任部门", "已响应")

    # Hand-off to the service department: its manager is chosen by the department.
    _act(page, "hand_off", lambda form: form.locator("select[name=hand_off-department]")
         .select_option(Complaint.Department.SERVICE))
    expect(page.locator("[data-testid=status]")).to_have_text("待部门反馈")
    complaint.refresh_from_db()
    assert complaint.department_manager == staff["svc"]
    shot(page, "complaint-handed-off")

    # The service manager reports back, from the board (their home page).
    sign_in(page, live_server.url, "svc")
    assert page.url.endswith("/complaints/")
    row = page.locator("[data-testid=complaint-row]", has_text="张三")
    with page.expect_navigation():
        row.locator("a").first.click()
    _next_action(page, "填写部门反馈", "待部门反馈")
    _act(page, "department_feedback", lambda form: form.locator(
        "textarea[name=department_feedback-feedback]").fill("更换正时皮带张紧轮，试车无异响"))
    expect(page.locator("[data-testid=status]")).to_have_text("部门已反馈")
    expect(page.locator("[data-testid=next-action]")).to_have_count(0)  # nothing more for them
    shot(page, "complaint-feedback")

    # Back to the CR manager, who is told of the feedback: resolve, then call back.
    sign_in(page, live_server.url, "crm")
    open_menu(page)
    with page.expect_navigation():
        page.locator("#bell").click()
    with page.expect_navigation():
        page.locator("#notifications a", has_text="部门已反馈").first.click()
    assert page.url == detail
    _next_action(page, "登记解决", "部门已反馈")
    _act(page, "resolve", lambda form: form.locator("textarea[name=resolve-resolution]")
         .fill("免费更换张紧轮并赠送一次保养"))
    _next_action(page, "登记回访", "已解决待回访")

    def callback(form):
        form.locator("input[name=callback-satisfied][value=yes]").check()
        form.locator("textarea[name=callback-note]").fill("客户表示满意")
    _act(page, "callback", callback)
    expect(page.locator("[data-testid=status]")).to_have_text("已结案")
    expect(page.locator("[data-testid=next-action]")).to_have_count(0)
    expect(page.get_by_text("客户已满意，投诉已结案。")).to_be_visible()
    shot(page, "complaint-closed")

    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.CLOSED
    assert list(complaint.events.values_list("kind", flat=True).order_by("id")) == [
        "opened", "responded", "handed_off", "department_feedback", "resolved",
        "callback_satisfied"]
