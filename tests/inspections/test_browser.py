"""In headless Chromium on a phone-sized screen: a round with a failure and a photo,
saved item by item (also through a dropped connection), then the responsible person
fixes it with an after photo and the CR side re-checks it."""

from pathlib import Path

import pytest
from django.utils import timezone

from inspections.models import Area, Inspection, Rectification

from .factories import image_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHOTO = {"name": "snap.jpg", "mimeType": "image/jpeg", "buffer": image_bytes((1200, 900))}


SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def shot(page, name):
    """Save the phone screen as it is now under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base, username):
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "Secret-pass-42")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def htmx_ready(page, selector):
    """Wait until htmx has wired up the swapped-in element, so a change is not lost."""
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(e => e['htmx-internal-data'] "
        "&& e['htmx-internal-data'].initHash)", arg=selector)


@pytest.fixture
def _sequences_after_restore(live_server):
    """When the migrated rows are put back by a flush that reset the id sequences, move
    the sequences of this app's tables past the restored ids before adding rows."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    models = list(apps.get_app_config("inspections").get_models())
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


@pytest.fixture
def bar_round(_sequences_after_restore, store, checklists):
    return Inspection.objects.create(store=store, template=checklists[Area.BAR], area=Area.BAR,
                                     day=timezone.localdate(), scheduled_for=timezone.now())


def test_round_with_failure_then_fix_on_a_phone(live_server, phone_page, bar_round, specialist, consultant,
                                                 cr_manager):
    page = phone_page
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
    shot(page, "inspection-round-phone")
    page.click("[data-testid=complete]")
    page.wait_for_selector("[data-testid=score]")
    assert page.locator("[data-testid=score]").inner_text() == "71.4"  # bar weights 2, 2, 3: 5 of 7

    rectification = Rectification.objects.get(inspection=bar_round)
    assert rectification.responsible_id == consultant.pk

    shot(page, "inspection-result-phone")

    sign_in(page, live_server.url, consultant.username)
    page.goto(f"{live_server.url}/inspections/mine/")
    card = page.locator("[data-testid=rectification]")
    assert card.count() == 1
    shot(page, "inspection-my-rectifications-phone")
    card.locator("[data-testid=after-photo]").set_input_files(PHOTO)
    card.locator("[data-testid=fix]").click()
    page.wait_for_load_state()
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.FIXED

    sign_in(page, live_server.url, cr_manager.username)
    page.goto(f"{live_server.url}/inspections/rectifications/{rectification.pk}/")
    page.click("[data-testid=verify-pass]")
    page.wait_for_load_state()
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.VERIFIED


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
