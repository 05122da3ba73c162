"""Personal data: ID numbers encrypted at rest (a dump shows none), lookups by keyed hash,
key rotation, logged exports (masked or in full by role), data-subject export and erasure,
consent per channel with when and how, and formula injection in exports."""

import importlib
import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from crm_site import crypto
from crm_site.exports import csv_text, safe_cell
from crm_site.roles import Role
from customers import selectors, services
from customers.models import (
    ConsentChange,
    CorrectionRequest,
    Customer,
    CustomerErasure,
    FamilyMember,
    PersonalDataExport,
    ServiceVisit,
)
from tests.customers.factories import (
    make_customer,
    make_id_number,
    make_mobile,
    make_sale,
    make_vehicle,
)

pytestmark = pytest.mark.django_db

ID = make_id_number()


def _dump(*tables):
    """Every row of the tables as the database holds them (what a dump would show)."""
    text = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            text.extend(str(row) for row in cursor.fetchall())
    return "\n".join(text)


@pytest.fixture
def private(store, cr_manager):
    customer = make_customer(store, 5, name="王伟", id_number=ID, gender="male",
                             birth_date=date(1985, 6, 15), home_address="上海市黄浦区1号")
    services.family_member_add(customer=customer, relation="spouse", name="李丽",
                               phone="13900000001")
    return customer


# Encryption at rest ----------------------------------------------------------------------------

def test_a_dump_of_the_tables_contains_no_readable_id_number(private, cr_manager, caller):
    services.customer_update(customer=private, actor=cr_manager, note="改过")
    services.correction_request_file(customer=private, field="customer.id_number",
                                     correct_value=make_id_number(serial=13),
                                     filed_by=caller, department="sales")
    dump = _dump("customers_customer", "customers_historicalcustomer",
                 "customers_correctionrequest", "customers_historicalcorrectionrequest")
    assert "王伟" in dump  # the dump is real
    assert ID not in dump and ID[:6] + ID[6:14] not in dump
    assert make_id_number(serial=13) not in dump
    assert crypto.TOKEN_PREFIX in dump
    private.refresh_from_db()
    assert private.id_number == ID  # read back in plain text


def test_id_number_is_found_by_its_keyed_hash(private, store, manager_client):
    assert private.id_number_hash == crypto.keyed_hash(ID) != ""
    assert list(Customer.objects.with_id_number(ID)) == [private]
    assert not Customer.objects.with_id_number("")
    response = manager_client.get(reverse("customers:list"), {"q": ID})
    assert "王伟" in response.text


def test_duplicate_check_by_id_number_still_works(private, store, cr_manager):
    with pytest.raises(services.ValidationError) as error:
        make_customer(store, 6, name="王伟伟", id_number=ID, gender="male",
                      birth_date=date(1985, 6, 15))
    assert "id_number" in error.value.message_dict
    twin = make_customer(store, 6, name="王伟伟", id_number=ID, gender="male",
                         birth_date=date(1985, 6, 15), allow_duplicate=True)
    groups = [(code, value, members) for code, value, members
              in selectors.duplicate_groups(cr_manager) if code == "id_number"]
    assert groups == [("id_number", ID, [private, twin])]


def test_import_upserts_by_id_number(store, cr_manager, private):
    content = ("姓名,手机,身份证号\n王伟,13912345678," + ID + "\n").encode()
    from tests.imports import run_import

    job = run_import(kind="customers", store=store, content=content, filename="c.csv",
                     actor=cr_manager)
    assert job.status == "committed", job.errors
    assert Customer.objects.filter(store=store, is_active=True).count() == 1
    private.refresh_from_db()
    assert private.mobile == "13912345678"


def test_the_migration_encrypts_rows_stored_in_plain_text(private):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_customer SET id_number = %s, id_number_hash = '' "
                       "WHERE id = %s", [ID, private.pk])
    migration = importlib.import_module("customers.migrations.0007_encrypt_id_numbers")
    migration._rewrite(type("Editor", (), {"connection": connection})(), migration._encrypt)
    assert ID not in _dump("customers_customer")
    private.refresh_from_db()
    assert private.id_number == ID and private.id_number_hash == crypto.keyed_hash(ID)


