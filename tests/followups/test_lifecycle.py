"""Tasks that end: every step's window, the nightly expiry ("not reached in time"), and
cycles closed at once by a booking, a refusal or a renewal. Frozen clock at the edges."""

from datetime import date, timedelta

import pytest
import time_machine

from customers.services import insurance_policy_record, insurance_renewal_record
from followups import selectors, services
from followups.models import FollowupSettings, Programme, Step, Task

from .factories import VehicleFactory
from .helpers import MON, at, plan


def step(programme, code):
    return Step.objects.get(programme__code=programme, code=code)


def record(task, caller, outcome, **kwargs):
    day = kwargs.pop("day", task.planned_on)
    with time_machine.travel(at(day, 10), tick=False):
        return services.task_record_outcome(task=task, actor=caller, outcome=outcome,
                                            now=at(day, 10), **kwargs)


@pytest.mark.django_db
def test_default_windows_run_to_the_day_before_the_next_step_and_the_last_to_n_plus_7():
    ends = dict(Step.objects.filter(programme__code="first_service")
                .values_list("code", "window_end_days"))
    assert ends == {"sms-15": -15, "call-14": -8, "call-7": -4, "call-3": 7}
    assert step("post_delivery_followup", "call").window_end_days == 7
    assert step("insurance_renewal", "call-60").window_end_days == -51


@pytest.mark.django_db
def test_n_minus_14_call_leaves_the_worklist_after_its_window(store, caller):
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    plan(MON)
    task = Task.objects.get(vehicle=car, offset_days=-14)
    assert task.expires_on == n - timedelta(days=8)
    for day in range(1, 7):  # up to N-8, the window's last day
        plan(MON + timedelta(days=day))
    task.refresh_from_db()
    assert task.status == "planned"
    assert task in Task.objects.worklist(n - timedelta(days=8))
    # The next day it is off the worklist at once, before the night runs ...
    assert task not in Task.objects.worklist(n - timedelta(days=7))
    plan(n - timedelta(days=7))
    task.refresh_from_db()
    # ... and the night marks it expired, not reached in time.
    assert (task.status, task.cancel_reason) == ("expired", "not_in_time")
    assert task.closed_at == at(n - timedelta(days=7))
    assert Task.objects.get(vehicle=car, offset_days=-7).status == "planned"


@pytest.mark.django_db
def test_last_step_stays_until_n_plus_7(store, caller):
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    FollowupSettings.objects.filter(pk=1).update(catch_up_days=0)
    for day in range(0, 22):  # up to N+7
        plan(MON + timedelta(days=day))
    last = Task.objects.get(vehicle=car, offset_days=-3)
    assert last.expires_on == n + timedelta(days=7)
    assert last.status == "planned"
    plan(n + timedelta(days=8))
    last.refresh_from_db()
    assert (last.status, last.cancel_reason) == ("expired", "not_in_time")


@pytest.mark.django_db
def test_an_edited_window_moves_the_end(store, caller, cr_manager):
    services.step_update(actor=cr_manager, step=step("first_service", "call-14"),
                         window_end_days=-5)
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    plan(MON)
    assert Task.objects.get(vehicle=car, offset_days=-14).expires_on == n - timedelta(days=5)
    with pytest.raises(Exception) as error:
        services.step_update(actor=cr_manager, step=step("first_service", "call-14"),
                             window_end_days=-20)
    assert "window_end_days" in error.value.message_dict


@pytest.mark.django_db
def test_a_call_moved_past_its_window_by_a_retry_expires(store, caller):
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    Step.objects.filter(programme__code="first_service", code="call-14").update(window_end_days=-14)
    plan(MON)
    task = Task.objects.get(vehicle=car, offset_days=-14)
    record(task, caller, "no_answer")
    task.refresh_from_db()
    assert task.status == "retry" and task.planned_on > task.expires_on
    assert task not in Task.objects.worklist(task.planned_on)
    plan(MON + timedelta(days=1))
    task.refresh_from_db()
    assert task.status == "expired"


@pytest.mark.django_db
def test_booking_on_n_minus_7_closes_the_n_minus_14_call_still_open(store, caller):
    Step.objects.filter(programme__code="first_service", code="call-14").update(window_end_days=0)
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    for day in range(0, 8):
        plan(MON + timedelta(days=day))
    n14 = Task.objects.get(vehicle=car, offset_days=-14)
    n7 = Task.objects.get(vehicle=car, offset_days=-7)
    assert n14.status == "planned"
    record(n7, caller, "booked", appointment_on=n)
    n14.refresh_from_db()
    assert (n14.status, n14.cancel_reason) == ("cancelled", "booked")


