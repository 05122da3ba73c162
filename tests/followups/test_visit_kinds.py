"""Visits that count: each programme lists the visit kinds that close it; a body-and-paint
visit no longer closes a first-service cycle, a first service does."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from customers.services import service_visit_record
from followups import services
from followups.models import Programme, Task

from .factories import ServiceVisitFactory, VehicleFactory
from .helpers import MON, at, plan


def visit(car, kind, day, capture):
    with time_machine.travel(at(day, 11), tick=False), capture(execute=True):
        service_visit_record(vehicle=car, repair_type=kind, date_in=day)


@pytest.mark.django_db
def test_default_closing_kinds():
    kinds = dict(Programme.objects.values_list("code", "closing_kinds"))
    assert kinds["first_service"] == ["first_service"]
    assert kinds["periodic_service"] == ["first_service", "periodic_service"]
    assert kinds["missed_appointment"] == []


@pytest.mark.django_db
def test_body_and_paint_visit_on_n_minus_10_keeps_the_first_service_calls(
        store, caller, django_capture_on_commit_callbacks):
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    for day in range(0, 4):
        plan(MON + timedelta(days=day))
    visit(car, "body_paint", n - timedelta(days=10), django_capture_on_commit_callbacks)
    for day in range(4, 12):  # up to N-3
        plan(MON + timedelta(days=day))
    calls = dict(Task.objects.filter(vehicle=car, channel="call").values_list("offset_days", "status"))
    # N-7 ended with its window (N-4); nothing was closed by the body-and-paint visit.
    assert calls[-7] == "expired" and calls[-3] == "planned"
    assert "cancelled" not in calls.values()
    # The first service itself closes what is left, at once.
    visit(car, "first_service", n - timedelta(days=3), django_capture_on_commit_callbacks)
    assert not Task.objects.filter(vehicle=car, programme_code="first_service",
                                   status__in=["planned", "retry"]).exists()
    assert Task.objects.get(vehicle=car, offset_days=-3).cancel_reason == "came_in"


@pytest.mark.django_db
def test_the_nightly_sweep_reads_the_visit_kind_too(store, caller):
    n = MON + timedelta(days=7)
    car = VehicleFactory(store=store, first_service_due_on=n)
    plan(MON)
    call = Task.objects.get(vehicle=car, offset_days=-7)
    # Visits written without the service (an old import): the night closes on the kind.
    ServiceVisitFactory(vehicle=car, repair_type="repair", date_in=MON)
    car.last_visit_on = MON
    car.save()
    plan(MON + timedelta(days=1))
    call.refresh_from_db()
    assert call.status == "planned"
    ServiceVisitFactory(vehicle=car, repair_type="first_service", date_in=MON + timedelta(days=1))
    plan(MON + timedelta(days=2))
    call.refresh_from_db()
    assert (call.status, call.cancel_reason) == ("cancelled", "came_in")


@pytest.mark.django_db
def test_a_manager_lists_the_kinds_that_close_a_programme(cr_manager):
    programme = Programme.objects.get(code="first_service")
    services.programme_update(actor=cr_manager, programme=programme,
                              closing_kinds=["first_service", "recall"])
    programme.refresh_from_db()
    assert programme.closing_kinds == ["first_service", "recall"]
    assert programme.history.first().closing_kinds == ["first_service", "recall"]
    with pytest.raises(ValidationError) as error:
        services.programme_update(actor=cr_manager, programme=programme, closing_kinds=["car_wash"])
    assert "closing_kinds" in error.value.message_dict
