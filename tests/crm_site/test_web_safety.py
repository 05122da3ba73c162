"""Links and answers an attacker would use against a signed-in member of staff: a `next`
pointing at another site, and personal data left in a browser's or proxy's cache."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm_site.roles import Role

pytestmark = pytest.mark.django_db

FOREIGN = ["https://evil.example/phish", "//evil.example/phish", "/\\evil.example/phish",
           "http:/evil.example", "javascript:alert(1)", " https://evil.example/"]


@pytest.mark.parametrize("target", FOREIGN)
def test_login_never_sends_the_user_to_another_site(client, store, make_user, target):
    make_user(Role.CALLER, store, username="li")
    response = client.post(f"/accounts/login/?next={target}",
                           {"username": "li", "password": "Secret-pass-42", "next": target})
    assert response.status_code == 302
    assert response["Location"].startswith("/") and "evil" not in response["Location"]


def test_login_keeps_a_local_next(client, store, make_user):
    make_user(Role.CALLER, store, username="li")
    response = client.post("/accounts/login/", {"username": "li", "password": "Secret-pass-42",
                                                "next": "/notifications/"})
    assert response["Location"] == "/notifications/"


@pytest.mark.parametrize("target", FOREIGN)
def test_language_switch_never_sends_the_user_to_another_site(client, target):
    response = client.post("/i18n/setlang/", {"language": "en", "next": target})
    assert response.status_code == 302
    assert "evil" not in response["Location"]


@pytest.mark.parametrize("target", FOREIGN)
def test_reassigning_calls_never_sends_the_manager_to_another_site(client, cr_manager, target):
    client.force_login(cr_manager)
    response = client.post("/followups/plan/reassign/", {"next": target})
    assert response.status_code == 302
    assert response["Location"] == "/followups/plan/"


def test_reassigning_calls_returns_to_the_plan_page_it_came_from(client, cr_manager):
    client.force_login(cr_manager)
    response = client.post("/followups/plan/reassign/", {"next": "/followups/plan/?day=2026-12-01"})
    assert response["Location"] == "/followups/plan/?day=2026-12-01"


def _no_store(response):
    return "no-store" in response.get("Cache-Control", "")


def test_pages_for_a_signed_in_user_are_never_cached(client, cr_manager):
    client.force_login(cr_manager)
    for url in ("/", "/customers/", "/notifications/", "/api/v1/customers/"):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        assert _no_store(response), url
        assert "private" in response["Cache-Control"], url


def test_api_answers_to_a_token_are_never_cached(cr_manager):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=cr_manager).key}")
    response = api.get("/api/v1/me/")
    assert response.status_code == 200
    assert _no_store(response)

