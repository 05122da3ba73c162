"""A caller works through the day's worklist in a real browser: satisfied with answers
(a click), unreachable (a number key), booked with an appointment (a number key after
the date); the progress at the top moves with each call and the cards change in place."""

from datetime import timedelta

import pytest
from django.utils import timezone

from followups.models import Appointment, SatisfactionAnswer, Task

from ..browser import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _progress(page):
    return int(page.locator("#progress [role=progressbar]").get_attribute("aria-valuenow"))


def _record(page, task, action):
    """Run `action` (a click or a key) on a card and wait until its answer is swapped in
    and settled (the old card element is gone, the new one in its place)."""
    page.evaluate("id => { document.getElementById(id).dataset.before = '1'; }", f"task-{task.pk}")
    with page.expect_response(lambda r: f"/{task.pk}/outcome/" in r.url and r.ok):
        action()
    page.wait_for_selector(f"#task-{task.pk}:not([data-before])")
    page.wait_for_function("() => !document.querySelector('.htmx-settling, .htmx-request')")


def test_caller_works_through_the_worklist(live_server, device_page, staff, call_task):
    page, caller = device_page, staff["caller"]
    today = timezone.localdate()
    delivered = call_task("post_delivery_followup", "call", caller, today - timedelta(days=1))
    periodic = call_task("periodic_service", "call-7", caller, today + timedelta(days=7))
    first = call_task("first_service", "call-14", caller, today + timedelta(days=14))

    sign_in(page, live_server.url, "caller")
    assert page.url.endswith("/followups/")  # a caller's home is the worklist
    cards = page.locator(".task-card")
    assert cards.evaluate_all("cs => cs.map(c => c.id)") == [
        f"task-{delivered.pk}", f"task-{periodic.pk}", f"task-{first.pk}"]
    assert _progress(page) == 0
    assert "待处理 3 个" in page.locator("#progress").inner_text()
    shot(page, "worklist-start")

    # 1. Reached, satisfied: an answer per question, then a click on the outcome.
    card = page.locator(f"#task-{delivered.pk}")
    for select in card.locator("select[name^=q_]").all():
        select.select_option(str(SatisfactionAnswer.Rating.VERY_SATISFIED))
    card.locator("input[name=notes]").fill("客户对交车很满意")
    _record(page, delivered, lambda: card.locator("button[value=reached]").click())
    assert "接通，回访完成" in page.locator(f"#task-{delivered.pk}").inner_text()
    assert _progress(page) == 33
    assert "今日已完成 1 个，待处理 2 个" in page.locator("#progress").inner_text()
    shot(page, "worklist-satisfied")

    # 2. Unreachable with number key 5 on the focused card.
    page.locator(f"#task-{periodic.pk}").focus()
    _record(page, periodic, lambda: page.keyboard.press("5"))
    periodic.refresh_from_db()
    text = page.locator(f"#task-{periodic.pk}").inner_text()
    assert "无人接听" in text
    if periodic.status == Task.Status.RETRY:  # tried again on the next working day
        assert "已安排" in text and "重拨" in text
    else:
        assert page.locator(f"#task-{periodic.pk} form").count() == 0
    assert _progress(page) == 50 if periodic.status == Task.Status.RETRY else 67
    # The next open card has the focus, ready for the next key.
    page.wait_for_function(f"() => document.activeElement && document.activeElement.id === 'task-{first.pk}'")

    # 3. Booked with number key 1 after choosing the date.
    booked_for = today + timedelta(days=3)
    page.locator(f"#d{first.pk}").fill(booked_for.isoformat())
    page.locator(f"#task-{first.pk}").focus()
    _record(page, first, lambda: page.keyboard.press("1"))
    assert "接通，已预约" in page.locator(f"#task-{first.pk}").inner_text()
    assert _progress(page) == 100
    assert "待处理 0 个" in page.locator("#progress").inner_text()
    shot(page, "worklist-done")

    assert list(SatisfactionAnswer.objects.filter(task=delivered).values_list("rating", flat=True)) \
        == [5, 5, 5]
    assert Appointment.objects.get(task=first).booked_for == booked_for
    # Tomorrow's worklist no longer holds today's calls: the page starts empty again.
    page.reload()
    assert page.locator(".task-card").count() == 0
    assert page.get_by_text("今天没有待回访的电话。").is_visible()
