"""Behind the reverse proxy: the client's address comes from X-Forwarded-For only when
the connection comes from a proxy in TRUSTED_PROXIES. A client that writes the header
itself cannot pick its address: not to dodge the sign-in lock, not to lock someone else
out, not to put another address into the personal-data audit logs."""

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from rest_framework.test import APIClient

from crm_site.proxies import client_ip
from customers.models import PersonalDataExport, PersonalDataReveal
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db

PROXY = "172.18.0.5"
CLIENT, FORGED = "198.51.100.7", "203.0.113.66"


@pytest.fixture(autouse=True)
def behind_the_proxy(settings):
    settings.TRUSTED_PROXIES = ["172.16.0.0/12"]


@pytest.mark.parametrize(("remote", "forwarded", "seen"), [
    (CLIENT, FORGED, CLIENT),  # no proxy: the header is the client's own
    (PROXY, CLIENT, CLIENT),  # through the proxy
    (PROXY, f"{FORGED}, {CLIENT}", CLIENT),  # the client's own header, then the proxy's
    (PROXY, f"{FORGED}, {CLIENT}, 172.18.0.9", CLIENT),  # two proxies of ours
    (PROXY, "", PROXY),
    (PROXY, "not-an-address", PROXY),
])
def test_the_client_address(remote, forwarded, seen):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == seen


def test_no_trusted_proxy_means_the_connection_address(settings):
    settings.TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    assert client_ip(request) == PROXY


def _fail_sign_ins(client, settings, **meta):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "crm", "password": "guess"}, **meta)


def test_a_forged_header_does_not_move_the_sign_in_lock(client, cr_manager, settings):
    """An attacker elsewhere forges the manager's office address: the lock falls on the
    attacker's own address, and the manager still signs in through the proxy."""
    _fail_sign_ins(client, settings, REMOTE_ADDR=FORGED, HTTP_X_FORWARDED_FOR=CLIENT)
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [FORGED]
    signed_in = client.post("/accounts/login/", {"username": "crm", "password": "Secret-pass-42"},
                            REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    assert signed_in.status_code == 302


def test_through_the_proxy_the_lock_is_the_clients_not_everyones(client, cr_manager, settings):
    """Failures through the proxy lock the user name from the attacker's address only."""
    _fail_sign_ins(client, settings, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=FORGED)
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [FORGED]
    locked = client.post("/accounts/login/", {"username": "crm", "password": "Secret-pass-42"},
                         REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=FORGED)
    assert locked.status_code == 429
    signed_in = client.post("/accounts/login/", {"username": "crm", "password": "Secret-pass-42"},
                            REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    assert signed_in.status_code == 302


def test_the_audit_logs_record_the_client_not_the_proxy_nor_a_forgery(cr_manager, store):
    customer = make_customer(store, 3, id_number="11010519491231002X")
    api = APIClient()
    api.force_authenticate(cr_manager)
    api.get(f"/api/v1/customers/{customer.pk}/", {"reveal": "1"},
            REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{FORGED}, {CLIENT}")
    api.get("/api/v1/customers/", {"reveal": "1"}, REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=FORGED)
    assert set(PersonalDataReveal.objects.values_list("ip_address", flat=True)) == {CLIENT}
    assert list(PersonalDataExport.objects.values_list("ip_address", flat=True)) == [CLIENT]
