"""The team: each per-person KPI from known rows, the incentive rules at their edges
(84.9 / 85.0, 89.9 / 90.0, a display car fixed at 10:00 / 10:01), the vote, talks
(29 / 30 minutes), training, the staff greetings job, scoping and query counts."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm_site.models import Message
from crm_site.roles import Role
from followups import models as followups
from inspections import models as inspections
from satisfaction.models import (
    IncentiveRule,
    Measure,
    MysteryShopCheck,
    OneToOneTalk,
    SmileVote,
    StaffGreeting,
    TrainingAttendance,
    TrainingPlan,
    TrainingSession,
)
from satisfaction.team import selectors, services
from tests.validation import api_errors, refused

pytestmark = pytest.mark.django_db

NOV = date(2026, 11, 1)
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 Beijing, 20 November

_SEQ = iter(range(10**6))


@pytest.fixture
def specialist(make_user, store):
    return make_user(Role.CR_SPECIALIST, store, username="spec")


def _customer(store):
    from customers.services import customer_create

    n = next(_SEQ)
    return customer_create(store=store, name=f"客户{n}", mobile=f"139{n:08d}")


def _task(store, planned_on=date(2026, 11, 10)):
    programme = followups.Programme.objects.get(code="post_service_followup")
    step = programme.steps.filter(channel="call").first()
    return followups.Task.objects.create(
        store=store, programme=programme, programme_code=programme.code, step=step,
        customer=_customer(store), due_on=planned_on - timedelta(days=step.offset_days),
        offset_days=step.offset_days, planned_on=planned_on, channel="call", status="done")


def _calls(store, caller, kinds, at=datetime(2026, 11, 10, 2, 0, tzinfo=UTC)):
    outcomes = {o.kind: o for o in followups.Outcome.objects.all()}
    for number, kind in enumerate(kinds):
        task = _task(store)
        followups.CallAttempt.objects.create(task=task, number=1, caller=caller, called_at=at,
                                             outcome=outcomes[kind])
        if number == 0:
            at = at + timedelta(minutes=1)


def _appointment(store, by, status, booked_for=date(2026, 11, 12)):
    task = _task(store)
    return followups.Appointment.objects.create(store=store, customer=task.customer, task=task,
                                                booked_for=booked_for, purpose="保养", status=status,
                                                created_by=by)


def _check(store, staff, checker, score, checked_on=date(2026, 11, 5)):
    return MysteryShopCheck.objects.create(store=store, kind="covert", department="sales",
                                           checked_on=checked_on, staff=staff, checker=checker,
                                           score=Decimal(score))


def _card(store, person, period=NOV, now=NOW):
    cards = selectors.scorecards(store, period, now=now, staff_ids=[person.pk])
    return cards[0]


def _kpi(card, measure):
    return next(k for k in card.kpis if k.measure == measure)


def _incentive(card, kind):
    return next(i for i in card.incentives if i.kind == kind)


# KPIs -------------------------------------------------------------------------------------------

def test_call_reach_and_booking_rates(store, other_store, caller, make_user):
    _calls(store, caller, ["reached", "booked", "booked", "refused", "unreachable"])
    _calls(store, caller, ["reached"], at=datetime(2026, 10, 31, 15, 59, tzinfo=UTC))  # 23:59 Oct 31
    _calls(store, caller, ["reached"], at=datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 00:00 Dec 1
    card = _card(store, caller)
    assert _kpi(card, Measure.CALLS_MADE).value == 5
    reach = _kpi(card, Measure.REACH_RATE)
    assert (reach.value, reach.numerator, reach.denominator) == (Decimal("80.0"), 4, 5)
    assert reach.status == "met"  # target 80
    booking = _kpi(card, Measure.BOOKING_RATE)
    assert (booking.value, booking.numerator, booking.denominator) == (Decimal("50.0"), 2, 4)


def test_calls_of_another_store_do_not_count(store, other_store, make_user):
    both = make_user(Role.CALLER, store, other_store)
    _calls(other_store, both, ["reached", "reached"])
    assert _kpi(_card(store, both), Measure.CALLS_MADE).value == 0
    assert _kpi(_card(other_store, both), Measure.CALLS_MADE).value == 2


def test_came_in_rate_counts_appointments_whose_day_has_come(store, caller):
    _appointment(store, caller, "came_in")
    _appointment(store, caller, "no_show")
    _appointment(store, caller, "booked")
    _appointment(store, caller, "cancelled")
    _appointment(store, caller, "booked", booked_for=date(2026, 11, 25))  # after "now"
    came = _kpi(_card(store, caller), Measure.CAME_IN_RATE)
    assert (came.numerator, came.denominator, came.value) == (1, 3, Decimal("33.3"))


def test_complaint_sla_kept(store, caller):
    from complaints import services as complaint_services

    opened = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # Tuesday 10:00 Beijing
    with time_machine.travel(opened, tick=False) as clock:
        kept = complaint_services.complaint_open(
            actor=caller, customer=_customer(store), channel="phone", description="等待太久", owner=caller)
        complaint_services.complaint_open(
            actor=caller, customer=_customer(store), channel="phone", description="价格不清", owner=caller)
        clock.move_to(opened + timedelta(minutes=29, seconds=59))
        complaint_services.complaint_respond(actor=caller, complaint=kept, channel="phone", note="已致电")
        clock.move_to(opened + timedelta(minutes=30, seconds=1))
        complaint_services.complaints_sweep()
        clock.move_to(opened + timedelta(hours=5))
        complaint_services.complaint_resolve(actor=caller, complaint=kept, resolution="已解释")
    sla = _kpi(_card(store, caller), Measure.COMPLAINT_SLA)
    assert (sla.numerator, sla.denominator, sla.value) == (1, 2, Decimal("50.0"))
    assert sla.status == "missed"


# Display cars (the inspections deadline, 10 minutes) ------------------------------------------

MONDAY_0950 = datetime(2026, 11, 9, 1, 50, tzinfo=UTC)  # 09:50 Beijing: due at 10:00


@pytest.fixture
def display_car(store, specialist, settings, tmp_path):
    """display_car(responsible) -> an open display-car rectification notified at 09:50."""
    from inspections import services as inspection_services

    settings.MEDIA_ROOT = tmp_path / "media"
    inspection_services.checklists_ensure_for_store(store=store)
    template = inspections.ChecklistTemplate.objects.get(store=store, area="display_cars")

    def make(responsible):
        from tests.inspections.factories import jpeg

        inspection = inspection_services.inspection_create_extra(actor=specialist, template=template,
                                                                 now=MONDAY_0950)
        for index, result in enumerate(inspection.results.order_by("position")):
            failed = index == 0
            inspection_services.inspection_answer(
                result=result, actor=specialist, outcome="fail" if failed else "pass",
                responsible=responsible if failed else None, now=MONDAY_0950)
            if failed and result.photo_required:
                inspection_services.result_add_photo(result=result, actor=specialist, upload=jpeg(),
                                                     now=MONDAY_0950)
        inspection_services.inspection_complete(inspection=inspection, actor=specialist, now=MONDAY_0950)
        return inspections.Rectification.objects.get(inspection=inspection)
    return make


def _fix(rectification, person, at):
    from inspections import services as inspection_services
    from tests.inspections.factories import jpeg

    with time_machine.travel(at, tick=False):
        inspection_services.rectifications_mark_overdue()
        inspection_services.rectification_fix(rectification=rectification, actor=person, upload=jpeg())


@pytest.mark.parametrize(("fixed_after", "penalties"), [
    (timedelta(minutes=10), 0),   # 10:00: on time
    (timedelta(minutes=11), 1),   # 10:01: overdue, a recorded penalty
])
def test_display_car_penalty_edge(display_car, caller, store, fixed_after, penalties):
    rectification = display_car(caller)
    assert rectification.due_at == MONDAY_0950 + timedelta(minutes=10)
    _fix(rectification, caller, MONDAY_0950 + fixed_after)
    card = _card(store, caller)
    penalty = _incentive(card, IncentiveRule.Kind.DISPLAY_CAR_PENALTY)
    assert penalty.count == penalties
    assert penalty.total == Decimal(50) * penalties
    on_time = _kpi(card, Measure.RECTIFICATION_ON_TIME)
    assert (on_time.numerator, on_time.denominator) == (1 - penalties, 1)


def test_overdue_display_car_counts_even_without_a_fix(display_car, caller, store):
    from inspections import services as inspection_services

    display_car(caller)
    inspection_services.rectifications_mark_overdue(now=MONDAY_0950 + timedelta(minutes=11))
    assert _incentive(_card(store, caller), IncentiveRule.Kind.DISPLAY_CAR_PENALTY).count == 1


# Mystery-shopper incentives ---------------------------------------------------------------------

def test_ms_incentives_at_their_edges(store, caller, cr_manager):
    for score in ("84.9", "85.0", "89.9", "90.0"):
        _check(store, caller, cr_manager, score)
    card = _card(store, caller)
    reward = _incentive(card, IncentiveRule.Kind.MS_REWARD)
    penalty = _incentive(card, IncentiveRule.Kind.MS_PENALTY)
    assert (reward.count, reward.total) == (1, Decimal(200))    # only 90.0
    assert (penalty.count, penalty.total) == (1, Decimal(100))  # only 84.9
    assert card.net == Decimal(100)
    assert _kpi(card, Measure.MS_SCORE).value == Decimal("87.45")


def test_store_sets_its_own_amounts_and_lines(store, other_store, caller, cr_manager, make_user):
    services.incentive_rule_set(actor=cr_manager, store=store, kind=IncentiveRule.Kind.MS_PENALTY,
                                threshold=Decimal(88), amount=Decimal(150))
    _check(store, caller, cr_manager, "87.5")
    penalty = _incentive(_card(store, caller), IncentiveRule.Kind.MS_PENALTY)
    assert (penalty.count, penalty.total) == (1, Decimal(150))
    # The other store keeps the default line (85) and amount.
    colleague = make_user(Role.CALLER, other_store)
    boss = make_user(Role.CR_MANAGER, other_store)
    _check(other_store, colleague, boss, "87.5")
    assert _incentive(_card(other_store, colleague), IncentiveRule.Kind.MS_PENALTY).count == 0
    with pytest.raises(ValidationError) as error:
        services.incentive_rule_set(actor=cr_manager, store=store, kind=IncentiveRule.Kind.MS_REWARD,
                                    threshold=Decimal(120), amount=Decimal(10))
    assert "threshold" in error.value.message_dict
    with refused("store", "您无权操作该门店。"):
        services.incentive_rule_set(actor=cr_manager, store=other_store, kind="ms_reward",
                                    threshold=90, amount=10)


def test_defaults_loaded_by_migration():
    rules = {r.kind: r for r in IncentiveRule.objects.filter(store=None)}
    assert rules["ms_reward"].threshold == 90 and rules["ms_penalty"].threshold == 85
    assert rules["display_car_penalty"].threshold is None
    plans = {p.code: p.frequency for p in TrainingPlan.objects.filter(store=None)}
    assert plans == {"brand_standard": "weekly", "etiquette": "monthly", "process": "monthly"}
    assert StaffGreeting.objects.filter(store=None, occasion="birthday").count() == 1


# Scorecard pages: scoping and query counts ---------------------------------------------------------

def _load(store, manager, n):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name=Role.CALLER)
    from crm_site.models import User

    for _ in range(n):
        person = User.objects.create_user(username=f"team{next(_SEQ)}", password="x-Secret-42")
        person.groups.add(group)
        person.stores.add(store)
        _calls(store, person, ["reached", "booked"])
        _appointment(store, person, "came_in")
        _check(store, person, manager, "91")


def _queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_scorecard_page_runs_a_fixed_number_of_queries(client, cr_manager, store):
    client.force_login(cr_manager)
    url = f"{reverse('satisfaction:team')}?store={store.pk}&period=2026-11"
    _load(store, cr_manager, 1)
    with time_machine.travel(NOW):
        few = _queries(client, url)
        _load(store, cr_manager, 8)
        many = _queries(client, url)
        response = client.get(url)
    assert few == many
    assert response.content.decode().count("data-staff=") == 9


def test_scorecard_api_runs_a_fixed_number_of_queries(client, cr_manager, store):
    client.force_login(cr_manager)
    url = f"/api/v1/team/scorecards/?store={store.pk}&period=2026-11"
    _load(store, cr_manager, 1)
    few = _queries(client, url)
    _load(store, cr_manager, 6)
    many = _queries(client, url)
    assert few == many


def test_a_person_sees_only_their_own_scorecard(client, caller, specialist, cr_manager, store):
    _calls(store, caller, ["reached"])
    _calls(store, specialist, ["booked"])
    client.force_login(caller)
    page = client.get(f"{reverse('satisfaction:team')}?store={store.pk}&period=2026-11").content.decode()
    assert f'data-staff="{caller.pk}"' in page and f'data-staff="{specialist.pk}"' not in page
    assert client.get(reverse("satisfaction:team-member", args=[specialist.pk])).status_code == 404
    assert client.get(reverse("satisfaction:team-member", args=[caller.pk])).status_code == 200
    data = client.get(f"/api/v1/team/scorecards/?store={store.pk}&period=2026-11").json()
    assert [row["staff"] for row in data] == [caller.pk]
    client.force_login(cr_manager)
    page = client.get(f"{reverse('satisfaction:team')}?store={store.pk}&period=2026-11").content.decode()
    assert f'data-staff="{caller.pk}"' in page and f'data-staff="{specialist.pk}"' in page
    assert client.get(reverse("satisfaction:team-member", args=[specialist.pk])).status_code == 200


def test_another_store_answers_404(client, cr_manager, other_store, make_user):
    stranger = make_user(Role.CALLER, other_store)
    client.force_login(cr_manager)
    for name in ("satisfaction:team", "satisfaction:team-training", "satisfaction:team-talks",
                 "satisfaction:team-vote"):
        assert client.get(f"{reverse(name)}?store={other_store.pk}").status_code == 404
    assert client.get(reverse("satisfaction:team-member", args=[stranger.pk])).status_code == 404
    assert client.get(f"/api/v1/team/scorecards/?store={other_store.pk}").status_code == 404


def test_member_page_shows_incentives(client, cr_manager, caller, store):
    _check(store, caller, cr_manager, "92")
    client.force_login(cr_manager)
    page = client.get(f"{reverse('satisfaction:team-member', args=[caller.pk])}?store={store.pk}"
                      "&period=2026-11").content.decode()
    assert 'data-testid="net">200' in page


# The smile service star ---------------------------------------------------------------------------

def test_vote_once_a_month_not_for_oneself(store, caller, specialist, cr_manager, other_store, make_user):
    with time_machine.travel(NOW):
        vote = services.smile_vote_cast(actor=caller, store=store, nominee=specialist)
        assert vote.period == NOV
        with pytest.raises(ValidationError) as error:
            services.smile_vote_cast(actor=caller, store=store, nominee=cr_manager)
        assert "nominee" in error.value.message_dict
        with refused("nominee", "候选人：不能投票给自己。"):
            services.smile_vote_cast(actor=specialist, store=store, nominee=specialist)
        with refused("nominee", "候选人：不是该门店员工。"):
            services.smile_vote_cast(actor=specialist, store=store,
                                     nominee=make_user(Role.CALLER, other_store))
    with time_machine.travel(datetime(2026, 11, 30, 16, 0, tzinfo=UTC)):  # 00:00 1 December
        vote = services.smile_vote_cast(actor=caller, store=store, nominee=cr_manager)
        assert vote.period == date(2026, 12, 1)
    assert SmileVote.objects.filter(voter=caller).count() == 2


def test_vote_results_show_the_winner_and_ties(client, store, caller, specialist, cr_manager, make_user):
    attendant = make_user(Role.LOUNGE_ATTENDANT, store)
    with time_machine.travel(NOW):
        services.smile_vote_cast(actor=caller, store=store, nominee=specialist)
        services.smile_vote_cast(actor=cr_manager, store=store, nominee=specialist)
        services.smile_vote_cast(actor=specialist, store=store, nominee=caller)
    with time_machine.travel(NOW - timedelta(days=31)):  # October: a tie
        services.smile_vote_cast(actor=caller, store=store, nominee=specialist)
        services.smile_vote_cast(actor=specialist, store=store, nominee=caller)
        services.smile_vote_cast(actor=attendant, store=store, nominee=caller)
        services.smile_vote_cast(actor=cr_manager, store=store, nominee=specialist)
    november, october = selectors.vote_results(store, [NOV, date(2026, 10, 1)])
    assert november.winners == [specialist] and not november.tie
    assert set(october.winners) == {caller, specialist} and october.tie
    with time_machine.travel(datetime(2026, 12, 3, 2, 0, tzinfo=UTC)):
        client.force_login(attendant)
        page = client.get(reverse("satisfaction:team-vote")).content.decode()
        assert 'data-testid="tie"' in page
        response = client.post(reverse("satisfaction:team-vote"), {"nominee": caller.pk})
        assert response.status_code == 302
        assert SmileVote.objects.filter(voter=attendant, period=date(2026, 12, 1), nominee=caller).exists()
        data = client.get(f"/api/v1/team/smile-votes/results/?store={store.pk}&months=2").json()
        assert data[0]["winners"] == [specialist.pk]
        assert sorted(data[1]["winners"]) == sorted([caller.pk, specialist.pk]) and data[1]["tie"]


def test_vote_api_refuses_a_self_vote(client, store, caller):
    client.force_login(caller)
    response = client.post("/api/v1/team/smile-votes/", {"store": store.pk, "nominee": caller.pk},
                           content_type="application/json")
    assert response.status_code == 400 and "nominee" in api_errors(response)


# One-to-one talks ---------------------------------------------------------------------------------

def test_talks_who_has_none_and_which_are_short(client, store, cr_manager, caller, specialist, make_user):
    attendant = make_user(Role.LOUNGE_ATTENDANT, store)
    with time_machine.travel(NOW):
        services.one_to_one_talk_record(actor=cr_manager, store=store, staff=caller,
                                        held_on=date(2026, 11, 3), minutes=30, notes="本月目标")
        services.one_to_one_talk_record(actor=cr_manager, store=store, staff=specialist,
                                        held_on=date(2026, 11, 4), minutes=29)
        services.one_to_one_talk_record(actor=cr_manager, store=store, staff=attendant,
                                        held_on=date(2026, 10, 30), minutes=60)
        rows = {row.staff: row for row in selectors.talk_overview(store, NOV)}
        assert rows[caller].done
        assert not rows[specialist].done and rows[specialist].short
        assert not rows[attendant].done and not rows[attendant].talks
        client.force_login(cr_manager)
        page = client.get(reverse("satisfaction:team-talks")).content.decode()
        assert page.count('data-testid="missing"') == 1 and page.count('data-testid="short"') == 1


def test_talk_record_validates_and_keeps_nothing_half_saved(client, store, cr_manager, caller, other_store,
                                                            make_user):
    with pytest.raises(ValidationError) as error:
        services.one_to_one_talk_record(actor=cr_manager, store=store,
                                        staff=make_user(Role.CALLER, other_store),
                                        held_on=date(2026, 11, 3), minutes=30)
    assert "staff" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.one_to_one_talk_record(actor=cr_manager, store=store, staff=caller,
                                        held_on=date(2099, 1, 1), minutes=30)
    assert "held_on" in error.value.message_dict
    client.force_login(caller)
    assert client.post(reverse("satisfaction:team-talks"), {"staff": caller.pk}).status_code == 403
    client.force_login(cr_manager)
    response = client.post(reverse("satisfaction:team-talks"), {
        "staff": caller.pk, "held_on": "2026-11-03", "minutes": "45", "notes": "谈话"})
    assert response.status_code == 302
    assert OneToOneTalk.objects.get().history.count() == 1


def test_a_person_sees_only_their_own_talks(client, store, cr_manager, caller, specialist):
    services.one_to_one_talk_record(actor=cr_manager, store=store, staff=specialist,
                                    held_on=date(2026, 11, 3), minutes=40)
    client.force_login(caller)
    data = client.get("/api/v1/team/talks/").json()
    assert (data["results"] if isinstance(data, dict) else data) == []
    response = client.post("/api/v1/team/talks/", {"store": store.pk, "staff": specialist.pk,
                                                   "held_on": "2026-11-03", "minutes": 30},
                           content_type="application/json")
    assert response.status_code == 403


# Training -----------------------------------------------------------------------------------------

def test_training_session_with_attendance_and_scores(client, store, cr_manager, caller, specialist):
    plan = TrainingPlan.objects.get(store=None, code="etiquette")
    session = services.training_session_record(
        actor=cr_manager, store=store, plan=plan, held_on=date(2026, 11, 3), topic="电话礼仪", minutes=60,
        attendance=[(caller, True, Decimal("92.5"), ""), (specialist, False, None, "休假")])
    rows = {r.staff: r for r in TrainingAttendance.objects.filter(session=session)}
    assert rows[caller].score == Decimal("92.5") and not rows[specialist].attended
    with pytest.raises(ValidationError) as error:
        services.training_session_record(
            actor=cr_manager, store=store, plan=plan, held_on=date(2026, 11, 4), topic="流程", minutes=60,
            attendance=[(caller, True, Decimal("101"), "")])
    assert "attendance" in error.value.message_dict
    assert TrainingSession.objects.count() == 1  # nothing half-saved
    client.force_login(caller)
    data = client.get("/api/v1/team/training-sessions/").json()
    sessions = data["results"] if isinstance(data, dict) else data
    assert [row["staff"] for row in sessions[0]["attendance"]] == [caller.pk]  # only one's own score


def test_training_overdue_when_a_week_passed_without_a_session(client, store, cr_manager, caller):
    plan = TrainingPlan.objects.get(store=None, code="brand_standard")
    with time_machine.travel(datetime(2026, 11, 10, 2, 0, tzinfo=UTC)):  # Tuesday 10 November
        services.training_session_record(actor=cr_manager, store=store, plan=plan, held_on=date(2026, 11, 10),
                                         topic="品牌标准", minutes=45, attendance=[(caller, True, 90, "")])
    with time_machine.travel(datetime(2026, 11, 18, 2, 0, tzinfo=UTC)):  # next week: last week done
        status = {p.code: s for p, s in selectors.training_overview(store, date(2026, 11, 18))}
        assert not status["brand_standard"].overdue and not status["brand_standard"].current_done
    with time_machine.travel(datetime(2026, 11, 24, 2, 0, tzinfo=UTC)):  # a week without one passed
        status = {p.code: s for p, s in selectors.training_overview(store, date(2026, 11, 24))}
        assert status["brand_standard"].overdue
        client.force_login(cr_manager)
        page = client.get(reverse("satisfaction:team-training")).content.decode()
        assert 'data-testid="overdue"' in page


def test_manager_changes_a_plan_frequency(client, cr_manager, caller):
    plan = TrainingPlan.objects.get(store=None, code="process")
    client.force_login(caller)
    assert client.post(reverse("satisfaction:team-plan-update", args=[plan.pk]),
                       {"frequency": "weekly"}).status_code == 403
    client.force_login(cr_manager)
    client.post(reverse("satisfaction:team-plan-update", args=[plan.pk]), {"frequency": "weekly"})
    plan.refresh_from_db()
    assert plan.frequency == "weekly" and plan.history.first().frequency == "weekly"


def test_training_form_records_a_session(client, store, cr_manager, caller):
    client.force_login(cr_manager)
    plan = TrainingPlan.objects.get(store=None, code="process")
    response = client.post(reverse("satisfaction:team-training-create"), {
        "plan": plan.pk, "held_on": "2026-11-03", "topic": "投诉处理流程", "minutes": "90", "notes": "",
        f"attended_{caller.pk}": "on", f"score_{caller.pk}": "88"})
    assert response.status_code == 302
    assert TrainingAttendance.objects.get(staff=caller).score == 88


# Staff greetings ----------------------------------------------------------------------------------

def test_birthday_greeting_queued_once(store, make_user):
    birthday = make_user(Role.CALLER, store, birthday=date(1992, 11, 20), mobile="13900000001")
    make_user(Role.CALLER, store, birthday=date(1992, 11, 20))  # no mobile: nothing to send
    make_user(Role.CALLER, store, birthday=date(1992, 11, 21), mobile="13900000003")
    assert services.staff_greetings_queue(day=date(2026, 11, 20)) == 1
    assert services.staff_greetings_queue(day=date(2026, 11, 20)) == 0
    message = Message.objects.get(purpose="staff_greeting")
    assert message.recipient == birthday.mobile and message.template_code == "STAFF_BIRTHDAY"
    assert birthday.get_full_name() in message.text and message.store == store
    assert services.staff_greetings_queue(day=date(2027, 11, 20)) == 1  # next year again


def test_holiday_greetings_from_rows_and_the_statutory_calendar(store, make_user):
    make_user(Role.CALLER, store, mobile="13900000001")
    make_user(Role.CR_SPECIALIST, store, mobile="13900000002")
    StaffGreeting.objects.create(name="妇女节", occasion="date", month=3, day=8,
                                 template_code="STAFF_HOLIDAY", text="{name}，节日快乐！")
    assert services.staff_greetings_queue(day=date(2026, 2, 15)) == 2  # Spring Festival, first day
    assert services.staff_greetings_queue(day=date(2026, 2, 16)) == 0
    assert services.staff_greetings_queue(day=date(2026, 3, 8)) == 2
    assert services.staff_greetings_queue(day=date(2026, 3, 8)) == 0


def test_greetings_job_is_in_the_beat_schedule_and_safe_twice(settings, store, make_user):
    from django_celery_beat.models import PeriodicTask

    from satisfaction import tasks

    job = PeriodicTask.objects.get(name="satisfaction-staff-greetings")
    assert job.task == "satisfaction.tasks.staff_greetings" and job.enabled
    make_user(Role.CALLER, store, mobile="13900000001", birthday=date(1990, 11, 20))
    with time_machine.travel(NOW):
        assert tasks.staff_greetings.delay().get() == 1
        assert tasks.staff_greetings.delay().get() == 0


# Pages in both languages ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["satisfaction:team", "satisfaction:team-training",
                                  "satisfaction:team-talks", "satisfaction:team-vote",
                                  "satisfaction:team-incentives", "satisfaction:team-training-create"])
def test_pages_in_chinese_and_english(client, cr_manager, name):
    client.force_login(cr_manager)
    assert client.get(reverse(name)).status_code == 200
    client.cookies["crm_language"] = "en"
    page = client.get(reverse(name)).content.decode()
    assert "Team" in page


def test_nav_item_for_the_team(client, caller):
    client.force_login(caller)
    page = client.get(reverse("satisfaction:team")).content.decode()
    assert reverse("satisfaction:team") in page


def _team_records(store, manager, n):
    from django.contrib.auth.models import Group

    from crm_site.models import User

    plan = TrainingPlan.objects.get(store=None, code="etiquette")
    people = []
    for _ in range(n):
        person = User.objects.create_user(username=f"member{next(_SEQ)}", password="x-Secret-42")
        person.groups.add(Group.objects.get(name=Role.CALLER))
        person.stores.add(store)
        people.append(person)
    with time_machine.travel(NOW):
        services.training_session_record(actor=manager, store=store, plan=plan, held_on=date(2026, 11, 3),
                                         topic="礼仪", minutes=60,
                                         attendance=[(p, True, Decimal(88), "") for p in people])
        for person in people:
            services.one_to_one_talk_record(actor=manager, store=store, staff=person,
                                            held_on=date(2026, 11, 4), minutes=30)
            services.smile_vote_cast(actor=person, store=store, nominee=manager)
    return people


@pytest.mark.parametrize("url", ["/satisfaction/team/training/", "/satisfaction/team/talks/",
                                 "/satisfaction/team/vote/", "/satisfaction/team/incentives/",
                                 "/api/v1/team/training-sessions/", "/api/v1/team/talks/",
                                 "/api/v1/team/smile-votes/results/?store={store}"])
def test_team_pages_run_a_fixed_number_of_queries(client, cr_manager, store, url):
    url = url.format(store=store.pk)
    _team_records(store, cr_manager, 1)
    with time_machine.travel(NOW + timedelta(days=12)):
        client.force_login(cr_manager)
        few = _queries(client, url)
        _team_records(store, cr_manager, 6)
        many = _queries(client, url)
    assert few == many
