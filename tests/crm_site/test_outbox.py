"""The SMS outbox: queued inside the send window, sent once, failures kept with reason."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from crm_site.models import Message
from crm_site.services import (
    message_queue,
    messages_requeue_stuck,
    messages_send_due,
)
from crm_site.sms import LocmemBackend

SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def test_queued_then_sent_by_the_backend(store):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        message = message_queue(store=store, recipient="13800000001", template_code="SMS_1",
                                params={"name": "张先生"})
        assert message.status == Message.Status.READY
        assert message.sign_name == "A店"
        counts = messages_send_due()
    message.refresh_from_db()
    assert counts["sent"] == 1
    assert message.status == Message.Status.SENT
    assert message.sent_at == at(2026, 11, 23, 10, 0)
    assert [m.recipient for m in LocmemBackend.outbox] == ["13800000001"]


def test_sending_twice_sends_once(store):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        message_queue(store=store, recipient="13800000001", template_code="SMS_1")
        messages_send_due()
        messages_send_due()
    assert len(LocmemBackend.outbox) == 1


def test_dedupe_key_queues_once(store):
    first = message_queue(store=store, recipient="1", template_code="T", dedupe_key="k1")
    second = message_queue(store=store, recipient="1", template_code="T", dedupe_key="k1")
    assert first.pk == second.pk
    assert Message.objects.count() == 1


def test_night_message_waits_for_the_send_window(store):
    with time_machine.travel(at(2026, 11, 23, 21, 30), tick=False):
        message = message_queue(store=store, recipient="13800000001", template_code="SMS_1")
        assert timezone.localtime(message.not_before, SHANGHAI) == at(2026, 11, 24, 9, 0)
        messages_send_due()
    assert LocmemBackend.outbox == []
    with time_machine.travel(at(2026, 11, 24, 8, 59, 59), tick=False):
        messages_send_due()
    assert LocmemBackend.outbox == []
    with time_machine.travel(at(2026, 11, 24, 9, 0), tick=False):
        messages_send_due()
    assert len(LocmemBackend.outbox) == 1


def test_failure_is_recorded_with_reason_and_retried_with_backoff(store, settings):
    settings.SMS_MAX_ATTEMPTS = 2
    LocmemBackend.fail_for = {"13800000009"}
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        message = message_queue(store=store, recipient="13800000009", template_code="SMS_1")
        counts = messages_send_due()
    message.refresh_from_db()
    assert counts["retry"] == 1
    assert message.status == Message.Status.READY
    assert message.last_error == "recipient refused by provider"
    assert message.next_attempt_at == at(2026, 11, 23, 10, 1)
    with time_machine.travel(at(2026, 11, 23, 10, 0, 59), tick=False):
        assert messages_send_due()["retry"] == 0  # not yet
    with time_machine.travel(at(2026, 11, 23, 10, 1), tick=False):
        assert messages_send_due()["failed"] == 1
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.attempts == 2


def test_stale_message_expires_instead_of_going_out_late(store):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        message = message_queue(store=store, recipient="1", template_code="T",
                                expires_at=at(2026, 11, 23, 12, 0))
    with time_machine.travel(at(2026, 11, 23, 12, 0), tick=False):
        messages_send_due()
    message.refresh_from_db()
    assert message.status == Message.Status.EXPIRED
    assert LocmemBackend.outbox == []


def test_message_left_sending_by_a_dead_sender_is_requeued(store):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        message = message_queue(store=store, recipient="1", template_code="T")
        Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING,
                                                     claimed_at=timezone.now())
    with time_machine.travel(at(2026, 11, 23, 10, 9), tick=False):
        assert messages_requeue_stuck() == 0
    with time_machine.travel(at(2026, 11, 23, 10, 11), tick=False):
        assert messages_requeue_stuck() == 1
        messages_send_due()
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_message_list_masks_mobiles_and_scopes(client, store, other_store, make_user):
    from crm_site.roles import Role

    message_queue(store=store, recipient="13812345678", template_code="T")
    message_queue(store=other_store, recipient="13999999999", template_code="T")
    caller = make_user(Role.CALLER, store)
    client.force_login(caller)
    page = client.get("/messages/").content.decode()
    assert "138****5678" in page
    assert "13812345678" not in page
    assert "1399" not in page


def test_message_list_query_count_is_fixed(client, store, make_user, django_assert_max_num_queries):
    from crm_site.roles import Role

    client.force_login(make_user(Role.CR_MANAGER, store))
    message_queue(store=store, recipient="13812345678", template_code="T")
    with django_assert_max_num_queries(12) as one:
        client.get("/messages/")
    for n in range(20):
        message_queue(store=store, recipient=f"138000000{n:02d}", template_code="T")
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get("/messages/")




def test_outbox_and_notification_api_run_a_fixed_number_of_queries(
        client, store, make_user, django_assert_max_num_queries):
    from crm_site.roles import Role
    from crm_site.services import notification_send

    manager = make_user(Role.CR_MANAGER, store)
    client.force_login(manager)
    message_queue(store=store, recipient="13812345678", template_code="T")
    notification_send(users=[manager], title="一条")
    with django_assert_max_num_queries(30) as one:
        client.get("/api/v1/messages/")
        client.get("/api/v1/notifications/")
        client.get("/api/v1/stores/")
    for n in range(20):
        message_queue(store=store, recipient=f"139000000{n:02d}", template_code="T")
        notification_send(users=[manager], title=f"通知{n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get("/api/v1/messages/")
        client.get("/api/v1/notifications/")
        client.get("/api/v1/stores/")