def test_rotation_re_encrypts_under_the_new_key(private, settings):
    from cryptography.fernet import Fernet

    old = settings.FIELD_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    settings.PERSONAL_DATA_HASH_KEY = "a-new-hash-key"
    out = io.StringIO()
    call_command("reencrypt_personal_data", stdout=out)
    assert "customers.Customer.id_number" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone: rows still read
    private.refresh_from_db()
    assert private.id_number == ID
    assert private.id_number_hash == crypto.keyed_hash(ID)
    assert list(Customer.objects.with_id_number(ID)) == [private]
    assert private.history.first().id_number == ID


# Exports of the list ------------------------------------------------------------------------------

def test_list_export_is_masked_for_a_role_that_may_not_reveal_and_logged(client, make_user,
                                                                          store, private):
    sales_manager = make_user(Role.SALES_MANAGER, store)
    client.force_login(sales_manager)
    response = client.get(reverse("customers:list"), {"export": "csv", "q": "王"})
    body = response.content.decode("utf-8-sig")
    assert private.mobile not in body and ID not in body
    assert private.mobile[:3] + "****" in body
    export = PersonalDataExport.objects.get()
    assert (export.user, export.kind, export.row_count, export.unmasked) == (
        sales_manager, "list", 1, False)
    assert export.customer_ids == [private.pk] and "q=" in export.filters


@pytest.mark.parametrize("role", [Role.LOUNGE_ATTENDANT, Role.CALLER, Role.CR_SPECIALIST])
def test_list_export_is_refused_to_roles_that_may_not_export_personal_data(client, make_user,
                                                                           store, private, role):
    client.force_login(make_user(role, store))
    page = client.get(reverse("customers:list"))
    assert page.status_code == 200 and "export=csv" not in page.text
    assert client.get(reverse("customers:list"), {"export": "csv"}).status_code == 403
    assert not PersonalDataExport.objects.exists()


def test_list_export_is_in_full_for_a_role_that_may_reveal(manager_client, cr_manager, private):
    body = manager_client.get(reverse("customers:list"), {"export": "csv"}).content.decode("utf-8-sig")
    assert private.mobile in body and ID in body
    assert PersonalDataExport.objects.get().unmasked
    log = manager_client.get(reverse("customers:reveal-log"))
    assert "客户列表导出" in log.text or "List export" in log.text
    assert str(cr_manager) in log.text


def test_export_and_reveal_log_is_for_the_manager_only(client, specialist):
    client.force_login(specialist)
    assert client.get(reverse("customers:reveal-log")).status_code == 403


def test_list_export_runs_a_fixed_number_of_queries(manager_client, store):
    for n in range(10, 12):
        make_vehicle(make_customer(store, n), n)
    url = reverse("customers:list")
    with CaptureQueriesContext(connection) as few:
        manager_client.get(url, {"export": "csv"})
    for n in range(12, 20):
        make_vehicle(make_customer(store, n), n)
    with CaptureQueriesContext(connection) as many:
        manager_client.get(url, {"export": "csv"})
    assert len(many) == len(few)


# Formula injection, markup, emoji ----------------------------------------------------------------

