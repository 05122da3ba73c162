"""Enqueueing from a request never fails it: a broker that cannot be reached is logged
and the work is left to the scheduled job."""

import logging

import pytest
from kombu.exceptions import OperationalError

from crm_site.celery import app
from crm_site.tasks import enqueue, messages_send_due


@pytest.mark.django_db(transaction=True)
def test_unreachable_broker_is_logged_not_raised(monkeypatch, caplog):
    monkeypatch.setitem(app.conf, "task_always_eager", False)

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(messages_send_due, "apply_async", refuse)
    with caplog.at_level(logging.WARNING, logger="crm_site.tasks"):
        enqueue(messages_send_due)  # outside a transaction: sent (and refused) at once
    assert "could not enqueue crm_site.tasks.messages_send_due" in caplog.text


@pytest.mark.django_db
def test_eager_runs_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    calls = []
    monkeypatch.setattr(messages_send_due, "apply_async", lambda **kwargs: calls.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(messages_send_due)
        assert calls == []
    assert calls == [{"args": (), "kwargs": {}}]
