"""A member of staff signs in with a real browser, in Chinese, then switches to English."""

import pytest

from crm_site.roles import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_in_in_chinese_then_switch_to_english(live_server, page, screenshot, store, make_user):
    make_user(Role.CR_MANAGER, store, username="wang")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    assert page.locator("h1").inner_text() == "登录"
    page.fill("#id_username", "wang")
    page.fill("#id_password", "Secret-pass-42")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url
    assert page.locator("nav").get_by_text("退出").is_visible()
    screenshot("login-home-zh")

    page.click("button[data-lang=en]")
    page.wait_for_load_state()
    assert page.locator("nav").get_by_text("Sign out").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    screenshot("login-home-en")


def test_wrong_password_shows_a_message(live_server, page, store, make_user):
    make_user(Role.CALLER, store, username="li")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "li")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").is_visible()
    assert "/accounts/login/" in page.url
