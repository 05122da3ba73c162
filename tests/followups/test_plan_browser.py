"""The call plan in a real browser: "select all" ticks every open call (under the site's
CSP, which blocks inline handlers), and one click hands them all to a caller."""

import pytest

from followups.models import Task
from tests.browser import sign_in

from .helpers import make_calls

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_select_all_then_reassign_every_open_call(live_server, page, store, cr_manager, caller,
                                                  specialist):
    calls = make_calls(store, 5)
    csp_errors = []
    page.on("console", lambda m: m.type == "error" and csp_errors.append(m.text))
    sign_in(page, live_server.url, "crm")
    page.goto(f"{live_server.url}/followups/plan/")
    boxes = page.locator("input[type=checkbox][name=task]")
    assert boxes.count() == 5
    page.check("input[data-select-all=task]")
    assert all(boxes.nth(i).is_checked() for i in range(5))
    page.select_option("#assignee", str(specialist.pk))
    with page.expect_navigation():
        page.click("text=分派所选任务")
    assert set(Task.objects.filter(pk__in=[c.pk for c in calls])
               .values_list("assignee", flat=True)) == {specialist.pk}
    page.uncheck("input[data-select-all=task]")
    assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
    assert csp_errors == []