@pytest.mark.django_db
def test_refusal_closes_the_whole_cycle(store, caller):
    Step.objects.filter(programme__code="first_service", code="call-14").update(window_end_days=0)
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    for day in range(0, 8):
        plan(MON + timedelta(days=day))
    n7 = Task.objects.get(vehicle=car, offset_days=-7)
    record(n7, caller, "refused", reason="too_busy")
    assert not Task.objects.filter(vehicle=car, status__in=["planned", "retry"]).exists()
    assert Task.objects.get(vehicle=car, offset_days=-14).cancel_reason == "refused"


@pytest.mark.django_db
def test_renewal_recorded_closes_the_insurance_calls(store, caller):
    n = MON + timedelta(days=60)
    car = VehicleFactory(store=store)
    with time_machine.travel(at(MON, 9), tick=False):
        policy = insurance_policy_record(vehicle=car, insurer="人保", starts_on=n - timedelta(days=364),
                                         expires_on=n)
    plan(MON)
    call = Task.objects.get(vehicle=car, offset_days=-60)
    assert call.status == "planned"
    with time_machine.travel(at(MON, 11), tick=False):
        insurance_renewal_record(policy=policy, insurer="平安", bought_here=False)
    call.refresh_from_db()
    assert (call.status, call.cancel_reason) == ("cancelled", "renewed")
    car.refresh_from_db()
    assert car.insurance_expires_on > n


@pytest.mark.django_db
def test_funnel_counts_calls_not_reached_in_time(store, caller, cr_manager):
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    for day in range(0, 8):
        plan(MON + timedelta(days=day))
    rows = {r["step__offset_days"]: r for r in selectors.funnel(cr_manager, MON, n)}
    assert rows[-14]["not_in_time"] == 1 and rows[-7]["not_in_time"] == 0
    funnel = {r["programme"]: r for r in selectors.reminder_funnel([store.pk], n, n + timedelta(days=1))}
    assert funnel["first_service"]["not_in_time"] == 1
    assert Task.objects.filter(vehicle=car, channel="call", status="expired").count() == 1


@pytest.mark.django_db
def test_tasks_expire_is_one_statement_whatever_the_count(store, caller, django_assert_num_queries):
    from followups.planner import tasks_expire

    n = MON + timedelta(days=14)
    for _ in range(5):
        VehicleFactory(store=store, first_service_due_on=n)
    plan(MON)
    with django_assert_num_queries(1):
        assert tasks_expire(day=n, now=at(n)) == 5
    assert Programme.objects.filter(code="first_service").exists()
    assert date(2026, 11, 23) == MON


@pytest.mark.django_db
def test_a_year_of_nights_leaves_no_call_older_than_its_window(store, caller):
    """A store's year simulated night by night (planner and a frozen clock moving
    forward), the caller working a third of the list: every night, every open call and
    every card on the worklist is within its window."""
    start = date(2026, 1, 5)
    FollowupSettings.objects.filter(pk=1).update(catch_up_days=0)
    Programme.objects.exclude(code__in=["first_service", "periodic_service", "insurance_renewal",
                                        "missed_appointment"]).update(is_active=False)
    for i in range(24):
        due = start + timedelta(days=15 * i + 5)
        VehicleFactory(store=store, first_service_due_on=due,
                       next_service_due_on=due + timedelta(days=40),
                       insurance_expires_on=due + timedelta(days=90))
    worked = 0
    for offset in range(366):
        day = start + timedelta(days=offset)
        plan(day)
        late = Task.objects.open().calls().filter(expires_on__lt=day)
        assert not late.exists(), (day, list(late.values("programme_code", "offset_days", "expires_on")))
        cards = list(Task.objects.worklist(day).values_list("id", "planned_on", "expires_on"))
        assert all(expires is not None and planned <= day <= expires for _i, planned, expires in cards)
        for task_id, _planned, _expires in cards:
            if task_id % 3 == 0:
                outcome = "booked" if task_id % 2 else "reached"
                record(Task.objects.get(pk=task_id), caller, outcome, day=day,
                       appointment_on=day + timedelta(days=3))
                worked += 1
    assert worked > 0
    assert Task.objects.filter(status="expired", cancel_reason="not_in_time").exists()
