"""The board in a real browser: the countdown ticks from its data attribute and turns
the row yellow the second the warning is due, red the second the deadline passes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints import services
from crm_site.roles import Role

from .factories import CustomerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_countdown_changes_colour_on_time(live_server, page, store, make_user):
    caller = make_user(Role.CALLER, store, username="li")
    now = timezone.now().replace(microsecond=0)
    lead = timedelta(seconds=20)
    # One complaint's warning falls due in 20 seconds, the other's deadline passes then.
    services.complaint_open(actor=caller, customer=CustomerFactory(store=store, name="甲"),
                            channel="phone", category="price", description="预警",
                            received_at=now - timedelta(minutes=24) + lead)
    services.complaint_open(actor=caller, customer=CustomerFactory(store=store, name="乙"),
                            channel="phone", category="price", description="超时",
                            received_at=now - timedelta(minutes=30) + lead)
    flip = now + lead
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "li")
    page.fill("#id_password", "Secret-pass-42")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/complaints/")
    rows = page.locator("[data-testid=complaint-row]")
    assert rows.count() == 2
    states = rows.evaluate_all("rows => rows.map(r => r.dataset.state)")
    assert timezone.now() < flip, "the machine was too slow to see the page before the edge"
    assert states == ["warning", "in_time"]  # the one about to breach is in its warning
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=complaint-row]')]"
        ".map(r => r.dataset.state).join() === 'breached,warning'", timeout=60_000)
    # Not before the edge (the deadline itself is still in time: breached one second later).
    assert timezone.now() >= flip
    text = page.locator(".countdown").first.inner_text()
    assert text.startswith("-00:00:0")
