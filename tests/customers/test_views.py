"""Pages: scoping, search, fixed query counts, masking and reveal, forms, merge, corrections."""

from datetime import date

import pytest
from django.urls import reverse

from crm_site.roles import Role
from customers import services, timeline
from customers.models import Customer, CustomerMerge, PersonalDataReveal
from tests.customers.factories import make_customer, make_sale, make_vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def specialist_client(client, specialist):
    client.force_login(specialist)
    return client


def _fill(store, count, start=10):
    for n in range(start, start + count):
        customer = make_customer(store, n)
        vehicle = make_vehicle(customer, n)
        make_sale(vehicle, delivered_on=date(2026, 8, 10))


def test_list_shows_only_own_store(manager_client, customer, other_customer):
    response = manager_client.get(reverse("customers:list"))
    assert response.status_code == 200
    assert customer.name in response.text
    assert other_customer.name not in response.text


def test_other_store_customer_is_404(manager_client, other_customer):
    assert manager_client.get(reverse("customers:detail", args=[other_customer.pk])).status_code == 404
    assert manager_client.get(reverse("customers:edit", args=[other_customer.pk])).status_code == 404
    reveal = reverse("customers:reveal", args=[other_customer.pk, "mobile"])
    assert manager_client.post(reveal).status_code == 404


def test_lounge_attendant_cannot_edit(client, make_user, store, customer):
    client.force_login(make_user(Role.LOUNGE_ATTENDANT, store))
    assert client.get(reverse("customers:edit", args=[customer.pk])).status_code == 403
    assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 200


@pytest.mark.parametrize("term", ["0000001", "139 0000", "沪A00001", "A00001", "LVGBE40K", "客户1"])
def test_search_by_mobile_fragment_plate_vin_and_name(manager_client, customer, vehicle, store, term):
    make_customer(store, 55, name="其他人", mobile="13812345678")
    response = manager_client.get(reverse("customers:list"), {"q": term})
    assert customer.name in response.text
    assert "其他人" not in response.text


def test_search_by_vin_tail(manager_client, customer, vehicle):
    response = manager_client.get(reverse("customers:list"), {"q": vehicle.vin[-6:]})
    assert customer.name in response.text


def test_list_query_count_is_the_same_for_1_and_20_rows(manager_client, store,
                                                       django_assert_num_queries):
    _fill(store, 1)
    url = reverse("customers:list")
    manager_client.get(url)  # warm permission caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        manager_client.get(url, {"q": "139"})
    _fill(store, 19, start=100)
    with django_assert_num_queries(len(one)):
        response = manager_client.get(url, {"q": "139"})
    assert response.text.count('href="/customers/vehicles/') == 20


def test_list_filters_due_and_lapsed(manager_client, store, vehicle, customer):
    make_sale(vehicle, delivered_on=date.today().replace(day=1))
    response = manager_client.get(reverse("customers:list"), {"due": "first_service", "within": 120})
    assert customer.name in response.text
    response = manager_client.get(reverse("customers:list"), {"lapsed": "1"})
    assert customer.name not in response.text


def test_export_current_view_is_masked(client, sales_manager, customer):
    """Masked for a role that may export but not reveal (see test_personal_data for the
    full export and the roles refused)."""
    client.force_login(sales_manager)
    response = client.get(reverse("customers:list"), {"export": "csv"})
    body = response.content.decode("utf-8-sig")
    assert customer.name in body
    assert customer.mobile not in body
    assert customer.mobile[:3] + "****" + customer.mobile[-4:] in body


def test_customer_page_has_a_fixed_query_count(manager_client, store, customer,
                                               django_assert_num_queries):
    vehicle = make_vehicle(customer, 1)
    make_sale(vehicle, delivered_on=date(2026, 8, 10))
    url = reverse("customers:detail", args=[customer.pk])
    manager_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        manager_client.get(url)
    for n in range(2, 6):
        car = make_vehicle(customer, n)
        make_sale(car, delivered_on=date(2026, 8, 10))
        services.service_visit_record(vehicle=car, repair_type="first_service", date_in=date(2026, 11, 1))
        services.insurance_policy_record(vehicle=car, insurer="平安", starts_on=date(2026, 1, 1),
                                         expires_on=date(2026, 12, 31))
    with django_assert_num_queries(len(first)):
        response = manager_client.get(url)
    assert response.text.count('data-kind="visit"') == 4


def test_customer_page_masks_and_reveal_is_logged(manager_client, cr_manager, customer):
    services.customer_update(customer=customer, id_number=__import__(
        "tests.customers.factories", fromlist=["make_id_number"]).make_id_number())
    customer.refresh_from_db()
    response = manager_client.get(reverse("customers:detail", args=[customer.pk]))
    assert customer.mobile not in response.text
    assert customer.id_number not in response.text
    response = manager_client.post(reverse("customers:reveal", args=[customer.pk, "mobile"]))
    assert customer.mobile in response.text
    assert PersonalDataReveal.objects.filter(user=cr_manager, field="mobile").count() == 1


