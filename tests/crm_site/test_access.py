"""Nobody gets in without signing in, and a member of staff sees only their stores."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from crm_site.models import Message, Store
from crm_site.roles import Role
from crm_site.scoping import for_user, stores_of
from crm_site.services import message_queue

# logout: POST only, ends nothing; sms-callback: the SMS providers' pushes, guarded by the
# secret token in the URL (tests/crm_site/test_sms_providers.py); password reset: for
# staff who cannot sign in (tests/crm_site/test_password_reset.py)
PUBLIC = {"login", "logout", "set_language", "health", "sms-callback", "password-reset",
          "password-reset-confirm"}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def _concrete(route):
    """Turn a route into a URL: converters get sample values, regex groups likewise."""
    route = re.sub(r"\\\.\(\?P<format>[^)]*\)/\?", ".json", route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)
    route = re.sub(r"<drf_format_suffix:\w+>", ".json", route)
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:str|slug|path):\w+>", "x", route)
    route = re.sub(r"<\w+>", "1", route)
    route = route.replace("^", "").replace("$", "").replace("\\", "")
    return "/" + route


def all_routes():
    return sorted({(_concrete(route), name) for route, name in _walk(get_resolver().url_patterns)})


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "name"), all_routes())
def test_every_url_needs_a_login(client, url, name):
    if name in PUBLIC or url.startswith("/admin/") and "login" in url:
        pytest.skip("public by design")
    response = client.get(url)
    if response.status_code in (301, 302):
        location = response["Location"]
        assert "/login/" in location or "login" in location, (url, location)
    else:
        assert response.status_code in (401, 403), (url, response.status_code)


def test_walk_found_the_site():
    names = {name for _url, name in all_routes()}
    assert {"home", "staff-list", "schema", "message-list"} <= names


@pytest.mark.django_db
def test_user_of_store_a_never_reads_store_b(store, other_store, make_user):
    user_a = make_user(Role.CR_MANAGER, store)
    message_queue(store=store, recipient="13800000001", template_code="T1")
    message_queue(store=other_store, recipient="13800000002", template_code="T1")
    assert list(stores_of(user_a)) == [store]
    visible = for_user(Message.objects.all(), user_a)
    assert [m.recipient for m in visible] == ["13800000001"]
    assert list(for_user(Store.objects.all(), user_a, "pk")) == [store]


@pytest.mark.django_db
def test_inactive_or_anonymous_user_sees_nothing(store, make_user):
    from django.contrib.auth.models import AnonymousUser

    user = make_user(Role.CR_MANAGER, store, is_active=False)
    assert not for_user(Store.objects.all(), user, "pk").exists()
    assert not for_user(Store.objects.all(), AnonymousUser(), "pk").exists()


@pytest.mark.django_db
def test_api_lists_only_own_store_and_404_for_foreign_id(client, store, other_store, make_user):
    user = make_user(Role.CR_MANAGER, store)
    foreign = message_queue(store=other_store, recipient="13800000002", template_code="T1")
    client.force_login(user)
    stores = client.get("/api/v1/stores/").json()["results"]
    assert [s["code"] for s in stores] == ["store-a"]
    assert client.get(f"/api/v1/stores/{other_store.pk}/").status_code == 404
    assert client.get(f"/api/v1/messages/{foreign.pk}/").status_code == 404


@pytest.mark.django_db
def test_api_token_auth(client, store, make_user):
    from rest_framework.authtoken.models import Token

    user = make_user(Role.CALLER, store)
    token = Token.objects.create(user=user)
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json()["roles"] == ["caller"]
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


@pytest.mark.django_db
def test_schema_and_docs_are_served_to_staff_without_a_cdn(client, store, make_user):
    client.force_login(make_user(Role.CALLER, store))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/stores/" in schema.json()["paths"]
    docs = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in docs
    assert "cdn" not in docs.lower()
