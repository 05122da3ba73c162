"""The owners' club (车友会): membership, activities through the event machinery and the
programme engine, sign-ups, attendance, feedback, the KPIs at their edges, the page and
the API."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from crm_site.roles import Role
from customers.models import Customer
from followups import rules, selectors, services
from followups.models import CareClass, ClassInvitation, ClubMember, ClubSettings, Task
from followups.timeline import lounge_club_entries
from tests.validation import api_errors, refused

from .factories import CustomerFactory, ServiceVisitFactory, VehicleFactory
from .helpers import MON, SH, at, plan

pytestmark = pytest.mark.django_db


def _join(actor, customer, **fields):
    fields.setdefault("source", ClubMember.Source.DELIVERY)
    return services.club_member_join(actor=actor, customer=customer, **fields)


def _activity(store, starts_at, *, kind=CareClass.Kind.DRIVE, capacity=20, title="自驾游"):
    """An activity as it was planned (directly, so it may lie in the past)."""
    return CareClass.objects.create(
        store=store, programme=services._event_programme(kind), kind=kind, title=title,
        starts_at=starts_at, capacity=capacity)


# Rules ----------------------------------------------------------------------------------------

def test_rates_are_not_applicable_without_a_base():
    assert rules.attendance_rate(0, 0) is None
    assert rules.attendance_rate(0, 3) == 0.0
    assert rules.attendance_rate(2, 3) == Decimal("66.7")
    assert rules.share(5, 5) == 100.0


def test_the_return_window_ends_today_and_counts_n_days():
    assert rules.return_window(date(2026, 11, 30), 180) == (date(2026, 6, 4), date(2026, 11, 30))
    assert rules.return_window(date(2026, 11, 30), 1) == (date(2026, 11, 30), date(2026, 11, 30))


def test_month_starts_cross_the_year():
    assert rules.month_starts(date(2026, 2, 15), 3) == [date(2025, 12, 1), date(2026, 1, 1),
                                                        date(2026, 2, 1)]


# Membership -----------------------------------------------------------------------------------

def test_join_leave_and_rejoin_keep_one_row(store, cr_manager):
    customer = CustomerFactory(store=store)
    with time_machine.travel(at(MON, 10), tick=False):
        member = _join(cr_manager, customer, joined_on=MON - timedelta(days=10))
        assert member.level.code == "standard"
        with pytest.raises(ValidationError) as error:
            _join(cr_manager, customer)
        assert "customer" in error.value.message_dict
        with pytest.raises(ValidationError) as error:
            services.club_member_leave(actor=cr_manager, member=member, reason="")
        assert "reason" in error.value.message_dict
        with refused("left_on", "退会日期不能早于入会日期。"):
            services.club_member_leave(actor=cr_manager, member=member, reason="搬家",
                                       left_on=MON - timedelta(days=11))
        services.club_member_leave(actor=cr_manager, member=member, reason="搬家")
        again = _join(cr_manager, customer, source=ClubMember.Source.ACTIVITY)
    assert again.pk == member.pk and again.left_on is None and again.joined_on == MON
    assert again.history.count() == 3


def test_joining_is_for_owners_and_not_in_the_future(store, cr_manager):
    with pytest.raises(ValidationError) as error:
        _join(cr_manager, CustomerFactory(store=store, card=Customer.Card.A))
    assert "customer" in error.value.message_dict
    with time_machine.travel(at(MON, 10), tick=False):
        with pytest.raises(ValidationError) as error:
            _join(cr_manager, CustomerFactory(store=store), joined_on=MON + timedelta(days=1))
        assert "joined_on" in error.value.message_dict
        assert _join(cr_manager, CustomerFactory(store=store), joined_on=MON).joined_on == MON
    with pytest.raises(ValidationError) as error:
        _join(cr_manager, CustomerFactory(store=store), source="facebook")
    assert "source" in error.value.message_dict


# Activities: the event machinery and the programme engine ------------------------------------------

def test_an_activity_invites_through_the_club_programme(store, cr_manager):
    with time_machine.travel(at(MON, 10), tick=False):
        activity = services.care_class_create(
            actor=cr_manager, store=store, kind=CareClass.Kind.FESTIVAL, title="新春联谊会",
            starts_at=datetime.combine(MON + timedelta(days=14), time(14), SH))
        care_class = services.care_class_create(
            actor=cr_manager, store=store, title="养护课堂",
            starts_at=datetime.combine(MON + timedelta(days=20), time(14), SH))
    assert activity.programme.code == "club_activity" and activity.is_club_activity
    assert care_class.programme.code == "care_class" and not care_class.is_club_activity
    customer = CustomerFactory(store=store)
    services.care_class_invite(actor=cr_manager, care_class=activity, customers=[customer])
    plan(MON)
    task = Task.objects.get(care_class=activity)
    assert (task.programme_code, task.step.code, task.customer) == ("club_activity", "call-14", customer)


def test_new_owners_are_invited_within_a_week_of_delivery(store):
    car = VehicleFactory(store=store, delivered_on=MON - timedelta(days=3))
    plan(MON)
    task = Task.objects.get(vehicle=car, programme_code="club_welcome")
    assert task.channel == "call" and task.deadline_on <= car.delivered_on + timedelta(days=7)


def test_sign_up_capacity_and_start(store, cr_manager):
    starts = datetime.combine(MON + timedelta(days=3), time(9), SH)
    activity = _activity(store, starts, capacity=1)
    first, second = CustomerFactory(store=store), CustomerFactory(store=store)
    with time_machine.travel(at(MON, 10), tick=False):
        invitation = services.club_activity_sign_up(actor=cr_manager, activity=activity,
                                                    customer=first)
        assert invitation.reply == ClassInvitation.Reply.ACCEPTED
        with pytest.raises(ValidationError) as error:
            services.club_activity_sign_up(actor=cr_manager, activity=activity, customer=second)
        assert "reply" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.club_activity_sign_up(actor=cr_manager, activity=activity, customer=second,
                                       now=starts)
    assert "activity" in error.value.message_dict


def test_feedback_only_from_attendees_rated_1_to_5(store, cr_manager):
    activity = _activity(store, at(MON, 9))
    invitation = ClassInvitation.objects.create(care_class=activity, customer=CustomerFactory(store=store),
                                                reply="accepted")
    with pytest.raises(ValidationError) as error:
        services.invitation_feedback(actor=cr_manager, invitation=invitation, rating=5)
    assert "attended" in error.value.message_dict
    services.invitation_attendance(actor=cr_manager, invitation=invitation, attended=True)
    for bad in (0, 6, "x"):
        with pytest.raises(ValidationError) as error:
            services.invitation_feedback(actor=cr_manager, invitation=invitation, rating=bad)
        assert "rating" in error.value.message_dict
    services.invitation_feedback(actor=cr_manager, invitation=invitation, rating=1, text="太冷")
    services.invitation_feedback(actor=cr_manager, invitation=invitation, rating=5)
    invitation.refresh_from_db()
    assert invitation.feedback_rating == 5


# KPIs -----------------------------------------------------------------------------------------

def _kpis(user, today=MON):
    return selectors.club_kpis(user, today, at(today, 12))


def test_attendance_rate_is_not_applicable_with_no_sign_ups(store, cr_manager):
    activity = _activity(store, at(MON - timedelta(days=5), 9))
    ClassInvitation.objects.create(care_class=activity, customer=CustomerFactory(store=store),
                                   reply="declined")
    kpis = _kpis(cr_manager)
    assert kpis["attendance_rate"] is None
    assert kpis["activities"][0].attendance_rate is None


def test_attendance_rate_counts_attendees_among_sign_ups_of_past_activities(store, cr_manager):
    past = _activity(store, at(MON - timedelta(days=5), 9))
    upcoming = _activity(store, at(MON + timedelta(days=5), 9))
    care_class = _activity(store, at(MON - timedelta(days=5), 9), kind=CareClass.Kind.CARE_CLASS)
    for n, (reply, attended) in enumerate([("accepted", True), ("accepted", True),
                                           ("accepted", False), ("declined", True)]):
        customer = CustomerFactory(store=store)
        ClassInvitation.objects.create(care_class=past, customer=customer, reply=reply,
                                       attended=attended, feedback_rating=4 + n % 2)
        ClassInvitation.objects.create(care_class=upcoming, customer=customer, reply="accepted")
        ClassInvitation.objects.create(care_class=care_class, customer=customer, reply="accepted")
    kpis = _kpis(cr_manager)
    assert (kpis["signed_up"], kpis["attended"], kpis["attendance_rate"]) == (3, 2, Decimal("66.7"))
    assert [a.pk for a in kpis["activities"]] == [past.pk]


def test_members_and_new_members_per_month(store, cr_manager):
    with time_machine.travel(at(MON, 10), tick=False):
        for joined in (date(2026, 11, 1), date(2026, 11, 20), date(2026, 10, 31),
                       date(2025, 11, 30), date(2025, 12, 1)):
            _join(cr_manager, CustomerFactory(store=store), joined_on=joined)
        gone = _join(cr_manager, CustomerFactory(store=store), joined_on=date(2026, 9, 3))
        services.club_member_leave(actor=cr_manager, member=gone, reason="车辆已售")
    kpis = _kpis(cr_manager)
    assert (kpis["members"], kpis["left"], kpis["new_this_month"]) == (5, 1, 2)
    months = {row["month"]: row["n"] for row in kpis["new_per_month"]}
    assert len(months) == 12 and min(months) == date(2025, 12, 1)
    assert (months[date(2025, 12, 1)], months[date(2026, 10, 1)], months[date(2026, 9, 1)]) == (1, 1, 1)


@pytest.mark.parametrize(("days_ago", "counts"), [(0, True), (179, True), (180, False),
                                                  (-1, False)])
def test_return_visit_window_edges(store, cr_manager, days_ago, counts):
    ClubSettings.objects.filter(pk=1).update(return_visit_days=180)
    with time_machine.travel(at(MON, 10), tick=False):
        member_car = VehicleFactory(store=store)
        _join(cr_manager, member_car.customer)
    other_car = VehicleFactory(store=store)
    VehicleFactory(store=store)  # an owner who never came back
    CustomerFactory(store=store, card=Customer.Card.A)  # a prospect is no owner
    for car in (member_car, other_car):
        ServiceVisitFactory(vehicle=car, date_in=MON - timedelta(days=days_ago))
    kpis = _kpis(cr_manager)
    assert (kpis["member_owners"], kpis["other_owners"]) == (1, 2)
    assert kpis["member_return_rate"] == (100.0 if counts else 0.0)
    assert kpis["other_return_rate"] == (50.0 if counts else 0.0)


def test_return_rate_is_not_applicable_without_members(store, cr_manager):
    VehicleFactory(store=store)
    kpis = _kpis(cr_manager)
    assert kpis["member_return_rate"] is None and kpis["other_return_rate"] == 0.0


def test_kpis_are_scoped_and_run_a_fixed_number_of_queries(store, other_store, cr_manager,
                                                           make_user,
                                                           django_assert_num_queries):
    other_manager = make_user(Role.CR_MANAGER, other_store)
    _join(cr_manager, CustomerFactory(store=store))
    with django_assert_num_queries(5):
        one = _kpis(cr_manager)
    for _n in range(5):
        car = VehicleFactory(store=store)
        _join(cr_manager, car.customer)
        ServiceVisitFactory(vehicle=car, date_in=MON)
        activity = _activity(store, at(MON - timedelta(days=3), 9), title=f"课堂{_n}")
        ClassInvitation.objects.create(care_class=activity, customer=car.customer,
                                       reply="accepted", attended=True)
    with django_assert_num_queries(5):
        many = _kpis(cr_manager)
    assert (one["members"], many["members"]) == (1, 6)
    assert _kpis(other_manager)["members"] == 0


# Pages ----------------------------------------------------------------------------------------

def test_the_club_page_runs_a_fixed_number_of_queries(client, store, cr_manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(cr_manager)

    def count():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("followups:club"))
        assert response.status_code == 200
        return len(captured), response

    _join(cr_manager, CustomerFactory(store=store))
    first, _response = count()
    for n in range(4):
        _join(cr_manager, CustomerFactory(store=store))
        _activity(store, at(MON + timedelta(days=400 + n), 9), title=f"未来{n}")
        _activity(store, at(MON - timedelta(days=3 + n), 9), title=f"过去{n}")
    again, response = count()
    assert again == first
    assert response.content.decode().count('data-testid="club-member"') == 5
    assert "不适用" in response.content.decode()


def test_join_from_the_customer_page(client, store, cr_manager):
    client.force_login(cr_manager)
    customer = CustomerFactory(store=store)
    url = reverse("followups:club-join") + f"?customer={customer.pk}"
    assert client.get(url).status_code == 200
    response = client.post(url, {"source": "lounge", "level": ClubMember._meta.get_field("level")
                                 .related_model.objects.get(code="gold").pk,
                                 "joined_on": MON.isoformat(), "notes": ""})
    assert response.status_code == 302
    assert ClubMember.objects.get(customer=customer).level.code == "gold"


def test_sign_up_and_feedback_on_the_activity_page(client, store, cr_manager):
    client.force_login(cr_manager)
    car = VehicleFactory(store=store, plate="沪B12345")
    activity = _activity(store, datetime.combine(date.today() + timedelta(days=10), time(9), SH))
    client.post(reverse("followups:class", args=[activity.pk]), {"sign_up": "沪B12345"})
    invitation = ClassInvitation.objects.get(care_class=activity, customer=car.customer)
    assert invitation.reply == "accepted"
    client.post(reverse("followups:invitation", args=[invitation.pk]), {"attended": "1"})
    client.post(reverse("followups:invitation", args=[invitation.pk]),
                {"feedback_rating": "4", "feedback": "很好"})
    invitation.refresh_from_db()
    assert (invitation.attended, invitation.feedback_rating, invitation.feedback) == (True, 4, "很好")


def test_another_stores_member_is_not_found(client, store, other_store, cr_manager, make_user):
    other = make_user(Role.CR_MANAGER, other_store)
    member = _join(other, CustomerFactory(store=other_store))
    client.force_login(cr_manager)
    assert client.post(reverse("followups:club-leave", args=[member.pk]),
                       {"reason": "x"}).status_code == 404
    assert client.get(reverse("followups:club-join") + f"?customer={member.customer_id}").status_code == 404


# API ------------------------------------------------------------------------------------------

@pytest.fixture
def api(cr_manager):
    client = APIClient()
    client.force_authenticate(cr_manager)
    return client


def test_api_members_join_and_leave(api, store):
    customer = CustomerFactory(store=store)
    response = api.post("/api/v1/club-members/", {"customer": customer.pk, "source": "referral",
                                                  "level": "silver"}, format="json")
    assert response.status_code == 201, response.json()
    member = response.json()
    assert member["level"] == "silver" and member["store"] == store.pk
    again = api.post("/api/v1/club-members/", {"customer": customer.pk, "source": "referral"},
                     format="json")
    assert again.status_code == 400 and "customer" in api_errors(again)
    left = api.post(f"/api/v1/club-members/{member['id']}/leave/", {"reason": "车辆已售"},
                    format="json")
    assert left.json()["left_on"]


def test_api_activity_sign_up_attendance_feedback(api, store):
    customer = CustomerFactory(store=store)
    starts = datetime.combine(date.today() + timedelta(days=20), time(14), SH)
    response = api.post("/api/v1/club-activities/", {
        "store": store.pk, "kind": "drive", "title": "自驾游", "starts_at": starts.isoformat(),
        "capacity": 10}, format="json")
    assert response.status_code == 201, response.json()
    activity = response.json()
    assert activity["attendance_rate"] is None and activity["signed_up"] == 0
    url = f"/api/v1/club-activities/{activity['id']}"
    assert api.post(f"{url}/sign-up/", {"customer": customer.pk}, format="json").json()["reply"] == "accepted"
    assert api.post(f"{url}/attendance/", {"customer": customer.pk, "attended": True},
                    format="json").json()["attended"] is True
    feedback = api.post(f"{url}/feedback/", {"customer": customer.pk, "rating": 5, "text": "好"},
                        format="json")
    assert feedback.json()["feedback_rating"] == 5
    detail = api.get(f"{url}/").json()
    assert (detail["signed_up"], detail["attended"], detail["attendance_rate"]) == (1, 1, 100.0)
    bad = api.post("/api/v1/club-activities/", {
        "store": store.pk, "kind": "care_class", "title": "x", "starts_at": starts.isoformat()},
        format="json")
    assert bad.status_code == 400 and "kind" in api_errors(bad)


def test_api_kpis(api, store, other_store, cr_manager):
    _join(cr_manager, CustomerFactory(store=store))
    body = api.get("/api/v1/club-kpis/").json()
    assert body["members"] == 1 and body["attendance_rate"] is None
    assert len(body["new_per_month"]) == 12
    assert api.get("/api/v1/club-kpis/", {"store": other_store.pk}).status_code == 404
    assert api.get("/api/v1/club-kpis/", {"store": "x"}).status_code == 400


def test_api_other_store_is_not_found(api, other_store, make_user):
    other = make_user(Role.CR_MANAGER, other_store)
    member = _join(other, CustomerFactory(store=other_store))
    activity = _activity(other_store, at(MON + timedelta(days=400), 9))
    assert api.get(f"/api/v1/club-members/{member.pk}/").status_code == 404
    assert api.post(f"/api/v1/club-members/{member.pk}/leave/", {"reason": "x"},
                    format="json").status_code == 404
    assert api.get(f"/api/v1/club-activities/{activity.pk}/").status_code == 404
    response = api.post("/api/v1/club-members/", {"customer": member.customer_id,
                                                  "source": "other"}, format="json")
    assert response.status_code == 400 and "customer" in api_errors(response)


def test_api_lists_run_a_fixed_number_of_queries(api, store, cr_manager,
                                                 django_assert_max_num_queries):
    for n in range(5):
        customer = CustomerFactory(store=store)
        _join(cr_manager, customer)
        activity = _activity(store, at(MON - timedelta(days=n + 1), 9), title=f"活动{n}")
        ClassInvitation.objects.create(care_class=activity, customer=customer, reply="accepted")
    with django_assert_max_num_queries(6):
        assert api.get("/api/v1/club-members/").json()["count"] == 5
    with django_assert_max_num_queries(6):
        assert api.get("/api/v1/club-activities/").json()["count"] == 5


# Timeline -------------------------------------------------------------------------------------

def test_membership_and_activities_are_on_the_timeline(store, cr_manager):
    customer = CustomerFactory(store=store)
    _join(cr_manager, customer)
    activity = _activity(store, at(MON, 9))
    ClassInvitation.objects.create(care_class=activity, customer=customer, reply="accepted",
                                   attended=True, feedback="很开心")
    entries = [e for e in lounge_club_entries(customer, cr_manager) if e.kind == "club"]
    assert len(entries) == 2
    assert any(e.body == "很开心" for e in entries)


def test_the_invitation_call_links_to_joining(client, store, caller):
    car = VehicleFactory(store=store, delivered_on=MON - timedelta(days=3))
    plan(MON)
    task = Task.objects.get(vehicle=car, programme_code="club_welcome")
    assert task.assignee == caller
    client.force_login(caller)
    with time_machine.travel(at(MON, 10), tick=False):
        response = client.get(reverse("followups:worklist"))
    assert f'{reverse("followups:club-join")}?customer={car.customer_id}' in response.content.decode()
