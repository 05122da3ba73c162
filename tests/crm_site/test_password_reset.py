"""A member of staff who forgot the password gets a code by SMS to the registered mobile
or by e-mail, sets a new password with it once, within ten minutes; wrong codes, old
codes and too many requests are refused; the page never tells whether a user exists."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from crm_site.models import PasswordResetCode
from crm_site.roles import Role
from crm_site.sms import LocmemBackend

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
NEW = "Brand-new-pass-77"


@pytest.fixture
def staff(make_user, store):
    return make_user(Role.CALLER, store, username="lina", mobile="13900000009",
                     email="lina@example.com")


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks):
    """ask(channel, username): the reset page asked for a code; the code goes out when
    the request's transaction commits (SMS sender, e-mail), as in a committed request."""
    def post(channel="sms", username="lina"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("password-reset"),
                               {"username": username, "channel": channel})
    return post


def _can_sign_in(password):
    from crm_site.models import User

    return User.objects.get(username="lina").check_password(password)


def _mail_code():
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def _sms_code():
    return LocmemBackend.outbox[-1].params["code"]


def _confirm(client, code, password=NEW, username="lina"):
    return client.post(reverse("password-reset-confirm"), {
        "username": username, "code": code, "password1": password, "password2": password})


def test_the_login_page_links_to_the_reset(client):
    page = client.get(reverse("login")).content.decode()
    assert 'href="/accounts/password/reset/"' in page


def test_a_code_by_sms_sets_a_new_password_once(client, staff, ask):
    with time_machine.travel(NOW, tick=False):
        response = ask()
        assert response.status_code == 302
        message = LocmemBackend.outbox[-1]
        assert (message.recipient, message.template_code) == ("13900000009", "SMS_PASSWORD_CODE")
        code = _sms_code()
        assert re.fullmatch(r"\d{6}", code)
        assert _confirm(client, code).url == reverse("login") + "?reset=1"
        assert _can_sign_in(NEW)
        again = _confirm(client, code, password="Another-pass-88")  # single use
    assert "验证码不正确或已过期" in again.content.decode()
    assert not _can_sign_in("Another-pass-88")
    reset = PasswordResetCode.objects.get()
    assert reset.used_at == NOW and reset.requested_from == "127.0.0.1"
    assert code not in reset.code_hash


def test_a_code_by_email(client, staff, ask):
    ask(channel="email")
    assert mail.outbox[-1].to == ["lina@example.com"]
    code = _mail_code()
    _confirm(client, code)
    assert _can_sign_in(NEW)


def test_the_code_lasts_ten_minutes(client, staff, ask):
    with time_machine.travel(NOW, tick=False):
        ask()
    code = _sms_code()
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        page = _confirm(client, code).content.decode()
    assert "验证码不正确或已过期" in page and not _can_sign_in(NEW)
    with time_machine.travel(NOW, tick=False):
        ask("email")  # (a second SMS to the number would wait out the provider's minute)
    code = _mail_code()
    with time_machine.travel(NOW + timedelta(minutes=9, seconds=59), tick=False):
        assert _confirm(client, code).status_code == 302


def test_five_wrong_codes_use_the_code_up(client, staff, ask):
    ask()
    code = _sms_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _n in range(5):
        assert "验证码不正确" in _confirm(client, wrong).content.decode()
    assert PasswordResetCode.objects.get().attempts == 5
    assert "验证码不正确" in _confirm(client, code).content.decode()


def test_a_newer_code_replaces_the_older_one(client, staff, ask):
    ask("email")
    first = _mail_code()
    ask("email")
    second = _mail_code()
    if first != second:
        assert "验证码不正确" in _confirm(client, first).content.decode()
    assert _confirm(client, second).status_code == 302


def test_an_unknown_user_gets_the_same_answer_and_nothing_is_sent(client, staff, ask):
    known, unknown = ask(username="lina"), ask(username="nobody")
    assert known.status_code == unknown.status_code == 302
    assert len(LocmemBackend.outbox) == 1 and PasswordResetCode.objects.count() == 1


def test_at_most_three_codes_an_hour_per_user(client, staff, ask):
    with time_machine.travel(NOW, tick=False):
        for _n in range(4):
            ask("email")
    assert PasswordResetCode.objects.count() == 3 and len(mail.outbox) == 3
    with time_machine.travel(NOW + timedelta(hours=1, seconds=1), tick=False):
        ask("email")
    assert PasswordResetCode.objects.count() == 4


def test_the_pages_are_throttled_per_address(client, staff, ask, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**rates, "password_reset": "2/hour"}}
    assert ask(username="a").status_code == 302
    assert ask(username="b").status_code == 302
    assert ask(username="c").status_code == 429


def test_a_weak_new_password_is_refused_on_its_field(client, staff, ask):
    ask()
    page = _confirm(client, _sms_code(), password="123").content.decode()
    assert "id_password1" in page and not _can_sign_in("123")
    assert PasswordResetCode.objects.get().used_at is None
