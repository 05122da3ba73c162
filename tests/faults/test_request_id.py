"""The request id joins the log lines of a request and of the task it enqueued: the
middleware sets it, publishing carries it in the task's headers, and the worker logs
the task's lines with it."""

import io
import logging

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from crm_site.celery import app
from crm_site.middleware import RequestIdMiddleware
from crm_site.models import Message
from crm_site.request_id import RequestIdFilter
from crm_site.services import message_queue

from .conftest import celery, current_database_url, site_env, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
logger = logging.getLogger("crm_site.views")


def test_request_and_its_task_log_the_same_request_id(private_redis, processes, store, monkeypatch):
    message = message_queue(store=store, recipient="13800000009", template_code="SMS_9")
    Message.objects.filter(pk=message.pk).update(not_before=timezone.now())
    worker = processes.start("worker", celery(
        "worker", "--pool", "solo", "--without-mingle", "--without-gossip", "--queues", "rid-test"),
        site_env(current_database_url(), private_redis.url))
    wait_for(lambda: b"ready." in worker.log.read_bytes(), 60, "the worker")
    monkeypatch.setitem(app.conf, "task_always_eager", False)

    def view(request):
        logger.info("sending due messages")
        with app.connection_for_write(private_redis.url) as connection:
            app.send_task("crm_site.tasks.messages_send_due", queue="rid-test",
                          connection=connection)
        return HttpResponse("queued")

    # The site's log handler, as settings.LOGGING configures it, writing to a buffer.
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"]))
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        response = RequestIdMiddleware(view)(RequestFactory().post("/", HTTP_X_REQUEST_ID="req-7f3a"))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert response["X-Request-ID"] == "req-7f3a"
    assert "[req-7f3a] sending due messages" in buffer.getvalue()

    wait_for(lambda: f"[req-7f3a] SMS {message.pk} to".encode() in worker.log.read_bytes(), 60,
             "the task's log line with the request id")
