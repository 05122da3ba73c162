"""In headless Chromium on a phone-sized and a desktop screen: a round with a failure and a photo,
saved item by item (also through a dropped connection), then the responsible person
fixes it with an after photo and the CR side re-checks it."""

import pytest
from django.utils import timezone

from inspections.models import Area, Inspection, Rectification

from ..browser import htmx_ready, shot, sign_in
from .factories import image_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHOTO = {"name": "snap.jpg", "mimeType": "image/jpeg", "buffer": image_bytes((1200, 900))}


@pytest.fixture
def bar_round(sequences_after_restore, store, checklists):
    return Inspection.objects.create(store=store, template=checklists[Area.BAR], area=Area.BAR,
                                     day=timezone.localdate(), scheduled_for=timezone.now())


def test_round_with_failure_then_fix(live_server, device_page, bar_round, specialist, consultant,
                                     cr_manager):
    """On a phone (the inspector's usual screen) and on a desktop."""
    page = device_page
    sign_in(page, live_server.url, specialist.username)
    page.goto(f"{live_server.url}/inspections/")
    page.locator("[data-testid=round]").first.click()
    page.click("[data-testid=start]")
    items = page.locator("[data-testid=item]")
    assert items.count() == 3

    first = items.nth(0)
    result_id = first.get_attribute("data-result")
    first.locator("[data-testid=answer-fail]").click()
    page.wait_for_selector(f"#item-{result_id}[data-outcome=fail]")
    htmx_ready(page, f"#item-{result_id} form[hx-trigger=change]")
    first = page.locator("[data-testid=item]").nth(0)
    photo_input = first.locator("[data-testid=photo-input]")
    assert photo_input.get_attribute("accept") == "image/*"
    assert photo_input.get_attribute("capture") == "environment"
    with page.expect_response(lambda r: "/answer/" in r.url):
        first.locator("[data-testid=responsible]").select_option(str(consultant.pk))
    chosen = f"#item-{result_id} [data-testid=responsible] option[value='{consultant.pk}'][selected]"
    page.wait_for_selector(chosen, state="attached")
    htmx_ready(page, "form[hx-post]")
    with page.expect_response(lambda r: "/photo/" in r.url):
        page.locator("[data-testid=item]").nth(0).locator("[data-testid=photo-input]").set_input_files(PHOTO)
    page.wait_for_selector("[data-testid=photos] img")
    htmx_ready(page, "form[hx-post]")
    for index in (1, 2):
        with page.expect_response(lambda r: "/answer/" in r.url):
            page.locator("[data-testid=item]").nth(index).locator("[data-testid=answer-pass]").click()
    assert page.locator("[data-answered]").inner_text() == "3"
    shot(page, "inspection-round")
    page.click("[data-testid=complete]")
    page.wait_for_selector("[data-testid=score]")
    assert page.locator("[data-testid=score]").inner_text() == "71.4"  # bar weights 2, 2, 3: 5 of 7

    rectification = Rectification.objects.get(inspection=bar_round)
    assert rectification.responsible_id == consultant.pk

    shot(page, "inspection-result")

    sign_in(page, live_server.url, consultant.username)
    page.goto(f"{live_server.url}/inspections/mine/")
    card = page.locator("[data-testid=rectification]")
    assert card.count() == 1
    shot(page, "inspection-my-rectifications")
    card.locator("[data-testid=after-photo]").set_input_files(PHOTO)
    with page.expect_navigation():
        card.locator("[data-testid=fix]").click()
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.FIXED

    sign_in(page, live_server.url, cr_manager.username)
    page.goto(f"{live_server.url}/inspections/rectifications/{rectification.pk}/")
    with page.expect_navigation():
        page.click("[data-testid=verify-pass]")
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.VERIFIED
    shot(page, "inspection-verified")


def test_answers_survive_a_dropped_connection(live_server, phone_page, bar_round, specialist):
    page = phone_page
    sign_in(page, live_server.url, specialist.username)
    page.goto(f"{live_server.url}/inspections/rounds/{bar_round.pk}/")
    page.click("[data-testid=start]")
    page.context.set_offline(True)
    page.locator("[data-testid=item]").nth(0).locator("[data-testid=answer-pass]").click()
    page.wait_for_selector("#offline-banner:not(.d-none)")
    assert bar_round.results.exclude(outcome="").count() == 0
    with page.expect_response(lambda r: "/answer/" in r.url):
        page.context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#offline-banner.d-none", state="attached")
    assert list(bar_round.results.exclude(outcome="").values_list("outcome", flat=True)) == ["pass"]
