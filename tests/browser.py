"""Helpers of the browser tests: sign in through the login page, wait for htmx, and
save screenshots under test-artifacts/screenshots/ (the folder CI keeps)."""

from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
PASSWORD = "Secret-pass-42"

# The two screens the journeys run on: a laptop and a phone.
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1366, "height": 768}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}


def shot(page, name):
    """Save the page as it is now, named after the step and the screen it ran on."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    device = getattr(page, "device", "")
    suffix = f"-{device}" if device and not name.endswith(f"-{device}") else ""
    page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=True)


def sign_in(page, base, username, password=PASSWORD):
    """Sign out whoever was signed in, then sign in on the login page; lands on the home
    page of the user's role."""
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"{username} could not sign in"


def htmx_ready(page, selector):
    """Wait until htmx has wired up the swapped-in element, so a change is not lost."""
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(e => e['htmx-internal-data'] "
        "&& e['htmx-internal-data'].initHash)", arg=selector)


def open_menu(page):
    """On a phone the navigation bar is folded behind the menu button: unfold it."""
    toggler = page.locator("button.navbar-toggler")
    if toggler.is_visible():
        toggler.click()
        page.wait_for_selector("#mainnav.show")


def open_nav(page, group, item):
    """Open a page from the navigation bar (through the menu button on a phone)."""
    open_menu(page)
    page.locator("#mainnav .dropdown-toggle", has_text=group).click()
    with page.expect_navigation():
        page.locator("#mainnav .dropdown-menu.show .dropdown-item", has_text=item).click()
    page.wait_for_load_state()
