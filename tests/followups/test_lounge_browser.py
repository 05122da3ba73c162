"""The lounge screen on a tablet in a real browser: the attendant signs in and lands on
it, finds a regular by plate, gets their drink filled in, logs the arrival and the
departure, all in place."""

import os

import pytest

from crm_site.roles import Role
from followups import services
from followups.models import LoungeVisit

from .factories import VehicleFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tablet_page(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


SCREENSHOTS = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "test-artifacts",
                           "screenshots")


def htmx_ready(page, selector):
    """Wait until htmx has wired up the swapped-in element, so a click is not lost."""
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(e => e['htmx-internal-data'] "
        "&& e['htmx-internal-data'].initHash)", arg=selector)


def test_arrival_and_departure_on_a_tablet(live_server, tablet_page, store, make_user):
    page = tablet_page
    attendant = make_user(Role.LOUNGE_ATTENDANT, store, username="bar")
    car = VehicleFactory(store=store, plate="沪A8K123", customer__name="王先生")
    services.lounge_preference_record(actor=attendant, customer=car.customer, drink="普洱茶")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "bar")
    page.fill("#id_password", "Secret-pass-42")
    page.click("button[type=submit]")
    page.wait_for_selector("#lounge")
    assert page.url.endswith("/followups/lounge/")
    htmx_ready(page, "#lounge-q")
    page.fill("#lounge-q", "沪A8K12")
    page.wait_for_selector("[data-testid=lounge-found]")
    htmx_ready(page, "[data-testid=lounge-found] a")
    page.click("[data-testid=lounge-found] a")
    page.wait_for_selector("[data-testid=lounge-picked]")
    assert page.input_value("#lounge-drink") == "普洱茶"
    htmx_ready(page, "#lounge form[hx-post]")
    page.click("label[for=purpose-service]")
    page.click("[data-testid=lounge-arrive]")
    page.wait_for_selector("[data-testid=lounge-waiting]")
    assert "王先生" in page.inner_text("[data-testid=lounge-waiting]")
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "lounge-tablet.png"), full_page=True)
    htmx_ready(page, "[data-testid=lounge-waiting] form[hx-post]")
    page.click("[data-testid=lounge-depart]")
    page.wait_for_selector("[data-testid=lounge-left]")
    assert page.locator("[data-testid=lounge-waiting]").count() == 0
    visit = LoungeVisit.objects.get()
    assert (visit.customer, visit.drink, visit.purpose) == (car.customer, "普洱茶", "service")
    assert visit.departed_at is not None