@pytest.mark.parametrize("text", ["=1+1", "+86", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_safe_cell_neutralises_formula_prefixes(text):
    assert safe_cell(text) == "'" + text
    assert safe_cell("王伟") == "王伟" and safe_cell(-2) == -2 and safe_cell(None) is None


def test_list_export_neutralises_formulas_and_keeps_markup_and_emoji_as_text(manager_client, store):
    name = '=HYPERLINK("http://evil.example","点我")'
    note = '<script>alert("x")</script> 😀'
    customer = make_customer(store, 7, name=name, note=note)
    body = manager_client.get(reverse("customers:list"), {"export": "csv"}).content.decode("utf-8-sig")
    assert "'=HYPERLINK(" in body and "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body
    page = manager_client.get(reverse("customers:detail", args=[customer.pk])).text
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "😀" in page
    assert csv_text([[note]]).strip().strip('"').startswith("<script>")


def test_excel_reports_neutralise_formulas():
    from satisfaction import exports

    content = exports.table_workbook("=cmd|' /C calc'!A0", [("表", ["客户"], [["=HYPERLINK(1)"], [3]])])
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet["A1"].value.startswith("'=")
    assert sheet["A5"].value == "'=HYPERLINK(1)" and sheet["A6"].value == 3
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


# Data-subject requests ----------------------------------------------------------------------------

def test_subject_export_gives_everything_and_is_logged(manager_client, cr_manager, private):
    make_sale(make_vehicle(private, 5))
    response = manager_client.post(reverse("customers:data-export", args=[private.pk]),
                                   {"reason": "客户申请 2026-001"})
    assert response["Content-Disposition"].endswith(f'customer-{private.pk}.json"')
    data = json.loads(response.content)
    assert data["customer"]["id_number"] == ID
    assert data["family"][0]["name"] == "李丽"
    assert len(data["vehicles"]) == 1 and len(data["sales"]) == 1
    assert any(entry["kind"] == "sale" for entry in data["timeline"])
    export = PersonalDataExport.objects.get(kind="subject")
    assert (export.user, export.customer, export.reason) == (cr_manager, private, "客户申请 2026-001")


def test_subject_export_and_erasure_are_refused_to_other_roles(client, specialist, private):
    client.force_login(specialist)
    assert client.post(reverse("customers:data-export", args=[private.pk]),
                       {"reason": "x"}).status_code == 403
    assert client.post(reverse("customers:erase", args=[private.pk]),
                       {"reason": "x", "confirm": "on"}).status_code == 403
    assert not CustomerErasure.objects.exists()


def test_erasure_removes_identity_but_keeps_the_rows_reports_count(manager_client, cr_manager,
                                                                    private, caller):
    vehicle = make_vehicle(private, 5)
    make_sale(vehicle)
    services.service_visit_record(vehicle=vehicle, repair_type="first_service",
                                  date_in=date(2026, 11, 1))
    services.correction_request_file(customer=private, field="customer.home_address",
                                     correct_value="上海市静安区2号", filed_by=caller,
                                     department="sales")
    visits_before = ServiceVisit.objects.filter(store=private.store).count()
    response = manager_client.post(reverse("customers:erase", args=[private.pk]),
                                   {"reason": "客户书面申请", "confirm": "on"})
    assert response.status_code == 302
    private.refresh_from_db()
    assert private.name != "王伟" and private.id_number == "" and private.id_number_hash == ""
    assert private.mobile == "" and private.home_address == "" and private.birth_date is None
    assert not private.sms_allowed and not private.call_allowed and private.erased_at
    erasure = CustomerErasure.objects.get(customer=private)
    assert (erasure.erased_by, erasure.reason) == (cr_manager, "客户书面申请")
    dump = _dump("customers_customer", "customers_historicalcustomer",
                 "customers_familymember", "customers_historicalfamilymember",
                 "customers_correctionrequest", "customers_historicalcorrectionrequest")
    for secret in ("王伟", "李丽", "13900000001", "黄浦区", "静安区", make_mobile(5)):
        assert secret not in dump
    assert all(h.id_number == "" for h in private.history.all())
    assert ServiceVisit.objects.filter(store=private.store).count() == visits_before
    assert private.sales.count() == 1 and private.vehicles.count() == 1
    assert FamilyMember.objects.filter(customer=private).count() == 1
    with pytest.raises(services.ValidationError):
        services.customer_erase(customer=private, actor=cr_manager, reason="again")


def test_erasure_needs_a_reason_and_the_confirmation(manager_client, private):
    manager_client.post(reverse("customers:erase", args=[private.pk]), {"reason": "x"})
    manager_client.post(reverse("customers:erase", args=[private.pk]), {"confirm": "on"})
    assert not CustomerErasure.objects.exists()
    private.refresh_from_db()
    assert private.name == "王伟"


def test_an_erased_customer_cannot_be_merged(store, cr_manager, private):
    other = make_customer(store, 8, name="王伟二")
    services.customer_erase(customer=private, actor=cr_manager, reason="客户申请")
    with pytest.raises(services.ValidationError):
        services.customer_merge(kept=other, merged=private, actor=cr_manager)


def test_erasure_also_erases_the_duplicates_merged_into_the_customer(store, cr_manager, private):
    """A duplicate merged earlier keeps its own name and mobile (and its history, family
    and consent reasons): it is erased with the record it was merged into, and so is a
    record merged into that duplicate before."""
    older = make_customer(store, 6, name="王小伟", home_address="杨浦区3号")
    services.family_member_add(customer=older, relation="child", name="王小明",
                               phone="13900000002")
    dup = make_customer(store, 7, name="王伟（旧）", allow_duplicate=True)
    services.customer_set_consent(customer=dup, sms_allowed=False, call_allowed=True,
                                  reason="王伟（旧）说不要短信", actor=cr_manager)
    services.customer_merge(kept=dup, merged=older, actor=cr_manager)
    services.customer_merge(kept=private, merged=dup, actor=cr_manager)
    bystander = make_customer(store, 8, name="张三")

    erasure = services.customer_erase(customer=private, actor=cr_manager,
                                      reason=f"王伟申请，含旧档{make_mobile(7)}")

    for record in (dup, older):
        record.refresh_from_db()
        assert record.name == services.erased_name(record) and record.mobile == ""
        assert record.erased_at is not None and not record.call_allowed
        assert CustomerErasure.objects.get(customer=record).reason == erasure.reason
    assert erasure.scrubbed["merged_records"] == 2
    assert make_mobile(7) not in erasure.reason and "王伟" not in erasure.reason
    dump = _dump("customers_customer", "customers_historicalcustomer",
                 "customers_familymember", "customers_historicalfamilymember",
                 "customers_consentchange", "customers_customererasure")
    for secret in ("王伟", "王小伟", "王小明", "杨浦区", "13900000002", make_mobile(5),
                   make_mobile(6), make_mobile(7)):
        assert secret not in dump, secret
    bystander.refresh_from_db()
    assert (bystander.name, bystander.erased_at) == ("张三", None)


def test_a_merge_of_an_erased_customer_cannot_be_undone(store, cr_manager, private):
    dup = make_customer(store, 7, name="王伟", allow_duplicate=True)
    merge = services.customer_merge(kept=private, merged=dup, actor=cr_manager)
    services.customer_erase(customer=private, actor=cr_manager, reason="客户申请")
    with pytest.raises(services.ValidationError) as error:
        services.customer_merge_undo(merge=merge, actor=cr_manager)
    assert set(error.value.message_dict) == {"merge"}
    dup.refresh_from_db()
    assert not dup.is_active and dup.merged_into_id == private.pk


def test_erasure_scrubs_what_names_the_customer_around_the_record(
        cr_manager, caller, sales_manager, private, django_capture_on_commit_callbacks):
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    from crm_site.models import Notification

    mobile = private.mobile
    with django_capture_on_commit_callbacks(execute=True):
        correction = services.correction_request_file(
            customer=private, field="customer.home_address", correct_value="上海市静安区2号",
            filed_by=caller, department="sales", note=f"王伟说搬家了，{mobile}")
    with django_capture_on_commit_callbacks(execute=True):
        services.correction_request_reject(correction=correction, actor=sales_manager,
                                           note="王伟本人未确认")
    services.personal_data_export_log(user=cr_manager, customer_ids=[private.pk, 77],
                                      filters=f"q={mobile}")
    kept = services.personal_data_export_log(user=cr_manager, customer_ids=[private.pk + 1000],
                                             filters="q=王伟")
    LogEntry.objects.create(user=cr_manager, content_type=ContentType.objects.get_for_model(private),
                            object_id=str(private.pk), object_repr=str(private), action_flag=CHANGE)
    assert Notification.objects.filter(title__contains="王伟").count() == 2

    erasure = services.customer_erase(customer=private, actor=cr_manager,
                                      reason=f"王伟书面申请（{mobile}）")

    name = services.erased_name(private)
    correction.refresh_from_db()
    assert (correction.note, correction.decision_note, correction.status) == ("-", "-", "rejected")
    assert not correction.history.filter(decision_note__contains="王伟").exists()
    assert not Notification.objects.filter(title__contains="王伟").exists()
    assert Notification.objects.filter(title__contains=name).count() == 2
    assert not Notification.objects.filter(body__contains="静安区").exists()
    assert LogEntry.objects.get().object_repr == name
    assert PersonalDataExport.objects.get(customer_ids__contains=[77]).filters == "q="
    kept.refresh_from_db()
    assert kept.filters == "q=王伟"  # another customer's export, as it was
    assert "王伟" not in erasure.reason and mobile not in erasure.reason
    assert erasure.scrubbed["notifications"] == 2 and erasure.scrubbed["exports"] == 1


def test_the_floors_above_scrub_through_the_erased_hook_inside_the_transaction(
        cr_manager, private, monkeypatch):
    from customers import hooks

    seen = []

    def scrub_mine(customer, scrubbed):
        seen.append((customer.name, customer.mobile))
        scrubbed["mine"] = 3

    monkeypatch.setattr(hooks.customer_erased, "_functions", [])
    hooks.customer_erased.register(scrub_mine)
    hooks.customer_erased.register(scrub_mine)  # twice adds nothing
    assert hooks.customer_erased.functions() == [scrub_mine]
    erasure = services.customer_erase(customer=private, actor=cr_manager, reason="客户申请")
    assert seen == [("王伟", make_mobile(5))]  # still known to the hook
    assert erasure.scrubbed["mine"] == 3

    def refuse(customer, scrubbed):
        raise RuntimeError("floor above failed")

    other = make_customer(private.store, 6, name="李雷")
    hooks.customer_erased.unregister(scrub_mine)
    hooks.customer_erased.register(refuse)
    with pytest.raises(RuntimeError):
        services.customer_erase(customer=other, actor=cr_manager, reason="客户申请")
    other.refresh_from_db()
    assert other.name == "李雷" and other.erased_at is None  # nothing half-erased
    assert not CustomerErasure.objects.filter(customer=other).exists()


# Consent per channel --------------------------------------------------------------------------------

def test_consent_records_when_and_how_per_channel(manager_client, cr_manager, private):
    response = manager_client.post(reverse("customers:consent", args=[private.pk]), {
        "call_allowed": "on", "reason": "不想收短信", "method": "in_person"})
    assert response.status_code == 302
    change = ConsentChange.objects.get(customer=private)
    assert (change.channel, change.allowed, change.method, change.recorded_by) == (
        "sms", False, "in_person", cr_manager)
    assert change.changed_at is not None and change.reason == "不想收短信"
    manager_client.post(reverse("customers:consent", args=[private.pk]), {
        "sms_allowed": "on", "call_allowed": "on", "method": "phone"})
    assert list(ConsentChange.objects.filter(customer=private).values_list(
        "channel", "allowed", "method")) == [("sms", True, "phone"), ("sms", False, "in_person")]
    page = manager_client.get(reverse("customers:detail", args=[private.pk])).text
    assert 'id="consent-changes"' in page


def test_a_new_customer_who_refuses_a_channel_has_a_consent_row(store):
    customer = make_customer(store, 9, call_allowed=False, contact_refusal_reason="上班时间")
    assert list(customer.consent_changes.values_list("channel", "allowed")) == [("call", False)]


def test_correction_values_are_read_back_in_plain_text(private, caller):
    correction = services.correction_request_file(
        customer=private, field="customer.mobile", correct_value="13911112222",
        filed_by=caller, department="sales")
    assert CorrectionRequest.objects.get(pk=correction.pk).correct_value == "13911112222"


@pytest.fixture
def specialist(make_user, store):
    return make_user(Role.CR_SPECIALIST, store, username="specialist")


def test_personal_data_pages_work_in_english(manager_client, private, settings):
    manager_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    manager_client.post(reverse("customers:consent", args=[private.pk]), {
        "call_allowed": "on", "reason": "不想收短信", "method": "written"})
    page = manager_client.get(reverse("customers:detail", args=[private.pk])).text
    assert "Export a copy of the personal data" in page and "Signed in writing" in page
    manager_client.get(reverse("customers:list"), {"export": "csv"})
    log = manager_client.get(reverse("customers:reveal-log")).text
    assert "Personal data export log" in log and "Customer list export" in log


def test_history_page_masks_identifiers_for_a_role_that_may_not_reveal(client, specialist,
                                                                       private):
    services.customer_update(customer=private, mobile="13911112222")
    client.force_login(specialist)
    page = client.get(reverse("customers:history", args=[private.pk])).text
    assert "13911112222" not in page and "139****2222" in page
    assert ID not in page and private.id_number_hash not in page
