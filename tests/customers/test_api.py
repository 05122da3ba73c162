"""/api/v1/ for customer records: validation, scoping, masking, DMS pushes, query counts."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm_site.roles import Role
from customers.models import Customer, ServiceVisit, Vehicle
from tests.customers.factories import make_customer, make_id_number, make_sale, make_vehicle, make_vin
from tests.validation import api_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(cr_manager):
    client = APIClient()
    client.force_authenticate(cr_manager)
    return client


@pytest.fixture
def specialist_api(specialist):
    client = APIClient()
    client.force_authenticate(specialist)
    return client


def test_create_with_bad_input_gives_field_errors_and_saves_nothing(api, store):
    response = api.post("/api/v1/customers/", {
        "store": store.pk, "name": "王伟", "mobile": "12345", "id_number": "310101",
        "family": [{"relation": "spouse", "name": "李丽"}]}, format="json")
    assert response.status_code == 400
    assert set(api_errors(response)) >= {"mobile", "id_number"}
    assert not Customer.objects.exists()


def test_create_into_another_store_is_refused(api, other_store):
    response = api.post("/api/v1/customers/", {"store": other_store.pk, "name": "王伟",
                                               "mobile": "13900000001"}, format="json")
    assert response.status_code == 400 and "store" in api_errors(response)
    assert not Customer.objects.exists()


def test_create_normalises_and_masks_for_roles_without_the_right(specialist_api, api, store):
    response = specialist_api.post("/api/v1/customers/", {
        "store": store.pk, "name": "王伟", "mobile": "+86 139 0000 0001",
        "id_number": make_id_number(), "family": [{"relation": "child", "name": "王小明"}]},
        format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["mobile"] == "139****0001"
    assert "*" in body["id_number"]
    assert body["family_members"][0]["name"] == "王小明"
    customer = Customer.objects.get()
    assert customer.mobile == "13900000001" and customer.birth_date == date(1985, 6, 15)
    # masked for a role that may reveal personal data too, unless it asks (and is logged)
    assert api.get(f"/api/v1/customers/{customer.pk}/").json()["mobile"] == "139****0001"
    assert api.get(f"/api/v1/customers/{customer.pk}/",
                   {"reveal": "1"}).json()["mobile"] == "13900000001"


def test_duplicate_refused_unless_confirmed(api, store, customer):
    data = {"store": store.pk, "name": "另一人", "mobile": customer.mobile}
    response = api.post("/api/v1/customers/", data, format="json")
    assert response.status_code == 400 and "mobile" in api_errors(response)
    response = api.post("/api/v1/customers/", {**data, "allow_duplicate": True}, format="json")
    assert response.status_code == 201


def test_scoping_other_store_is_404_and_absent(api, customer, other_customer):
    assert api.get(f"/api/v1/customers/{other_customer.pk}/").status_code == 404
    ids = [row["id"] for row in api.get("/api/v1/customers/").json()["results"]]
    assert ids == [customer.pk]
    other_vehicle = make_vehicle(other_customer, 77)
    assert api.get(f"/api/v1/vehicles/{other_vehicle.pk}/").status_code == 404
    assert api.get("/api/v1/vehicles/").json()["count"] == 0


def test_search_by_mobile_fragment_and_plate(api, customer, vehicle, store):
    make_customer(store, 2, name="别人", mobile="13812345678")
    assert [r["id"] for r in api.get("/api/v1/customers/", {"q": customer.mobile[-5:]}).json()["results"]] \
        == [customer.pk]
    assert [r["id"] for r in api.get("/api/v1/customers/", {"q": vehicle.plate}).json()["results"]] \
        == [customer.pk]


def test_list_query_count_fixed(api, store):
    def fill(start, count):
        for n in range(start, start + count):
            make_vehicle(make_customer(store, n), n)

    fill(1, 1)
    api.get("/api/v1/customers/")
    with CaptureQueriesContext(connection) as one:
        assert api.get("/api/v1/customers/").json()["count"] == 1
    fill(2, 19)
    with CaptureQueriesContext(connection) as twenty:
        assert api.get("/api/v1/customers/").json()["count"] == 20
    assert len(one) == len(twenty)


def test_dms_pushes_delivery_and_visit_by_vin_and_dates_move(client, make_user, store, vehicle):
    sales, service = APIClient(), APIClient()
    sales.force_authenticate(make_user(Role.SALES_MANAGER, store))
    service.force_authenticate(make_user(Role.SERVICE_MANAGER, store))
    response = sales.post("/api/v1/sales/", {"vin": vehicle.vin, "price": "150000",
                                             "order_date": "2026-08-01", "delivered_on": "2026-08-10",
                                             "dms_ref": "XS1"}, format="json")
    assert response.status_code == 201, response.json()
    vehicle.refresh_from_db()
    assert vehicle.first_service_due_on == date(2026, 11, 10)
    response = service.post("/api/v1/service-visits/", {
        "vin": vehicle.vin, "repair_type": "first_service", "date_in": "2026-11-01",
        "mileage": 5000, "next_service_on": "2027-04-01"}, format="json")
    assert response.status_code == 201, response.json()
    vehicle.refresh_from_db()
    assert vehicle.first_service_due_on is None
    assert vehicle.next_service_due_on == date(2027, 4, 1)
    assert vehicle.last_visit_on == date(2026, 11, 1)


def test_visit_with_bad_dates_saves_nothing(client, make_user, store, vehicle):
    service = APIClient()
    service.force_authenticate(make_user(Role.SERVICE_MANAGER, store))
    response = service.post("/api/v1/service-visits/", {
        "vehicle": vehicle.pk, "repair_type": "repair", "date_in": "2026-11-01",
        "date_out": "2026-10-01"}, format="json")
    assert response.status_code == 400 and "date_out" in api_errors(response)
    assert not ServiceVisit.objects.exists()


def test_unknown_vin_is_a_field_error(api):
    response = api.post("/api/v1/service-visits/", {"vin": make_vin(99), "repair_type": "repair",
                                                    "date_in": "2026-11-01"}, format="json")
    assert response.status_code == 400 and "vin" in api_errors(response)


def test_insurance_policy_push(api, vehicle):
    response = api.post("/api/v1/insurance-policies/", {
        "vehicle": vehicle.pk, "insurer": "平安产险", "starts_on": "2026-01-01",
        "expires_on": "2026-12-31"}, format="json")
    assert response.status_code == 201
    vehicle.refresh_from_db()
    assert vehicle.insurance_expires_on == date(2026, 12, 31)


def test_renewal_recorded_through_the_api_counts_in_the_renewal_rate(api, vehicle, caller):
    from customers.models import InsurancePolicy
    from customers.selectors import renewal_rate

    policy = InsurancePolicy.objects.create(
        vehicle=vehicle, customer=vehicle.customer, store=vehicle.store, insurer="平安产险",
        starts_on=date(2025, 12, 1), expires_on=date(2026, 11, 30))
    url = f"/api/v1/insurance-policies/{policy.pk}/renew/"
    refused = api.post(url, {"bought_here": True}, format="json")
    assert refused.status_code == 400 and "insurer" in str(refused.json())
    assert InsurancePolicy.objects.count() == 1
    other = APIClient()
    other.force_authenticate(caller)
    assert other.post(url, {"insurer": "人保", "bought_here": True}, format="json").status_code == 403
    response = api.post(url, {"insurer": "人保财险", "bought_here": True}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["starts_on"], body["expires_on"], body["bought_here"]) == (
        "2026-12-01", "2027-11-30", True)
    figure = renewal_rate([vehicle.store_id], date(2026, 11, 1), date(2026, 12, 1))
    assert (figure.numerator, figure.denominator) == (1, 1)
    assert InsurancePolicy.history.filter(id=body["id"]).exists()


def test_vehicle_register_and_due_filters(api, customer):
    response = api.post("/api/v1/vehicles/", {"customer": customer.pk, "vin": make_vin(5).lower(),
                                              "plate": "沪a12345"}, format="json")
    assert response.status_code == 201, response.json()
    vehicle = Vehicle.objects.get()
    assert vehicle.plate == "沪A12345"
    make_sale(vehicle, delivered_on=date(2026, 8, 10))
    rows = api.get("/api/v1/vehicles/", {"first_service_due_on__gte": "2026-11-01",
                                         "first_service_due_on__lte": "2026-11-30"}).json()["results"]
    assert [r["id"] for r in rows] == [vehicle.pk]


def test_caller_cannot_create_customers(client, caller, store):
    api = APIClient()
    api.force_authenticate(caller)
    response = api.post("/api/v1/customers/", {"store": store.pk, "name": "王伟",
                                               "mobile": "13900000001"}, format="json")
    assert response.status_code == 403
    assert api.get("/api/v1/customers/").status_code == 200


def test_merge_and_undo_through_the_api(api, store, customer):
    dup = make_customer(store, 2, name=customer.name, mobile=customer.mobile, allow_duplicate=True)
    make_vehicle(dup, 3)
    response = api.post(f"/api/v1/customers/{customer.pk}/merge/", {"merged": dup.pk}, format="json")
    assert response.status_code == 201
    assert customer.vehicles.count() == 1
    merge_id = response.json()["id"]
    assert api.post(f"/api/v1/customer-merges/{merge_id}/undo/").status_code == 200
    assert dup.vehicles.count() == 1


def test_delete_is_not_offered(api, customer):
    assert api.delete(f"/api/v1/customers/{customer.pk}/").status_code in (403, 405)
    assert Customer.objects.filter(pk=customer.pk).exists()


# Correction requests ------------------------------------------------------------------------------

@pytest.fixture
def caller_api(caller):
    client = APIClient()
    client.force_authenticate(caller)
    return client


def _file(client, customer, **fields):
    return client.post("/api/v1/correction-requests/", {
        "customer": customer.pk, "field": "customer.id_number", "department": "sales",
        "correct_value": make_id_number(serial=14), **fields}, format="json")


def test_correction_request_filed_applied_and_confirmed_through_the_api(caller_api, customer,
                                                                       sales_manager):
    from customers.models import CorrectionRequest

    response = _file(caller_api, customer)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "open" and "*" in body["correct_value"]  # masked for a caller
    manager = APIClient()
    manager.force_authenticate(sales_manager)
    assert caller_api.post(f"/api/v1/correction-requests/{body['id']}/apply/", {},
                           format="json").status_code == 403
    response = manager.post(f"/api/v1/correction-requests/{body['id']}/apply/",
                            {"note": "已核对"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "applied"
    customer.refresh_from_db()
    assert customer.id_number == make_id_number(serial=14)
    response = caller_api.post(f"/api/v1/correction-requests/{body['id']}/confirm/", format="json")
    assert response.json()["confirmed_at"]
    assert CorrectionRequest.objects.get().confirmed_by is not None


def test_correction_request_reject_needs_a_reason_and_bad_input_names_the_field(
        caller_api, customer, sales_manager):
    assert _file(caller_api, customer, correct_value="").status_code == 400
    assert "field" in api_errors(_file(caller_api, customer, field="nope"))
    correction = _file(caller_api, customer).json()
    manager = APIClient()
    manager.force_authenticate(sales_manager)
    url = f"/api/v1/correction-requests/{correction['id']}/reject/"
    response = manager.post(url, {"note": ""}, format="json")
    assert response.status_code == 400 and "decision_note" in api_errors(response)
    assert manager.post(url, {"note": "客户确认无误"}, format="json").json()["status"] == "rejected"


def test_correction_requests_are_scoped_and_the_list_has_a_fixed_query_count(
        api, caller, customer, other_customer, store):
    from customers import services

    foreign = services.correction_request_file(customer=other_customer, field="customer.name",
                                               correct_value="外店", filed_by=caller,
                                               department="sales")
    assert api.get(f"/api/v1/correction-requests/{foreign.pk}/").status_code == 404
    assert api.post("/api/v1/correction-requests/", {
        "customer": other_customer.pk, "field": "customer.name", "department": "sales",
        "correct_value": "x"}, format="json").status_code == 400
    services.correction_request_file(customer=customer, field="customer.name",
                                     correct_value="王伟", filed_by=caller, department="sales")
    with CaptureQueriesContext(connection) as one:
        assert api.get("/api/v1/correction-requests/").json()["count"] == 1
    for n in range(20, 30):
        services.correction_request_file(customer=make_customer(store, n), field="customer.name",
                                         correct_value=f"客户{n}", filed_by=caller,
                                         department="service")
    with CaptureQueriesContext(connection) as many:
        assert api.get("/api/v1/correction-requests/").json()["count"] == 11
    assert len(many) == len(one)


# Personal data through the API: masked unless revealed, every reveal logged ------------------------

@pytest.fixture
def private(store, caller):
    from customers import services

    customer = make_customer(store, 5, name="王伟", id_number=make_id_number(),
                             family=[{"relation": "spouse", "name": "李丽",
                                      "phone": "13900000077"}])
    services.correction_request_file(customer=customer, field="customer.mobile",
                                     correct_value="13900000088", filed_by=caller,
                                     department="sales")
    return customer


def _logs():
    from customers.models import PersonalDataExport, PersonalDataReveal

    return (list(PersonalDataReveal.objects.values_list("user__username", "customer_id", "field")),
            list(PersonalDataExport.objects.values_list("user__username", "kind", "customer_ids",
                                                        "unmasked")))


def test_the_customers_api_masks_for_every_role_unless_revealed(api, private):
    """The attack: a role with the reveal permission pages through the API. The list and
    the record come back masked, and nothing is logged because nothing was revealed."""
    for url in ("/api/v1/customers/", f"/api/v1/customers/{private.pk}/"):
        body = api.get(url).content.decode()
        assert private.mobile not in body and private.id_number not in body, url
        assert "13900000077" not in body and "139****0077" in body  # family phone too
        assert "139****0005" in body
    assert _logs() == ([], [])


def test_a_page_of_the_list_revealed_is_logged_as_an_export(api, cr_manager, private, store):
    make_customer(store, 6)
    response = api.get("/api/v1/customers/", {"reveal": "1", "q": "139"})
    assert response.status_code == 200
    body = response.content.decode()
    assert private.mobile in body and private.id_number in body and "13900000077" in body
    reveals, exports = _logs()
    assert reveals == []
    assert len(exports) == 1
    user, kind, ids, unmasked = exports[0]
    assert (user, kind, unmasked) == ("crm", "list", True)
    assert sorted(ids) == sorted(row["id"] for row in response.json()["results"])
    from customers.models import PersonalDataExport

    assert PersonalDataExport.objects.get().filters.startswith("/api/v1/customers/?")
    log = APIClient()
    log.force_login(cr_manager)
    assert "/api/v1/customers/" in log.get("/customers/reveals/").content.decode()


def test_one_record_revealed_is_logged_per_identifier(api, private):
    body = api.get(f"/api/v1/customers/{private.pk}/", {"reveal": "true"}).json()
    assert (body["mobile"], body["id_number"]) == (private.mobile, private.id_number)
    assert sorted(_logs()[0]) == [("crm", private.pk, "id_number"), ("crm", private.pk, "mobile")]


def test_the_reveal_action_shows_one_identifier_and_logs_it(api, private, other_customer):
    url = f"/api/v1/customers/{private.pk}/reveal/"
    response = api.post(url, {"field": "id_number"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"field": "id_number", "value": private.id_number}
    assert _logs()[0] == [("crm", private.pk, "id_number")]
    assert api.post(url, {"field": "name"}, format="json").status_code == 400
    assert api.post(f"/api/v1/customers/{other_customer.pk}/reveal/", {"field": "mobile"},
                    format="json").status_code == 404
    assert len(_logs()[0]) == 1


@pytest.mark.parametrize("role", [Role.CALLER, Role.CR_SPECIALIST, Role.LOUNGE_ATTENDANT,
                                  Role.SALES_MANAGER, Role.SERVICE_MANAGER])
def test_a_role_that_may_not_reveal_is_refused_and_nothing_is_logged(make_user, store, private,
                                                                     role):
    client = APIClient()
    client.force_authenticate(make_user(role, store))
    assert client.get("/api/v1/customers/", {"reveal": "1"}).status_code == 403
    assert client.get(f"/api/v1/customers/{private.pk}/", {"reveal": "1"}).status_code == 403
    assert client.post(f"/api/v1/customers/{private.pk}/reveal/", {"field": "mobile"},
                       format="json").status_code == 403
    body = client.get("/api/v1/customers/").content.decode()
    assert private.mobile not in body and private.id_number not in body
    assert _logs() == ([], [])


def test_correction_requests_mask_identifiers_unless_revealed(api, private):
    body = api.get("/api/v1/correction-requests/").content.decode()
    assert "13900000088" not in body and "139****0088" in body
    assert _logs() == ([], [])
    body = api.get("/api/v1/correction-requests/", {"reveal": "1"}).content.decode()
    assert "13900000088" in body
    assert _logs()[1] == [("crm", "list", [private.pk], True)]
    correction = private.correction_requests.get()
    body = api.get(f"/api/v1/correction-requests/{correction.pk}/", {"reveal": "1"}).json()
    assert body["correct_value"] == "13900000088"
    assert _logs()[0] == [("crm", private.pk, "mobile")]


def test_the_outbox_api_masks_mobiles_as_its_page_does(make_user, store, client):
    from crm_site.services import message_queue

    message_queue(store=store, recipient="13800001234", template_code="SMS_1")
    for role, full in ((Role.CALLER, False), (Role.CR_SPECIALIST, False),
                       (Role.CR_MANAGER, True), (Role.GENERAL_MANAGER, True)):
        user = make_user(role, store)
        client.force_login(user)
        page = client.get("/messages/").content.decode()
        api = APIClient()
        api.force_authenticate(user)
        rows = api.get("/api/v1/messages/").json()["results"]
        one = api.get(f"/api/v1/messages/{rows[0]['id']}/").json()
        expected = "13800001234" if full else "138****1234"
        assert rows[0]["recipient"] == one["recipient"] == expected, role
        assert expected in page and (full or "13800001234" not in page), role
@pytest.mark.parametrize(("field", "value"), [
    ("date_in", "0001-01-05"),  # the audit's absurd date: answered 500 after it was saved
    ("date_in", "1989-12-31"),
    ("date_out", "9999-12-31"),
    ("next_service_on", "9999-12-31"),
])
def test_visit_with_an_absurd_date_is_refused_and_leaves_no_row(client, make_user, store, vehicle,
                                                               field, value):
    service = APIClient(raise_request_exception=False)
    service.force_authenticate(make_user(Role.SERVICE_MANAGER, store))
    visit = {"vin": vehicle.vin, "repair_type": "repair", "date_in": "2026-11-01", field: value}
    response = service.post("/api/v1/service-visits/", visit, format="json")
    assert response.status_code == 400, response.content
    assert field in api_errors(response)
    assert not ServiceVisit.objects.exists()
    # A client retrying the same request gets the same answer, still without a row.
    assert service.post("/api/v1/service-visits/", visit, format="json").status_code == 400
    assert not ServiceVisit.objects.exists()


def test_visit_before_1990_is_refused_one_before_delivery_is_kept(make_user, store, vehicle):
    """A used car has workshop visits from before its present owner's delivery; only a
    date before any record of ours (1990) is a typing error."""
    vehicle.delivered_on = date(2026, 8, 10)
    vehicle.save()
    service = APIClient()
    service.force_authenticate(make_user(Role.SERVICE_MANAGER, store))
    response = service.post("/api/v1/service-visits/", {
        "vin": vehicle.vin, "repair_type": "repair", "date_in": "1989-12-31"}, format="json")
    assert response.status_code == 400 and "1990-01-01" in str(api_errors(response)["date_in"])
    assert not ServiceVisit.objects.exists()
    response = service.post("/api/v1/service-visits/", {
        "vin": vehicle.vin, "repair_type": "repair", "date_in": "2026-08-01"}, format="json")
    assert response.status_code == 201 and ServiceVisit.objects.count() == 1


def test_a_failing_reaction_to_a_visit_leaves_no_visit(make_user, store, vehicle):
    """The visit and what the floors above do about it are one transaction."""
    from customers import hooks

    def broken(visit):
        raise RuntimeError("follow-up floor failed")

    hooks.visit_recorded.register(broken)
    try:
        service = APIClient(raise_request_exception=False)
        service.force_authenticate(make_user(Role.SERVICE_MANAGER, store))
        response = service.post("/api/v1/service-visits/", {
            "vin": vehicle.vin, "repair_type": "repair", "date_in": "2026-11-01"}, format="json")
    finally:
        hooks.visit_recorded.unregister(broken)
    assert response.status_code == 500
    assert not ServiceVisit.objects.exists()
    vehicle.refresh_from_db()
    assert vehicle.last_visit_on is None


def test_the_manager_who_applied_a_correction_cannot_also_confirm_it(api, cr_manager, caller_api,
                                                                      customer):
    """Four eyes: a CR manager files, applies and 'confirms' alone - the confirmation is
    refused; a colleague's second call confirms it."""
    from customers.models import CorrectionRequest

    correction_id = _file(api, customer).json()["id"]
    response = api.post(f"/api/v1/correction-requests/{correction_id}/apply/", {"note": "已核对"},
                        format="json")
    assert response.status_code == 200, response.json()
    response = api.post(f"/api/v1/correction-requests/{correction_id}/confirm/", format="json")
    assert response.status_code == 403
    assert "另一位同事" in response.json()["message"]
    correction = CorrectionRequest.objects.get()
    assert correction.confirmed_by is None and correction.confirmed_at is None
    response = caller_api.post(f"/api/v1/correction-requests/{correction_id}/confirm/",
                               format="json")
    assert response.status_code == 200
    correction.refresh_from_db()
    assert correction.confirmed_by is not None and correction.confirmed_by != cr_manager


def test_the_correction_page_refuses_the_appliers_own_confirmation(client, cr_manager, customer):
    from customers import services
    from customers.models import CorrectionRequest

    correction = services.correction_request_file(
        customer=customer, field="customer.home_address", correct_value="新地址",
        filed_by=cr_manager, department="sales")
    services.correction_request_apply(correction=correction, actor=cr_manager, note="已核实")
    client.force_login(cr_manager)
    response = client.post(f"/customers/corrections/{correction.pk}/confirm/", {"note": ""})
    assert response.status_code == 200
    assert "另一位同事" in response.content.decode()
    assert CorrectionRequest.objects.get().confirmed_at is None
