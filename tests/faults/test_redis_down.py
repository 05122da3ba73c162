"""Redis stopped under a running site, worker and beat: pages and API keep working,
every write is saved in PostgreSQL, and the work those writes leave (an SMS in the
outbox, an SLA breach to record and tell) is done within a minute of Redis coming back.

Requests never enqueue anything themselves: the durable state is the row (the outbox
message, the complaint's deadline), and beat's per-minute jobs pick up whatever is due.
A beat tick that falls in the outage is lost, and the next one, a minute later, does
the work."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from complaints.models import Complaint, ComplaintEvent
from crm_site.models import Message, Notification
from crm_site.roles import Role
from crm_site.services import message_queue
from customers.models import Customer
from tests.customers.factories import make_customer

from .conftest import WEB_PORT, celery, current_database_url, gunicorn, login, site_env, status_of, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _minute_jobs_due_in(seconds):
    """Beat's rows for the per-minute jobs, last run so that the next run is `seconds`
    from now (beat keeps last_run_at of rows that exist when it starts)."""
    last_run = timezone.now() - timedelta(seconds=60 - seconds)
    PeriodicTask.objects.filter(interval__every=60, interval__period=IntervalSchedule.SECONDS,
                                enabled=True).update(last_run_at=last_run)


def test_site_keeps_working_without_redis_and_catches_up(private_redis, processes, store,
                                                          make_user):
    manager = make_user(Role.CR_MANAGER, store, username="redis-down")
    caller = make_user(Role.CALLER, store, username="redis-caller")
    customer = make_customer(store, n=1)
    env = site_env(current_database_url(), private_redis.url)
    base = f"http://127.0.0.1:{WEB_PORT}"
    processes.start("gunicorn", gunicorn(WEB_PORT), env)
    worker = processes.start("worker", celery("worker", "--pool", "solo", "--loglevel", "INFO",
                                              "--without-mingle", "--without-gossip"), env)
    wait_for(lambda: status_of(f"{base}/healthz") == 200, 30, "the site")
    wait_for(lambda: b"ready." in worker.log.read_bytes(), 30, "the worker")
    session = login(base, manager.username)

    private_redis.stop()
    # Beat starts while Redis is down, with its per-minute jobs due a few seconds later.
    _minute_jobs_due_in(seconds=5)
    beat = processes.start("beat", celery("beat", "--loglevel", "INFO", "--max-interval", "2"), env)
    health = session.get(f"{base}/healthz", timeout=10)
    assert health.status_code == 503
    assert health.json()["database"] == "ok" and health.json()["broker"].startswith("error")
    for path in ("/", "/customers/", "/complaints/", "/api/v1/customers/", "/api/v1/complaints/"):
        assert session.get(base + path, timeout=10).status_code == 200, path
    opened = session.post(f"{base}/api/v1/complaints/", timeout=10, json={
        "customer": customer.pk, "channel": "phone", "category": "service_quality",
        "description": "Redis 停机时登记的投诉", "owner": caller.pk,
        "received_at": (timezone.now() - timedelta(days=7)).isoformat()})
    assert opened.status_code == 201, opened.text
    added = session.post(f"{base}/api/v1/customers/", timeout=10, json={
        "store": store.pk, "name": "停机新客户", "mobile": "13900000077"})
    assert added.status_code == 201, added.text
    # What the nightly planner writes: an SMS due now.
    sms = message_queue(store=store, recipient="13800000001", template_code="SMS_1")
    Message.objects.filter(pk=sms.pk).update(not_before=timezone.now())

    # Every write is in PostgreSQL already.
    complaint = Complaint.objects.get(pk=opened.json()["id"])
    assert complaint.response_breached_at is None
    assert Customer.objects.filter(name="停机新客户").exists()
    # Keep Redis down past a beat tick: beat cannot send the jobs and retries.
    wait_for(lambda: b"Connection error" in beat.log.read_bytes(), 45, "beat to miss a tick")

    told_before = Notification.objects.filter(user=caller).count()
    private_redis.start()
    back = time.monotonic()

    def caught_up():
        sms.refresh_from_db()
        breached = ComplaintEvent.objects.filter(complaint=complaint, kind="breach",
                                                 clock="response").exists()
        return sms.status == Message.Status.SENT and breached

    wait_for(caught_up, 65, "the outbox and the SLA sweep to catch up", interval=0.5)
    assert time.monotonic() - back < 62
    assert Notification.objects.filter(user=caller).count() > told_before  # the breach was told
    assert ComplaintEvent.objects.filter(complaint=complaint, kind="breach",
                                         clock="response").count() == 1
