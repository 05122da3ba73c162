"""A real Celery worker, over the real Redis broker, completes a task."""

import datetime
import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from crm_site.celery import app
from crm_site.models import Message
from crm_site.services import message_queue

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    """A worker process on a private queue, using the test database."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SMS_BACKEND": "crm_site.sms.ConsoleBackend",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm_site", "worker", "--pool", "solo",
         "--queues", queue, "--loglevel", "INFO", "--without-mingle", "--without-gossip"],
        env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    yield queue
    process.terminate()
    output = process.communicate(timeout=30)[0].decode(errors="replace")
    print(output[-3000:])


def test_worker_sends_queued_sms_through_redis(worker, store, monkeypatch):
    assert settings.REDIS_URL.startswith("redis://"), "the suite runs against real Redis"
    # The worker runs on the real clock: open the store's send window all day so the
    # message is due whatever the hour of the run.
    store.sms_window_start, store.sms_window_end = datetime.time(0, 0), datetime.time(23, 59, 59)
    store.save(update_fields=["sms_window_start", "sms_window_end"])
    message = message_queue(store=store, recipient="13800000001", template_code="SMS_1")
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    app.send_task("crm_site.tasks.messages_send_due", queue=worker)
    deadline = time.monotonic() + 180  # a worker starting on a busy machine
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.status == Message.Status.SENT:
            break
        time.sleep(0.25)
    assert message.status == Message.Status.SENT
    assert message.provider_id == f"console-{message.pk}"
