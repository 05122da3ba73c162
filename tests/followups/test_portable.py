"""The ORM fallback used by the embedded SQLite demo takes the same decisions as the
set-based SQL (run here on PostgreSQL with the fallback forced)."""

from datetime import timedelta

import pytest

from crm_site.models import Message
from followups import planner
from followups.models import Task

from .factories import CustomerFactory, VehicleFactory
from .helpers import MON, plan

pytestmark = pytest.mark.django_db


def _snapshot():
    return sorted(Task.objects.values_list("vehicle", "step", "due_on", "planned_on", "status",
                                           "assignee"))


@pytest.mark.parametrize("portable", [False, True])
def test_same_rows_either_way(store, caller, specialist, monkeypatch, portable):
    monkeypatch.setattr(planner, "_portable", lambda: portable)
    quiet = CustomerFactory(store=store, sms_allowed=False)
    VehicleFactory(store=store, customer=quiet, first_service_due_on=MON + timedelta(days=15))
    for days in (14, 15, 7, 3):
        VehicleFactory(store=store, first_service_due_on=MON + timedelta(days=days))
    came = VehicleFactory(store=store, next_service_due_on=MON + timedelta(days=7),
                          last_visit_on=MON - timedelta(days=2))
    plan(MON)
    plan(MON)
    rows = _snapshot()
    assert not Task.objects.filter(vehicle=came).exists()
    assert Message.objects.count() == Task.objects.filter(channel="sms", status="done").count() == 1
    assert not Task.objects.filter(channel="call", assignee__isnull=True).exists()
    # The expected rows, identical for both paths (two of them tomorrow's N-14 calls,
    # written ahead).
    assert len(rows) == 9
    assert Task.objects.filter(status="expired").count() == 1
