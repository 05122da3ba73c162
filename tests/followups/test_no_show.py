"""Appointments kept or not: a booked appointment not kept by the end of its day is
marked no-show the next night and starts the "missed appointment" call; a visit in the
credit window keeps it. Frozen clock at the day after the appointment."""

from datetime import timedelta

import pytest
import time_machine

from customers.services import service_visit_record
from followups import services
from followups.models import Appointment, Step, Task

from .factories import VehicleFactory
from .helpers import MON, at, plan


def book(car, caller, day, booked_for):
    with time_machine.travel(at(day, 10), tick=False):
        return services.appointment_book(actor=caller, customer=car.customer, vehicle=car,
                                         booked_for=booked_for, purpose="保养")


@pytest.mark.django_db
def test_appointment_missed_is_marked_the_next_night_and_called(store, caller):
    car = VehicleFactory(store=store)
    appointment = book(car, caller, MON, MON + timedelta(days=2))
    plan(MON + timedelta(days=2))  # the appointment's own day: still booked
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert not Task.objects.filter(programme_code="missed_appointment").exists()
    plan(MON + timedelta(days=3))  # the day after
    appointment.refresh_from_db()
    assert appointment.status == "no_show"
    assert appointment.history.first().history_change_reason == "not kept by the end of its day"
    call = Task.objects.get(programme_code="missed_appointment")
    assert (call.vehicle, call.due_on, call.planned_on, call.status) == (
        car, MON + timedelta(days=2), MON + timedelta(days=3), "planned")
    assert call.expires_on == MON + timedelta(days=9)
    assert call in Task.objects.worklist(MON + timedelta(days=3))
    plan(MON + timedelta(days=4))
    assert Task.objects.filter(programme_code="missed_appointment").count() == 1


@pytest.mark.django_db
def test_appointment_kept_by_a_visit_is_not_a_no_show(store, caller, django_capture_on_commit_callbacks):
    car = VehicleFactory(store=store)
    appointment = book(car, caller, MON, MON + timedelta(days=1))
    with time_machine.travel(at(MON + timedelta(days=1), 11), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        service_visit_record(vehicle=car, repair_type="periodic_service",
                             date_in=MON + timedelta(days=1))
    plan(MON + timedelta(days=2))
    appointment.refresh_from_db()
    assert appointment.status == "came_in"
    assert not Task.objects.filter(programme_code="missed_appointment").exists()


@pytest.mark.django_db
def test_a_late_visit_keeps_the_appointment_and_ends_the_missed_call(store, caller,
                                                                      django_capture_on_commit_callbacks):
    car = VehicleFactory(store=store)
    appointment = book(car, caller, MON, MON + timedelta(days=1))
    plan(MON + timedelta(days=2))
    call = Task.objects.get(programme_code="missed_appointment")
    with time_machine.travel(at(MON + timedelta(days=3), 11), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        service_visit_record(vehicle=car, repair_type="periodic_service",
                             date_in=MON + timedelta(days=3))
    appointment.refresh_from_db()
    call.refresh_from_db()
    assert appointment.status == "came_in" and appointment.came_in_on == MON + timedelta(days=3)
    assert (call.status, call.cancel_reason) == ("cancelled", "came_in")


@pytest.mark.django_db
def test_missed_call_window_ends_on_n_plus_7(store, caller):
    car = VehicleFactory(store=store)
    book(car, caller, MON, MON + timedelta(days=1))
    plan(MON + timedelta(days=2))
    call = Task.objects.get(programme_code="missed_appointment", vehicle=car)
    plan(MON + timedelta(days=8))  # N+7: still open
    call.refresh_from_db()
    assert call.status == "planned"
    plan(MON + timedelta(days=9))
    call.refresh_from_db()
    assert (call.status, call.cancel_reason) == ("expired", "not_in_time")


@pytest.mark.django_db
def test_the_missed_appointment_step_is_editable(store, caller, cr_manager):
    step = Step.objects.get(programme__code="missed_appointment", code="call1")
    services.step_update(actor=cr_manager, step=step, offset_days=2)
    car = VehicleFactory(store=store)
    book(car, caller, MON, MON + timedelta(days=1))
    plan(MON + timedelta(days=2))
    call = Task.objects.get(programme_code="missed_appointment")
    assert (call.offset_days, call.planned_on) == (2, MON + timedelta(days=3))
    assert Appointment.objects.get().status == "no_show"
