"""Signing in, languages, throttling, sessions, staff management, health."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation

from crm_site.roles import Role

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese_by_default_even_for_an_english_browser(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'lang="zh-hans"' in html
    assert "登录" in html and "密码" in html


def test_login_page_in_english_when_chosen(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    html = client.get("/accounts/login/").content.decode()
    assert 'lang="en"' in html
    assert "Sign in" in html and "Password" in html
    assert "登录" not in html


def test_an_english_page_leaves_the_thread_in_chinese(client):
    """What the same thread runs after the request (a task, a command, the next user's
    request) is in the default language again."""
    translation.deactivate()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Sign in" in client.get("/accounts/login/").content.decode()
    assert translation.get_language() == settings.LANGUAGE_CODE == "zh-hans"
    assert translation.gettext("登录") == "登录"


def test_staff_sign_in_and_land_on_home(client, store, make_user):
    make_user(Role.CR_MANAGER, store, username="wang")
    response = client.post("/accounts/login/", {"username": "wang", "password": "Secret-pass-42"})
    assert response.status_code == 302
    assert client.get("/").status_code in (200, 302)


def test_repeated_failed_logins_are_throttled_with_a_clear_message(client, store, make_user):
    make_user(Role.CALLER, store, username="li")
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "li", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "li", "password": "Secret-pass-42"})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()


def test_session_ends_after_the_absolute_limit(client, store, make_user, settings):
    """Signed in at 08:00 with a 12-hour limit: still in at 19:59:59 (idle time kept short by
    a request every 20 minutes), out at 20:00:01 however active the session was."""
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(make_user(Role.CALLER, store))
        assert client.get("/notifications/").status_code == 200
        limit = settings.SESSION_ABSOLUTE_SECONDS
        for _step in range(limit // 1200 - 1):
            clock.shift(timedelta(minutes=20))
            assert client.get("/notifications/").status_code == 200
        clock.move_to(start + timedelta(seconds=limit - 1))
        assert client.get("/notifications/").status_code == 200
        clock.move_to(start + timedelta(seconds=limit + 1))
        response = client.get("/notifications/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_idle_timeout_is_thirty_minutes():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_manager_adds_staff_to_own_store_only(client, store, other_store, make_user):
    manager = make_user(Role.CR_MANAGER, store)
    client.force_login(manager)
    response = client.post("/staff/new/", {
        "username": "newcaller", "last_name": "周", "first_name": "敏", "mobile": "",
        "email": "", "password": "Long-enough-pass-1", "stores": [other_store.pk],
        "roles": [Role.CALLER],
    })
    assert response.status_code == 200
    assert "stores" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="newcaller").exists()

    response = client.post("/staff/new/", {
        "username": "newcaller", "last_name": "周", "first_name": "敏", "mobile": "",
        "email": "", "password": "Long-enough-pass-1", "stores": [store.pk],
        "roles": [Role.CALLER],
    })
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newcaller")
    assert user.role_codes == {"caller"}
    assert list(user.stores.all()) == [store]
    assert user.check_password("Long-enough-pass-1")


def test_weak_password_is_refused_naming_the_field(client, store, make_user):
    client.force_login(make_user(Role.CR_MANAGER, store))
    response = client.post("/staff/new/", {
        "username": "weak", "last_name": "周", "first_name": "敏", "password": "123",
        "stores": [store.pk], "roles": [Role.CALLER],
    })
    assert "password" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="weak").exists()


def test_caller_cannot_manage_staff(client, store, make_user):
    client.force_login(make_user(Role.CALLER, store))
    assert client.get("/staff/").status_code == 403


def test_staff_of_another_store_is_not_found(client, store, other_store, make_user):
    colleague = make_user(Role.CALLER, other_store)
    client.force_login(make_user(Role.CR_MANAGER, store))
    assert client.get(f"/staff/{colleague.pk}/").status_code == 404
    assert colleague.username not in client.get("/staff/").content.decode()


def test_health_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response["X-Request-ID"]


def test_notifications_bell_counts_unread(client, store, make_user):
    from crm_site.services import notification_send

    user = make_user(Role.CALLER, store)
    notification_send(users=[user], title="投诉即将超时", dedupe_key="c1")
    notification_send(users=[user], title="投诉即将超时", dedupe_key="c1")
    client.force_login(user)
    html = client.get("/notifications/").content.decode()
    assert html.count("投诉即将超时") == 1
    assert 'data-testid="unread-count">1<' in html
    client.post("/notifications/read/")
    assert 'data-testid="unread-count"' not in client.get("/notifications/").content.decode()


def test_production_settings_pass_check_deploy():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {**env, "DJANGO_SETTINGS_MODULE": "crm_site.settings.production",
           "DJANGO_SECRET_KEY": "x9-" * 20 + "production-like-secret-key",
           "DJANGO_ALLOWED_HOSTS": "crm.example.com",
           "FIELD_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1saWtlLWZpZWxkLWtleS0wMDAwMDA=",
           "PERSONAL_DATA_HASH_KEY": "production-like-personal-data-hash-key"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                             "WARNING"], env=env, capture_output=True, text=True,
                            cwd=settings.BASE_DIR, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # Personal data keys have no default in production: without them it refuses to start.
    del env["FIELD_ENCRYPTION_KEYS"]
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, capture_output=True,
                            text=True, cwd=settings.BASE_DIR, check=False)
    assert result.returncode != 0 and "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_pages_carry_a_content_security_policy_without_inline_script(client, store, make_user):
    import re

    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline' " not in policy.split("script-src")[1]
    client.force_login(make_user(Role.CR_MANAGER, store))
    for url in ("/notifications/", "/staff/", "/messages/", "/api/docs/"):
        html = client.get(url).content.decode()
        inline = [s for s in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
                  if "application/json" not in s]
        assert inline == [], (url, inline)


def test_staff_and_notification_pages_run_a_fixed_number_of_queries(
        client, store, make_user, django_assert_max_num_queries):
    from crm_site.services import notification_send

    manager = make_user(Role.CR_MANAGER, store)
    client.force_login(manager)
    notification_send(users=[manager], title="一条")
    with django_assert_max_num_queries(30) as one:
        client.get("/staff/")
        client.get("/notifications/")
    for n in range(20):
        make_user(Role.CALLER, store)
        notification_send(users=[manager], title=f"通知{n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get("/staff/")
        client.get("/notifications/")
