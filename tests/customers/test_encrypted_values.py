"""No user input is ever taken for ciphertext (audit, second round: stored denial of
service). Every value of an encrypted field is encrypted on write, whatever it looks
like, behind a marker only crm_site/crypto.py writes; reading never raises on a bad
stored value; customers migration 0009 keeps the rows stored before the marker readable
(and repairs the ones the attack left)."""

import importlib

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from crm_site import crypto
from crm_site.roles import Role
from customers import services
from customers.models import CorrectionRequest, Customer
from tests.customers.factories import make_id_number

pytestmark = pytest.mark.django_db

LOOKALIKE = "gAAAAABnot-a-real-token-but-looks-like-one=="
FORGED = crypto.MARKER + "gAAAAABforged-marker"
MIGRATION = importlib.import_module("customers.migrations.0009_encrypted_value_marker")


def _raw(table, column, pk, key="id"):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {key} = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def _set_raw(table, column, pk, value):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def _migrate(direction="forwards"):
    getattr(MIGRATION, direction)(None, type("Editor", (), {"connection": connection})())


@pytest.fixture
def staff(make_user, store, caller, cr_manager):
    return {Role.CALLER: caller, Role.CR_MANAGER: cr_manager,
            Role.SALES_MANAGER: make_user(Role.SALES_MANAGER, store, username="salesmgr"),
            Role.CR_SPECIALIST: make_user(Role.CR_SPECIALIST, store, username="spec")}


def _every_view_shows(staff, correction, *texts):
    """Every page and API answer that shows the correction, as each role: 200 and the
    literal text."""
    correction.refresh_from_db()
    customer = correction.customer
    pages = [reverse("customers:correction-list") + f"?status={correction.status}",
             reverse("customers:correction-detail", args=[correction.pk]),
             reverse("customers:detail", args=[customer.pk])]
    apis = ["/api/v1/correction-requests/", f"/api/v1/correction-requests/{correction.pk}/",
            f"/api/v1/correction-requests/?customer={customer.pk}"]
    for role, user in staff.items():
        client = APIClient()
        client.force_login(user)
        for url in pages + apis:
            response = client.get(url, HTTP_ACCEPT="application/json")
            assert response.status_code == 200, (role, url, response.status_code)
            body = response.content.decode()
            for text in texts:
                assert text in body, (role, url, text)


def test_a_caller_files_a_value_that_looks_like_a_token_and_every_view_still_answers(
        client, caller, customer, staff):
    client.force_login(caller)
    response = client.post(reverse("customers:correction-create", args=[customer.pk]), {
        "call_date": "2026-01-05", "department": "sales", "field": "customer.name",
        "wrong_value": LOOKALIKE, "correct_value": LOOKALIKE + "x", "note": ""})
    assert response.status_code == 302, response.context["form"].errors
    correction = CorrectionRequest.objects.get()
    stored = _raw("customers_correctionrequest", "correct_value", correction.pk)
    assert stored.startswith(crypto.MARKER) and LOOKALIKE not in stored  # encrypted anyway
    _every_view_shows(staff, correction, LOOKALIKE, LOOKALIKE + "x")
    correction.refresh_from_db()
    assert (correction.wrong_value, correction.correct_value) == (LOOKALIKE, LOOKALIKE + "x")


