"""The lounge (吧台): the visitor log, stored preferences, the attendant's screen, its API
and the customer's timeline."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from crm_site.roles import Role
from customers import timeline
from customers.models import Customer
from followups import selectors, services
from followups.models import LoungePreference, LoungeVisit
from followups.timeline import lounge_club_entries
from tests.validation import api_errors, refused

from .factories import CustomerFactory, VehicleFactory
from .helpers import MON, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def attendant(make_user, store):
    return make_user(Role.LOUNGE_ATTENDANT, store, username="bar")


@pytest.fixture
def other_attendant(make_user, other_store):
    return make_user(Role.LOUNGE_ATTENDANT, other_store, username="otherbar")


def _arrive(actor, store, **fields):
    fields.setdefault("purpose", LoungeVisit.Purpose.SERVICE)
    return services.lounge_visit_arrive(actor=actor, store=store, **fields)


# Services -----------------------------------------------------------------------------------

def test_a_known_customer_starts_from_the_stored_preferences(store, attendant):
    customer = CustomerFactory(store=store)
    first = _arrive(attendant, store, customer=customer, drink="美式咖啡", newspaper="参考消息")
    assert first.served_by == attendant
    services.lounge_visit_depart(actor=attendant, visit=first)
    second = _arrive(attendant, store, customer=customer, interests="摄影")
    assert (second.drink, second.newspaper, second.interests) == ("美式咖啡", "参考消息", "摄影")
    preference = LoungePreference.objects.get(customer=customer)
    assert (preference.drink, preference.interests) == ("美式咖啡", "摄影")
    assert preference.history.count() == 2


def test_a_new_visitor_becomes_an_a_card_prospect(store, attendant):
    visit = _arrive(attendant, store, name=" 周先生 ", mobile="+86 139-1666-0001",
                    purpose=LoungeVisit.Purpose.WALK_IN)
    prospect = visit.customer
    assert (prospect.name, prospect.mobile, prospect.card, prospect.source) == (
        "周先生", "13916660001", Customer.Card.A, "吧台来访")


def test_a_visitor_with_a_known_mobile_is_that_customer(store, attendant):
    customer = CustomerFactory(store=store, mobile="13916660002")
    visit = _arrive(attendant, store, name="别的名字", mobile="13916660002")
    assert visit.customer == customer
    assert Customer.objects.count() == 1


def test_a_waiting_visitor_cannot_arrive_twice(store, attendant):
    customer = CustomerFactory(store=store)
    visit = _arrive(attendant, store, customer=customer)
    with pytest.raises(ValidationError) as error:
        _arrive(attendant, store, customer=customer)
    assert "customer" in error.value.message_dict
    services.lounge_visit_depart(actor=attendant, visit=visit)
    _arrive(attendant, store, customer=customer)


@pytest.mark.parametrize(("fields", "field"), [
    ({"name": "", "mobile": "13916660003"}, "name"),
    ({"name": "周先生", "mobile": ""}, "mobile"),
    ({"name": "周先生", "mobile": "12345"}, "mobile"),
    ({"name": "周先生", "mobile": "13916660003", "purpose": "party"}, "purpose"),
    ({"name": "周先生", "mobile": "13916660003", "drink": "茶" * 51}, "drink"),
])
def test_bad_input_names_the_field_and_saves_nothing(store, attendant, fields, field):
    with pytest.raises(ValidationError) as error:
        _arrive(attendant, store, **fields)
    assert field in error.value.message_dict
    assert not LoungeVisit.objects.exists()
    assert not Customer.objects.exists()


def test_another_stores_customer_or_store_is_refused(store, other_store, attendant):
    with refused("customer", "客户不属于该门店。"):
        _arrive(attendant, store, customer=CustomerFactory(store=other_store))
    with pytest.raises(PermissionDenied):
        _arrive(attendant, other_store, name="周先生", mobile="13916660004")


def test_departure_once_and_not_before_arrival(store, attendant):
    with time_machine.travel(at(MON, 10), tick=False):
        visit = _arrive(attendant, store, customer=CustomerFactory(store=store))
    with refused("departed_at", "离店时间不能早于到店时间。"):
        services.lounge_visit_depart(actor=attendant, visit=visit, now=at(MON, 9))
    services.lounge_visit_depart(actor=attendant, visit=visit, now=at(MON, 10))
    with pytest.raises(ValidationError) as error:
        services.lounge_visit_depart(actor=attendant, visit=visit, now=at(MON, 11))
    assert "departed_at" in error.value.message_dict


def test_a_preference_needs_something_and_keeps_the_rest(store, attendant):
    customer = CustomerFactory(store=store)
    visit = _arrive(attendant, store, customer=customer)
    with pytest.raises(ValidationError) as error:
        services.lounge_preference_record(actor=attendant, customer=customer, visit=visit)
    assert "drink" in error.value.message_dict
    services.lounge_preference_record(actor=attendant, customer=customer, visit=visit,
                                      drink="绿茶", newspaper="新民晚报")
    services.lounge_preference_record(actor=attendant, customer=customer, interests="钓鱼")
    preference = LoungePreference.objects.get(customer=customer)
    assert (preference.drink, preference.newspaper, preference.interests) == ("绿茶", "新民晚报", "钓鱼")
    visit.refresh_from_db()
    assert visit.drink == "绿茶"


def test_a_caller_may_not_log_visits(store, caller):
    with pytest.raises(PermissionDenied):
        _arrive(caller, store, name="周先生", mobile="13916660005")


# The board and the quick find ------------------------------------------------------------------

def test_the_board_shows_who_waits_and_who_left_today(store, attendant):
    waiting_since_yesterday = CustomerFactory(store=store)
    with time_machine.travel(at(MON - timedelta(days=1), 15), tick=False):
        _arrive(attendant, store, customer=waiting_since_yesterday)
        gone = _arrive(attendant, store, customer=CustomerFactory(store=store))
        services.lounge_visit_depart(actor=attendant, visit=gone)
    with time_machine.travel(at(MON, 10), tick=False):
        left = _arrive(attendant, store, customer=CustomerFactory(store=store))
        services.lounge_visit_depart(actor=attendant, visit=left)
        waiting = _arrive(attendant, store, customer=CustomerFactory(store=store))
    board = selectors.lounge_board(attendant, MON)
    assert [v.customer for v in board["waiting"]] == [waiting_since_yesterday, waiting.customer]
    assert board["left"] == [left]


def test_quick_find_by_plate_or_mobile_with_preferences(store, other_store, attendant):
    car = VehicleFactory(store=store, plate="沪A8K123")
    services.lounge_preference_record(actor=attendant, customer=car.customer, drink="红茶")
    VehicleFactory(store=other_store, plate="沪A8K124")
    found = selectors.lounge_find(attendant, "沪A8K12")
    assert found == [car.customer]
    assert found[0].lounge_preference.drink == "红茶"
    assert selectors.lounge_find(attendant, car.customer.mobile[-6:]) == [car.customer]


# Pages --------------------------------------------------------------------------------------

def test_the_lounge_is_the_attendants_home(client, attendant):
    client.force_login(attendant)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("followups:lounge")


def _board_queries(client, django_assert_num_queries, queries=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if queries is None:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("followups:lounge"))
        return response, len(captured)
    with django_assert_num_queries(queries):
        response = client.get(reverse("followups:lounge"))
    return response, queries


def test_the_screen_runs_a_fixed_number_of_queries(client, store, attendant,
                                                   django_assert_num_queries):
    client.force_login(attendant)
    _arrive(attendant, store, customer=VehicleFactory(store=store).customer, drink="茶")
    response, one = _board_queries(client, django_assert_num_queries)
    assert response.status_code == 200
    for _n in range(6):
        car = VehicleFactory(store=store)
        VehicleFactory(store=store, customer=car.customer)
        _arrive(attendant, store, customer=car.customer, drink="咖啡")
    response, _queries = _board_queries(client, django_assert_num_queries, queries=one)
    assert response.content.decode().count('data-testid="lounge-waiting"') == 7


def test_arrive_depart_and_preference_in_place(client, store, attendant):
    client.force_login(attendant)
    customer = CustomerFactory(store=store)
    services.lounge_preference_record(actor=attendant, customer=customer, drink="普洱茶")
    picked = client.get(reverse("followups:lounge"), {"customer": customer.pk}, HTTP_HX_REQUEST="true")
    assert 'value="普洱茶"' in picked.content.decode()
    response = client.post(reverse("followups:lounge-arrive"), {
        "store": store.pk, "customer": customer.pk, "purpose": "service", "drink": "普洱茶"},
        HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="lounge"' in response.content.decode()
    visit = LoungeVisit.objects.get()
    response = client.post(reverse("followups:lounge-preference", args=[visit.pk]),
                           {"drink": "", "newspaper": "", "interests": "高尔夫"},
                           HTTP_HX_REQUEST="true")
    assert "高尔夫" in response.content.decode()
    response = client.post(reverse("followups:lounge-depart", args=[visit.pk]),
                           HTTP_HX_REQUEST="true")
    assert 'data-testid="lounge-left"' in response.content.decode()
    visit.refresh_from_db()
    assert visit.departed_at is not None


def test_bad_arrival_is_shown_in_place(client, store, attendant):
    client.force_login(attendant)
    response = client.post(reverse("followups:lounge-arrive"), {
        "store": store.pk, "purpose": "service", "name": "", "mobile": ""}, HTTP_HX_REQUEST="true")
    assert 'data-testid="lounge-errors"' in response.content.decode()
    assert not LoungeVisit.objects.exists()


def test_another_stores_visit_is_not_found(client, store, attendant, other_attendant):
    visit = _arrive(attendant, store, customer=CustomerFactory(store=store))
    client.force_login(other_attendant)
    assert client.post(reverse("followups:lounge-depart", args=[visit.pk])).status_code == 404
    assert client.post(reverse("followups:lounge-preference", args=[visit.pk]),
                       {"drink": "茶"}).status_code == 404
    assert client.get(reverse("followups:lounge"), {"customer": visit.customer_id}).status_code == 404


# API ------------------------------------------------------------------------------------------

@pytest.fixture
def api(attendant):
    client = APIClient()
    client.force_authenticate(attendant)
    return client


def test_api_logs_a_visit_departure_and_preference(api, store):
    response = api.post("/api/v1/lounge-visits/", {
        "store": store.pk, "purpose": "walk_in", "name": "周先生", "mobile": "13916660006",
        "drink": "矿泉水"}, format="json")
    assert response.status_code == 201, response.json()
    visit = response.json()
    assert visit["customer_name"] == "周先生" and visit["drink"] == "矿泉水"
    response = api.post(f"/api/v1/lounge-visits/{visit['id']}/preference/",
                        {"newspaper": "参考消息"}, format="json")
    assert response.json()["drink"] == "矿泉水"
    assert api.post(f"/api/v1/lounge-visits/{visit['id']}/depart/").json()["departed_at"]
    again = api.post(f"/api/v1/lounge-visits/{visit['id']}/depart/")
    assert again.status_code == 400 and "departed_at" in api_errors(again)
    assert api.get("/api/v1/lounge-visits/", {"waiting": "true"}).json()["count"] == 0
    customer = visit["customer"]
    assert api.get(f"/api/v1/lounge-preferences/{customer}/").json()["newspaper"] == "参考消息"


def test_api_bad_input_names_the_field(api, store):
    response = api.post("/api/v1/lounge-visits/", {"store": store.pk, "purpose": "sales"},
                        format="json")
    assert response.status_code == 400
    assert set(api_errors(response)) == {"name", "mobile"}


def test_api_other_store_is_not_found(api, store, other_store, other_attendant):
    visit = _arrive(other_attendant, other_store, customer=CustomerFactory(store=other_store))
    assert api.get(f"/api/v1/lounge-visits/{visit.pk}/").status_code == 404
    assert api.post(f"/api/v1/lounge-visits/{visit.pk}/depart/").status_code == 404
    response = api.post("/api/v1/lounge-visits/", {
        "store": store.pk, "purpose": "sales", "customer": visit.customer_id}, format="json")
    assert response.status_code == 400 and "customer" in api_errors(response)


def test_api_list_runs_a_fixed_number_of_queries(api, store, attendant,
                                                 django_assert_max_num_queries):
    for _n in range(5):
        _arrive(attendant, store, customer=CustomerFactory(store=store))
    with django_assert_max_num_queries(6):  # session-less auth: perms, count, rows
        response = api.get("/api/v1/lounge-visits/")
    assert response.json()["count"] == 5


# Timeline -------------------------------------------------------------------------------------

def test_visits_are_on_the_customers_timeline(store, attendant, cr_manager,
                                              django_assert_max_num_queries):
    assert lounge_club_entries in timeline.providers()
    customer = CustomerFactory(store=store)
    visit = _arrive(attendant, store, customer=customer, drink="拿铁")
    services.lounge_visit_depart(actor=attendant, visit=visit)
    _arrive(attendant, store, customer=customer)
    with django_assert_max_num_queries(6):
        entries = lounge_club_entries(customer, cr_manager)
    lounge = [e for e in entries if e.kind == "lounge"]
    assert len(lounge) == 2
    assert any("拿铁" in e.body for e in lounge)


def test_quick_find_runs_a_fixed_number_of_queries(client, store, attendant,
                                                   django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(attendant)
    VehicleFactory(store=store, plate="沪C10001")
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("followups:lounge-find"), {"q": "沪C1000"})
    for n in range(2, 7):
        car = VehicleFactory(store=store, plate=f"沪C1000{n}")
        services.lounge_preference_record(actor=attendant, customer=car.customer, drink="茶")
    with django_assert_num_queries(len(one)):
        response = client.get(reverse("followups:lounge-find"), {"q": "沪C1000"})
    assert response.content.decode().count('data-testid="lounge-found"') == 6
