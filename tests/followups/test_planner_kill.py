"""Kill the planner in the middle (a real process, SIGKILL) and run it again: every
expected row exists once, and every queued SMS task has exactly one message."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from crm_site.models import Message
from followups import services
from followups.models import Task

from .factories import VehicleFactory

BASE_DIR = Path(settings.BASE_DIR)


def _dsn():
    s = connection.settings_dict
    return f"dbname={s['NAME']} user={s['USER']} host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sigkill_in_the_middle_then_rerun(store, caller):
    today = timezone.localdate()
    n = 60
    for _i in range(n):
        VehicleFactory(store=store, delivered_on=today - timedelta(days=1))
        VehicleFactory(store=store, first_service_due_on=today + timedelta(days=15))
    # Hold the outbox so the planner stops at its first SMS step, after the follow-up
    # calls are in: then kill it.
    blocker = psycopg2.connect(_dsn())
    blocker.autocommit = False
    blocker.cursor().execute("LOCK TABLE crm_site_message IN SHARE ROW EXCLUSIVE MODE")
    env = {**os.environ, "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(
        **{k: connection.settings_dict[k] or d for k, d in
           (("USER", "postgres"), ("HOST", "127.0.0.1"), ("PORT", "5432"), ("NAME", ""))})}
    process = subprocess.Popen([sys.executable, "manage.py", "plan_reminders", "--date",
                                today.isoformat()], cwd=BASE_DIR, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        waiting = 0
        while time.monotonic() < deadline and not waiting:
            with blocker.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                waiting = cursor.fetchone()[0]
            time.sleep(0.2)
        assert waiting, "the planner never reached the outbox"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        blocker.rollback()
        blocker.close()
    assert process.returncode == -signal.SIGKILL
    half = Task.objects.count()
    assert half >= n  # the follow-up calls were planned before the kill
    services.reminders_plan(day=today)
    services.reminders_plan(day=today)
    per_vehicle = Task.objects.values("vehicle", "step").annotate(c=Count("id"))
    assert all(row["c"] == 1 for row in per_vehicle)
    assert Task.objects.filter(programme_code="post_delivery_followup").count() == n
    sms = Task.objects.filter(programme_code="first_service", offset_days=-15)
    assert sms.count() == n
    for task in sms.filter(status="done"):
        assert Message.objects.filter(object_id=task.pk, purpose__startswith="first_service").count() == 1
    assert Message.objects.count() == sms.filter(status="done").count()
