"""A worker killed with SIGKILL in the middle of the SMS sender: nothing is lost and
nothing is sent twice.

The task is acknowledged late and rejected when its worker process is lost
(CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST), so Celery runs it again at
once. The sender claims a batch (SENDING) before it sends; the rows of the killed run's
batch that were not sent stay claimed, so no other run sends them, until the outbox's
requeue job puts them back ten minutes later and the next run sends them once."""

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from crm_site.celery import app
from crm_site.models import Message
from crm_site.services import message_queue, messages_requeue_stuck

from .conftest import celery, current_database_url, site_env, wait_for
from .sms_backends import sent_ids

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
MESSAGES = 8


def _pool_children(pid):
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def test_sigkill_mid_send_loses_nothing_and_sends_nothing_twice(private_redis, processes,
                                                                 store, tmp_path, monkeypatch):
    ids = []
    for n in range(MESSAGES):
        ids.append(message_queue(store=store, recipient=f"1380000{n:04d}", template_code="SMS_1").pk)
    Message.objects.update(not_before=timezone.now() - timedelta(minutes=1))
    log = tmp_path / "sent.txt"
    env = site_env(current_database_url(), private_redis.url,
                   SMS_BACKEND="tests.faults.sms_backends.SlowFileBackend",
                   FAULTS_SMS_LOG=str(log), FAULTS_SMS_DELAY="1.0")
    worker = processes.start("worker", celery(
        "worker", "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO",
        "--without-mingle", "--without-gossip", "--queues", "kill-test"), env)
    wait_for(lambda: b"ready." in worker.log.read_bytes(), 60, "the worker")
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    with app.connection_for_write(private_redis.url) as connection:
        app.send_task("crm_site.tasks.messages_send_due", queue="kill-test", connection=connection)

    wait_for(lambda: len(sent_ids(log)) >= 3, 60, "the first messages to go out")
    time.sleep(0.4)  # now in the middle of the next message's send (each takes a second)
    (child,) = _pool_children(worker.pid)
    os.kill(child, signal.SIGKILL)

    # Celery hands the task out again at once; the messages of the killed run's batch
    # are claimed, so the second run leaves them alone: nothing is sent twice.
    wait_for(lambda: worker.log.read_bytes().count(b"received") >= 2
             and b"succeeded" in worker.log.read_bytes(), 60, "the task to run again")
    sent = sent_ids(log)
    assert Message.objects.filter(status=Message.Status.SENT).count() == len(sent) < MESSAGES
    assert Message.objects.filter(status=Message.Status.SENDING).count() == MESSAGES - len(sent)

    # Ten minutes later the requeue job puts the claimed rows back, and the next run
    # sends them: every message reaches the provider exactly once.
    Message.objects.filter(status=Message.Status.SENDING).update(
        claimed_at=timezone.now() - timedelta(minutes=11))
    assert messages_requeue_stuck() == MESSAGES - len(sent)
    with app.connection_for_write(private_redis.url) as connection:
        app.send_task("crm_site.tasks.messages_send_due", queue="kill-test", connection=connection)
    wait_for(lambda: Message.objects.filter(status=Message.Status.SENT).count() == MESSAGES, 60,
             "every message to be sent", interval=0.5)
    assert sorted(sent_ids(log)) == sorted(ids)
