"""What a stolen or forgotten credential can still do: an API token expires, stops
working while its account is locked or inactive, and repeated reveals, exports,
imports and sign-ins answer 429 past their rate."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm_site.roles import Role

pytestmark = pytest.mark.django_db


def _token_client(user):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def test_a_token_expires_after_the_configured_days(cr_manager, settings):
    assert settings.API_TOKEN_TTL_DAYS == 90
    api = _token_client(cr_manager)
    assert api.get("/api/v1/me/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=90, minutes=1)):
        response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert "过期" in response.json()["message"]
    settings.API_TOKEN_TTL_DAYS = 365
    with time_machine.travel(timezone.now() + timedelta(days=90, minutes=1)):
        assert api.get("/api/v1/me/").status_code == 200


def test_a_token_stops_working_while_its_account_is_locked_out(client, store, make_user, settings):
    """Someone guesses the integration user's password on the sign-in page: the lock
    holds for the token too, from any address, until the cool-off ends."""
    user = make_user(Role.SERVICE_MANAGER, store, username="dms")
    api = _token_client(user)
    assert api.get("/api/v1/me/").status_code == 200
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "dms", "password": "guess"},
                    REMOTE_ADDR="203.0.113.9")
    response = api.get("/api/v1/me/", REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 401
    assert "锁定" in response.json()["message"]
    with time_machine.travel(timezone.now() + timedelta(hours=settings.AXES_COOLOFF_TIME,
                                                        minutes=1)):
        assert api.get("/api/v1/me/").status_code == 200


def test_a_token_of_an_inactive_user_is_refused(store, make_user):
    user = make_user(Role.SERVICE_MANAGER, store)
    api = _token_client(user)
    user.is_active = False
    user.save()
    assert api.get("/api/v1/me/").status_code == 401


# Throttles ------------------------------------------------------------------------------------

def test_sign_in_attempts_from_one_address_answer_429_past_the_rate(client, settings, store,
                                                                   make_user):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "3/minute"}}
    for n in range(3):  # three different user names: axes alone would never lock
        make_user(Role.CALLER, store, username=f"user{n}")
        response = client.post("/accounts/login/", {"username": f"user{n}", "password": "x"})
        assert response.status_code == 200
    response = client.post("/accounts/login/", {"username": "user0", "password": "x"},
                           HTTP_X_FORWARDED_FOR="192.0.2.44")  # a forged address changes nothing
    assert response.status_code == 429 and "Retry-After" in response
    assert "频繁" in response.content.decode()
    assert client.get("/accounts/login/").status_code == 200  # the page itself still shows


def test_reveals_answer_429_past_the_rate_and_are_not_logged(client, cr_manager, store, settings):
    from customers.models import PersonalDataReveal
    from tests.customers.factories import make_customer

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "reveal": "2/hour"}}
    customer = make_customer(store, 1)
    client.force_login(cr_manager)
    url = f"/customers/{customer.pk}/reveal/mobile/"
    assert [client.post(url).status_code for _ in range(3)] == [200, 200, 429]
    assert PersonalDataReveal.objects.count() == 2


def test_exports_answer_429_past_the_rate(client, cr_manager, store, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "export": "2/hour"}}
    client.force_login(cr_manager)
    answers = [client.get("/customers/?export=csv").status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_imports_through_the_api_answer_429_per_user_whatever_the_token(cr_manager, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "import": "2/hour"}}
    first, second = _token_client(cr_manager), APIClient()
    second.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=cr_manager).key}")
    second.force_authenticate(cr_manager)  # the same user by another way in

    def upload(api):
        return api.post("/api/v1/score-imports/",
                        {"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n")}, format="multipart")

    assert upload(first).status_code == 400  # a rejected file, but counted
    assert upload(second).status_code == 400
    assert upload(first).status_code == 429
    assert first.get("/api/v1/score-imports/").status_code == 200  # reading is not limited


def test_imports_on_the_page_answer_429_past_the_rate(client, cr_manager, store, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "import": "1/hour"}}
    client.force_login(cr_manager)
    url = reverse("imports")
    assert client.post(url, {"kind": "customers", "store": store.pk}).status_code == 200
    assert client.post(url, {"kind": "customers", "store": store.pk}).status_code == 429
