"""Each night's plan is recorded; on the days a finished night already planned, the next
nights read again only the cars and customers changed since (a car entered late, a date
moved, consent given again), and still plan in full what no finished night covered."""

from datetime import timedelta

import pytest
import time_machine

from customers.models import Customer, Vehicle
from customers.services import customer_set_consent
from followups.models import PlannerRun, Step, Task

from .factories import CustomerFactory, VehicleFactory
from .helpers import MON, at, plan

pytestmark = pytest.mark.django_db

TUE = MON + timedelta(days=1)
WED = MON + timedelta(days=2)


def _call(vehicle, offset):
    return Task.objects.filter(vehicle=vehicle, channel="call", offset_days=offset)


def _late_car(store, **fields):
    """A car entered on Monday morning whose N-7 call fell on Sunday, a day Monday's night
    had already planned."""
    with time_machine.travel(at(MON, 10), tick=False):
        return VehicleFactory(store=store, first_service_due_on=MON - timedelta(days=1) + timedelta(days=7),
                              **fields)


def _forget_history(car):
    """As if the car and its owner had been written straight to the tables."""
    Vehicle.history.filter(id=car.pk).delete()
    Customer.history.filter(id=car.customer_id).delete()


def test_a_finished_night_is_recorded_with_the_days_it_covered(store, caller):
    counts = plan(MON)
    run = PlannerRun.objects.get()
    assert run.day == MON and run.finished_at is not None
    call_first, call_last = run.windows[str(store.pk)]["call"]
    sms_first, sms_last = run.windows[str(store.pk)]["sms"]
    assert (call_first, sms_first, sms_last) == ((MON - timedelta(days=7)).isoformat(),) * 2 + (
        MON.isoformat(),)
    assert call_last == (MON + timedelta(days=2)).isoformat()  # calls written ahead
    assert run.counts["seconds"] == counts["seconds"]


def test_a_car_entered_after_the_night_is_planned_by_the_next(store, caller):
    plan(MON)
    car = _late_car(store)
    counts = plan(TUE)
    assert _call(car, -7).count() == 1
    assert counts["changed"] >= 1


def test_a_due_date_moved_into_a_planned_day_is_planned(store, caller):
    car = VehicleFactory(store=store, first_service_due_on=MON + timedelta(days=40))
    plan(MON)
    assert not Task.objects.filter(vehicle=car).exists()
    with time_machine.travel(at(MON, 15), tick=False):
        car.first_service_due_on = MON - timedelta(days=1) + timedelta(days=7)
        car.save()
    plan(TUE)
    assert _call(car, -7).count() == 1


def test_consent_given_again_brings_the_missed_call(store, caller):
    customer = CustomerFactory(store=store, call_allowed=False)
    car = VehicleFactory(store=store, customer=customer, first_service_due_on=MON + timedelta(days=7))
    plan(MON)
    assert not _call(car, -7).exists()
    with time_machine.travel(at(MON, 11), tick=False):
        customer_set_consent(customer=customer, sms_allowed=True, call_allowed=True)
    plan(TUE)
    assert _call(car, -7).count() == 1


def test_nothing_changed_reads_nothing_again_and_plans_each_row_once(store, caller):
    with time_machine.travel(at(MON - timedelta(days=1), 12), tick=False):  # entered on Sunday
        cars = [VehicleFactory(store=store, first_service_due_on=MON + timedelta(days=days))
                for days in (3, 7, 14, 15, 16, 20)]
    plan(MON)
    before = Task.objects.count()
    counts = plan(TUE)
    assert counts["changed"] == 0
    assert not any(name.endswith(":changed") for name in counts["seconds"])
    # Tuesday's own day is planned in full: the cars whose steps fall on Tuesday.
    assert Task.objects.count() > before
    assert Task.objects.filter(vehicle__in=cars, planned_on=TUE).exists()
    again = plan(TUE)
    assert sum(v["tasks"] for v in again.values() if isinstance(v, dict) and "tasks" in v) == 0


def test_a_night_that_did_not_finish_covers_nothing(store, caller):
    plan(MON)
    PlannerRun.objects.update(finished_at=None)  # killed before it finished
    car = _late_car(store)
    # A change that left no history row (written straight to the table) is still found,
    # because Monday's days are planned again in full.
    _forget_history(car)
    plan(TUE)
    assert _call(car, -7).count() == 1


def test_a_step_edited_since_plans_its_covered_days_in_full(store, caller):
    plan(MON)
    car = _late_car(store)
    _forget_history(car)
    step = Step.objects.get(programme__code="first_service", offset_days=-7)
    with time_machine.travel(at(MON, 16), tick=False):
        step.script = "您好，首保快到了。"
        step.save()  # as the step form does: a history row
    plan(TUE)
    assert _call(car, -7).count() == 1
    other = Step.objects.get(programme__code="first_service", offset_days=-14)
    assert not _call(car, other.offset_days).exists()  # its N-14 fell before Monday's window


def test_two_nights_back_both_read_what_changed(store, caller):
    plan(MON)
    plan(TUE)
    with time_machine.travel(at(TUE, 10), tick=False):
        car = VehicleFactory(store=store, first_service_due_on=MON + timedelta(days=7))
    plan(WED)
    assert _call(car, -7).count() == 1  # Monday's call, two nights late


def test_a_finished_nights_days_are_not_read_again_in_full(store, caller):
    """The other side of the rule above: after a finished night, only what the history
    says changed is read again; a row written around the services is not seen."""
    plan(MON)
    car = _late_car(store)
    _forget_history(car)
    counts = plan(TUE)
    assert counts["changed"] == 0
    assert not _call(car, -7).exists()