def test_the_same_attack_through_the_api_and_with_a_forged_marker(caller, customer, staff):
    api = APIClient()
    api.force_authenticate(caller)
    for value in (LOOKALIKE, FORGED):
        response = api.post("/api/v1/correction-requests/", {
            "customer": customer.pk, "field": "other", "department": "service",
            "wrong_value": value, "correct_value": value}, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["correct_value"] == value
    for correction in CorrectionRequest.objects.all():
        assert _raw("customers_correctionrequest", "correct_value", correction.pk) \
            .startswith(crypto.MARKER + crypto.TOKEN_PREFIX)
        _every_view_shows(staff, correction, correction.correct_value)
    assert {c.correct_value for c in CorrectionRequest.objects.all()} == {LOOKALIKE, FORGED}
    # the history rows hold them encrypted as well, and read back
    assert {h.correct_value for h in CorrectionRequest.history.all()} == {LOOKALIKE, FORGED}


def test_the_manager_applies_such_a_value_and_it_is_the_customers_name(caller, customer,
                                                                        staff):
    correction = services.correction_request_file(
        customer=customer, field="customer.name", correct_value=LOOKALIKE, filed_by=caller,
        department="sales")
    services.correction_request_apply(correction=correction, actor=staff[Role.SALES_MANAGER])
    customer.refresh_from_db()
    assert customer.name == LOOKALIKE
    _every_view_shows(staff, correction, LOOKALIKE)


def test_reading_never_raises_on_a_bad_stored_value(caller, customer, staff):
    correction = services.correction_request_file(
        customer=customer, field="other", correct_value="正确", filed_by=caller,
        department="sales")
    # a marked value that does not decrypt (damaged, or made under a key since removed)
    _set_raw("customers_correctionrequest", "correct_value", correction.pk,
             crypto.MARKER + LOOKALIKE)
    # a value stored as it was, before the marker (what the attack used to leave)
    _set_raw("customers_correctionrequest", "wrong_value", correction.pk, LOOKALIKE)
    correction.refresh_from_db()
    assert correction.correct_value == crypto.UNREADABLE_TEXT
    assert isinstance(correction.correct_value, crypto.UnreadableValue)
    assert correction.wrong_value == LOOKALIKE
    _every_view_shows(staff, correction, crypto.UNREADABLE_TEXT, LOOKALIKE)


def test_an_unreadable_value_is_written_back_unchanged_and_reads_when_the_key_returns(
        settings, store, cr_manager):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    customer = services.customer_create(store=store, name="王伟", mobile="13900000001",
                                        id_number=make_id_number())
    stored, digest = _raw("customers_customer", "id_number", customer.pk), customer.id_number_hash
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key removed
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.id_number == crypto.UNREADABLE_TEXT
    services.customer_update(customer=customer, actor=cr_manager, note="照常编辑")
    assert _raw("customers_customer", "id_number", customer.pk) == stored
    assert Customer.objects.get(pk=customer.pk).id_number_hash == digest
    settings.FIELD_ENCRYPTION_KEYS = [old]
    assert Customer.objects.get(pk=customer.pk).id_number == make_id_number()


def test_the_migration_marks_our_tokens_and_encrypts_what_only_looked_like_one(
        caller, customer, store):
    ID = make_id_number(serial=21)
    legacy = crypto._fernet().encrypt(ID.encode()).decode()  # the format before the marker
    with_id = services.customer_create(store=store, name="旧档案", mobile="13900000002",
                                       id_number=ID)
    _set_raw("customers_customer", "id_number", with_id.pk, legacy)
    correction = services.correction_request_file(
        customer=customer, field="customer.mobile", correct_value="13900000009",
        filed_by=caller, department="sales")
    legacy_value = crypto._fernet().encrypt(b"13900000009").decode()
    _set_raw("customers_correctionrequest", "correct_value", correction.pk, legacy_value)
    _set_raw("customers_correctionrequest", "wrong_value", correction.pk, LOOKALIKE)

    _migrate()
    stored = _raw("customers_customer", "id_number", with_id.pk)
    assert stored == crypto.MARKER + legacy  # the same token, marked
    assert _raw("customers_correctionrequest", "correct_value", correction.pk) \
        == crypto.MARKER + legacy_value
    repaired = _raw("customers_correctionrequest", "wrong_value", correction.pk)
    assert repaired.startswith(crypto.MARKER) and LOOKALIKE not in repaired
    with_id.refresh_from_db()
    correction.refresh_from_db()
    assert with_id.id_number == ID and with_id.id_number_hash == crypto.keyed_hash(ID)
    assert (correction.correct_value, correction.wrong_value) == ("13900000009", LOOKALIKE)
    _migrate()  # safe to run twice
    assert _raw("customers_customer", "id_number", with_id.pk) == stored

    _migrate("backwards")
    assert _raw("customers_customer", "id_number", with_id.pk) == legacy
    _migrate()
    with_id.refresh_from_db()
    assert with_id.id_number == ID


def test_rotation_keeps_the_marker_and_leaves_unreadable_rows_alone(settings, caller, customer):
    import io

    from django.core.management import call_command

    good = services.correction_request_file(customer=customer, field="other",
                                            correct_value=LOOKALIKE, filed_by=caller,
                                            department="sales")
    bad = services.correction_request_file(customer=customer, field="other",
                                           correct_value="x", filed_by=caller,
                                           department="sales")
    _set_raw("customers_correctionrequest", "correct_value", bad.pk, crypto.MARKER + "damaged")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(),
                                      *settings.FIELD_ENCRYPTION_KEYS]
    err = io.StringIO()
    call_command("reencrypt_personal_data", stdout=io.StringIO(), stderr=err)
    assert "cannot be decrypted" in err.getvalue()
    assert _raw("customers_correctionrequest", "correct_value", bad.pk) == crypto.MARKER + "damaged"
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]
    good.refresh_from_db()
    assert good.correct_value == LOOKALIKE


def test_encrypt_always_encrypts():
    for text in (LOOKALIKE, FORGED, "13900000001", crypto.MARKER):
        stored = crypto.encrypt(text)
        assert stored.startswith(crypto.MARKER) and stored != text
        assert crypto.read(stored) == text
    assert crypto.encrypt("") == "" and crypto.read("") == ""
    assert crypto.read(LOOKALIKE) == LOOKALIKE
    assert crypto.read(crypto.MARKER + "%%%") == crypto.UNREADABLE_TEXT
