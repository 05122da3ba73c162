"""The minute sweep run by several workers at once: every warning and breach is recorded
once and told once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from complaints import services
from complaints.models import Complaint, ComplaintEvent
from crm_site.models import Notification

from .conftest import T0

pytestmark = pytest.mark.django_db(transaction=True)
WORKERS = 4
COMPLAINTS = 30


@pytest.fixture(autouse=True)
def _roles_and_policies(transactional_db):
    """A browser or worker test that ran before may have flushed the rows the data
    migrations loaded; load the roles and SLA policies again when they are missing."""
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth.models import Group

    if not Group.objects.exists():
        import_module("crm_site.migrations.0002_roles").forwards(apps, None)
        import_module("complaints.migrations.0002_policies_and_roles").forwards(apps, None)


def run_concurrently(now, batch):
    barrier = threading.Barrier(WORKERS)
    results, errors = [], []

    def work():
        try:
            barrier.wait()
            results.append(services.complaints_sweep(now=now, batch=batch))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_concurrent_sweeps_record_and_notify_once(open_complaint, staff, clock):
    ids = [open_complaint().pk for _ in range(COMPLAINTS)]
    Notification.objects.all().delete()

    warn_at = T0 + timedelta(minutes=24)
    results = run_concurrently(warn_at, batch=4)
    assert sum(r["response_warning"] for r in results) == COMPLAINTS
    results = run_concurrently(warn_at + timedelta(seconds=30), batch=4)
    assert sum(r["response_warning"] for r in results) == 0

    breach_at = T0 + timedelta(minutes=30, seconds=1)
    results = run_concurrently(breach_at, batch=3)
    assert sum(r["response_breach"] for r in results) == COMPLAINTS
    assert sum(r["response_breach"] for r in run_concurrently(breach_at, batch=3)) == 0

    for complaint_id in ids:
        events = ComplaintEvent.objects.filter(complaint_id=complaint_id)
        assert events.filter(kind="warning", clock="response").count() == 1
        assert events.filter(kind="breach", clock="response").count() == 1
    # Warnings go to the owner, breaches to the owner and the CR manager: one each.
    assert Notification.objects.filter(user=staff["caller"]).count() == 2 * COMPLAINTS
    assert Notification.objects.filter(user=staff["crm"]).count() == COMPLAINTS
    assert Notification.objects.filter(user=staff["gm"]).count() == 0
    flags = (Complaint.objects.order_by().values_list("response_warned_at", "response_breached_at")
             .distinct())
    assert list(flags) == [(warn_at, breach_at)]
