"""Calls, SMS and appointments appear on the customer's timeline."""

from datetime import timedelta

import pytest
import time_machine

from customers import timeline
from followups import services
from followups.models import Outcome
from followups.timeline import followup_entries

from .factories import VehicleFactory
from .helpers import MON, at, plan

pytestmark = pytest.mark.django_db


def test_provider_is_registered_and_lists_calls_sms_and_appointments(store, caller,
                                                                   django_assert_max_num_queries):
    assert followup_entries in timeline.providers()
    car = VehicleFactory(store=store, first_service_due_on=MON + timedelta(days=14))
    VehicleFactory(store=store, customer=car.customer, first_service_due_on=MON + timedelta(days=15))
    plan(MON)
    task = car.followup_tasks.get(channel="call")
    with time_machine.travel(at(MON, 10), tick=False):
        services.task_record_outcome(task=task, actor=caller, outcome=Outcome.objects.get(code="booked"),
                                     appointment_on=MON + timedelta(days=10))
    caller.refresh_from_db()
    with django_assert_max_num_queries(6):  # permissions, content type, three reads
        entries = followup_entries(car.customer, caller)
    assert {e.kind for e in entries} == {"call", "sms", "appointment"}