def test_reveal_refused_without_the_right(specialist_client, customer):
    response = specialist_client.get(reverse("customers:detail", args=[customer.pk]))
    assert 'data-testid="reveal-mobile"' not in response.text
    reveal = reverse("customers:reveal", args=[customer.pk, "mobile"])
    assert specialist_client.post(reveal).status_code == 403
    assert not PersonalDataReveal.objects.exists()


def test_timeline_takes_entries_from_registered_providers(manager_client, customer):
    def provider(customer, user):
        return [timeline.TimelineEntry(when=date(2026, 1, 2), kind="call", title="回访：非常满意")]

    timeline.register(provider)
    try:
        response = manager_client.get(reverse("customers:detail", args=[customer.pk]))
    finally:
        timeline.unregister(provider)
    assert "回访：非常满意" in response.text


def test_create_form_shows_field_errors_inline(specialist_client, store):
    response = specialist_client.post(reverse("customers:create"), {
        "store": store.pk, "kind": "private", "card": "c", "name": "测试", "mobile": "12345"})
    assert response.status_code == 200
    assert "手机号码格式不正确" in response.text
    assert not Customer.objects.exists()


def test_create_and_edit_through_the_form(specialist_client, store, specialist):
    response = specialist_client.post(reverse("customers:create"), {
        "store": store.pk, "kind": "private", "card": "c", "name": "王伟", "mobile": "+86 139 0000 0001"})
    customer = Customer.objects.get()
    assert response.status_code == 302 and customer.mobile == "13900000001"
    response = specialist_client.post(reverse("customers:edit", args=[customer.pk]), {
        "kind": "private", "card": "c", "name": "王伟", "mobile": "13900000001", "hobbies": "钓鱼"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.hobbies == "钓鱼"
    assert customer.history.latest().history_user == specialist


def test_duplicate_warning_then_confirm(specialist_client, store, customer):
    data = {"store": store.pk, "kind": "private", "card": "c", "name": "另一人", "mobile": customer.mobile}
    response = specialist_client.post(reverse("customers:create"), data)
    assert "可能与已有客户重复" in response.text
    response = specialist_client.post(reverse("customers:create"), {**data, "allow_duplicate": "on"})
    assert response.status_code == 302


def test_inline_validation_endpoint(specialist_client):
    mobile, vin = reverse("customers:validate", args=["mobile"]), reverse("customers:validate", args=["vin"])
    response = specialist_client.post(mobile, {"mobile": "123"})
    assert "手机号码格式不正确" in response.text
    response = specialist_client.post(mobile, {"mobile": "13900000001"})
    assert response.text.strip() == ""
    response = specialist_client.post(vin, {"vin": "WVWZZZ1KZ6W000001"})
    assert "text-warning" in response.text


def test_vehicle_page_records_a_visit_and_moves_due_dates(client, make_user, store, vehicle):
    client.force_login(make_user(Role.SERVICE_MANAGER, store))
    response = client.post(reverse("customers:vehicle-record", args=[vehicle.pk, "visit"]), {
        "visit-repair_type": "periodic_service", "visit-date_in": "2026-11-01", "visit-amount": "500"})
    assert response.status_code == 302
    vehicle.refresh_from_db()
    assert vehicle.next_service_due_on == date(2027, 5, 1)
    response = client.post(reverse("customers:vehicle-record", args=[vehicle.pk, "visit"]), {
        "visit-repair_type": "repair", "visit-date_in": "2026-11-01", "visit-date_out": "2026-10-01",
        "visit-amount": "0"})
    assert response.status_code == 200 and "出厂日期不能早于进厂日期" in response.text


def test_correction_flow_through_pages(client, make_user, store, customer, caller, sales_manager):
    client.force_login(caller)
    response = client.post(reverse("customers:correction-create", args=[customer.pk]), {
        "call_date": "2026-11-01", "department": "sales", "field": "customer.home_address",
        "correct_value": "浦东新区2号"})
    assert response.status_code == 302
    correction = customer.correction_requests.get()
    client.force_login(sales_manager)
    response = client.get(reverse("customers:correction-list"))
    assert customer.name in response.text
    response = client.post(reverse("customers:correction-decide", args=[correction.pk, "apply"]),
                           {"note": "已核实", "value": "浦东新区2号"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.home_address == "浦东新区2号"


def test_correction_pages_mask_mobiles_and_id_numbers(client, store, customer, caller,
                                                     cr_manager):
    """A corrected mobile is personal data like the customer's own: the corrections list,
    the correction and the customer page show it masked, to the caller and the manager."""
    from customers import services

    correction = services.correction_request_file(
        customer=customer, field="customer.mobile", correct_value="13912345678", filed_by=caller,
        department="sales")
    for user in (caller, cr_manager):
        client.force_login(user)
        for url in (reverse("customers:correction-list"),
                    reverse("customers:correction-detail", args=[correction.pk]),
                    reverse("customers:detail", args=[customer.pk])):
            body = client.get(url).content.decode()
            assert "13912345678" not in body, (user, url)
            assert "139****5678" in body, (user, url)


def test_duplicates_page_merge_and_undo(manager_client, store, customer):
    dup = make_customer(store, 2, name=customer.name, mobile=customer.mobile, allow_duplicate=True)
    make_vehicle(dup, 7)
    response = manager_client.get(reverse("customers:duplicates"))
    assert f"merged={dup.pk}" in response.text
    response = manager_client.post(reverse("customers:merge"), {"kept": customer.pk, "merged": dup.pk})
    assert response.status_code == 302
    assert customer.vehicles.count() == 1
    merge = CustomerMerge.objects.get()
    response = manager_client.post(reverse("customers:merge-undo", args=[merge.pk]))
    assert response.status_code == 302
    assert dup.vehicles.count() == 1


def test_merge_form_cannot_reach_another_store(manager_client, customer, other_customer):
    response = manager_client.post(reverse("customers:merge"), {"kept": customer.pk,
                                                                 "merged": other_customer.pk})
    assert response.status_code == 200
    assert not CustomerMerge.objects.exists()


def test_list_runs_the_same_queries_for_10_and_100_rows(manager_client, store):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("customers:list")
    for n in range(10):
        make_vehicle(make_customer(store, n + 1), n + 1)
    manager_client.get(url, {"per_page": 100})
    with CaptureQueriesContext(connection) as ten:
        manager_client.get(url, {"per_page": 100})
    for n in range(10, 100):
        make_vehicle(make_customer(store, n + 1), n + 1)
    with CaptureQueriesContext(connection) as hundred:
        response = manager_client.get(url, {"per_page": 100})
    assert response.text.count('href="/customers/vehicles/') == 100
    assert len(ten) == len(hundred)


def test_history_page_shows_who_changed_what(manager_client, cr_manager, customer, vehicle):
    services.customer_update(customer=customer, actor=cr_manager, home_address="新地址")
    services.vehicle_update(vehicle=vehicle, actor=cr_manager, plate="沪B54321")
    response = manager_client.get(reverse("customers:history", args=[customer.pk]))
    assert response.status_code == 200
    assert "新地址" in response.text and "家庭住址" in response.text
    assert "沪B54321" in response.text and str(cr_manager) in response.text


def test_inline_id_validation_checks_agreement_with_the_form(specialist_client):
    from tests.customers.factories import make_id_number

    url = reverse("customers:validate", args=["id_number"])
    number = make_id_number(date(1985, 6, 15), male=True)
    assert specialist_client.post(url, {"id_number": number}).text.strip() == ""
    response = specialist_client.post(url, {"id_number": number, "gender": "female"})
    assert "性别" in response.text
    response = specialist_client.post(url, {"id_number": number, "birth_date": "1985-06-16"})
    assert "出生日期" in response.text


def test_two_character_name_search_matches_from_the_start(manager_client, store):
    make_customer(store, 1, name="王伟")
    make_customer(store, 2, name="王伟东")
    make_customer(store, 3, name="李王伟")
    response = manager_client.get(reverse("customers:list"), {"q": "王伟"})
    assert "王伟东" in response.text and ">王伟<" in response.text
    assert "李王伟" not in response.text


def test_count_is_capped_on_huge_lists(manager_client, store, monkeypatch):
    from customers.selectors import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 3)
    for n in range(5):
        make_customer(store, n + 1)
    response = manager_client.get(reverse("customers:list"))
    assert "超过 3 位客户" in response.text


def test_lounge_attendant_sees_no_sale_prices(client, make_user, store, customer, vehicle):
    make_sale(vehicle, price=123456)
    client.force_login(make_user(Role.LOUNGE_ATTENDANT, store))
    assert "123456" not in client.get(reverse("customers:detail", args=[customer.pk])).text
    page = client.get(reverse("customers:vehicle-detail", args=[vehicle.pk]))
    assert page.status_code == 200 and "123456" not in page.text


def test_vehicle_page_of_another_store_is_404(manager_client, other_customer):
    car = make_vehicle(other_customer, 66)
    assert manager_client.get(reverse("customers:vehicle-detail", args=[car.pk])).status_code == 404


def test_plate_typed_without_its_last_character_still_finds_a_new_energy_car(manager_client, customer):
    make_vehicle(customer, 8, plate="沪AD12345")
    response = manager_client.get(reverse("customers:list"), {"q": "沪AD1234"})
    assert customer.name in response.text
