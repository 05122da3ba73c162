"""Alibaba Cloud and Tencent Cloud SMS, each against a local fake of its HTTP API (real
HTTP on 127.0.0.1, signatures checked as documented): a message is sent once with the
template and sign of its kind; the provider's receipt (pushed or polled) says delivered
or not and why; throttling and an outage are waited out, a refusal is not retried, and
nobody gets a message twice; a 退订 reply withdraws the customer's SMS consent; a
callback without the right token is refused."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from crm_site.models import Message, SmsReply, SmsTemplate
from crm_site.roles import Role
from crm_site.services import message_queue, messages_poll, messages_send_due

from .sms_fakes import MOBILE, TENCENT_APP, FakeTencent, push_receipt, push_reply, use_tencent

SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(*args):
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _monday_morning():
    """Messages are queued on Monday 23 November 2026 at 09:30, inside the send window."""
    with time_machine.travel(at(2026, 11, 23, 9, 30), tick=False):
        yield


def _queue(store, recipient=MOBILE, code="SMS_PERIODIC_SERVICE", **kwargs):
    return message_queue(store=store, recipient=recipient, template_code=code, params={
        "store": "A店", "name": "张三", "plate": "沪A12345", "date": "2026-12-08",
        "phone": "021-5555"}, **kwargs)


def _send(now):
    with time_machine.travel(now, tick=False):
        return messages_send_due()


def test_sent_once_with_the_template_and_sign_of_its_kind(sms_fake, store):
    SmsTemplate.objects.filter(code="SMS_PERIODIC_SERVICE").update(
        sign_name="A店服务", aliyun_template_code="SMS_4711", tencent_template_id="1234567")
    store.sms_extend_code = "07"
    store.save()
    message = _queue(store)
    counts = _send(at(2026, 11, 23, 10, 0))
    _send(at(2026, 11, 23, 10, 5))  # a second run sends nothing again

    message.refresh_from_db()
    assert counts["sent"] == 1 and len(sms_fake.accepted) == 1
    accepted = sms_fake.accepted[0]
    assert (message.status, message.provider, message.provider_id) == (
        Message.Status.SENT, sms_fake.provider, accepted["id"])
    assert accepted["sign"] == "A店服务" and accepted["extend"] == "07"
    if sms_fake.provider == "aliyun":
        assert (accepted["phone"], accepted["template"]) == (MOBILE, "SMS_4711")
        assert accepted["params"]["plate"] == "沪A12345"
        assert accepted["out_id"] == str(message.pk)
    else:
        assert (accepted["phone"], accepted["template"], accepted["app"]) == (
            f"+86{MOBILE}", "1234567", TENCENT_APP)
        # Tencent numbers the parameters: in the order the template row names them.
        assert accepted["params"] == ["A店", "张三", "沪A12345", "2026-12-08", "021-5555"]


def test_delivered_receipt_pushed_to_the_callback_is_kept_on_the_row(sms_fake, store, client,
                                                                     cr_manager):
    message = _queue(store)
    _send(at(2026, 11, 23, 10, 0))
    message.refresh_from_db()

    response = push_receipt(client, sms_fake, message, delivered=True)
    assert response.status_code == 200
    assert response.json() == ({"code": 0, "msg": "接收成功"} if sms_fake.provider == "aliyun"
                               else {"result": 0, "errmsg": "OK"})
    message.refresh_from_db()
    assert message.delivery == Message.Delivery.DELIVERED
    assert message.delivered_at == at(2026, 11, 23, 10, 0, 7)
    push_receipt(client, sms_fake, message, delivered=True)  # pushed again: same row, same state
    assert Message.objects.filter(delivery=Message.Delivery.DELIVERED).count() == 1

    client.force_login(cr_manager)
    page = client.get(reverse("message-list") + "?delivery=delivered").content.decode()
    assert "已送达" in page and MOBILE[-4:] in page


def test_failed_receipt_shows_the_providers_reason_on_the_outbox_page(sms_fake, store, client,
                                                                      cr_manager):
    message = _queue(store)
    _send(at(2026, 11, 23, 10, 0))
    message.refresh_from_db()

    assert push_receipt(client, sms_fake, message, delivered=False).status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.SENT  # it went out; the carrier could not deliver
    assert message.delivery == Message.Delivery.UNDELIVERED
    assert "MK:0012" in message.delivery_error and "用户停机" in message.delivery_error
    client.force_login(cr_manager)
    page = client.get(reverse("message-list")).content.decode()
    assert "未送达" in page and "用户停机" in page


def test_receipts_are_polled_where_callbacks_are_not_configured(sms_fake, store, settings):
    settings.SMS_POLL = True
    delivered, undelivered = _queue(store), _queue(store, recipient="13800000002")
    _send(at(2026, 11, 23, 10, 0))
    delivered.refresh_from_db()
    undelivered.refresh_from_db()
    sms_fake.report(delivered.provider_id, True)
    sms_fake.report(undelivered.provider_id, False, "MK:0012")

    with time_machine.travel(at(2026, 11, 23, 10, 5), tick=False):
        counts = messages_poll()
    assert counts["receipts"] == 2
    delivered.refresh_from_db()
    undelivered.refresh_from_db()
    assert delivered.delivery == Message.Delivery.DELIVERED
    assert (undelivered.delivery, undelivered.delivery_error) == (
        Message.Delivery.UNDELIVERED, "MK:0012")


def test_without_polling_configured_the_provider_is_not_asked(sms_fake, store, settings):
    settings.SMS_POLL = False
    _queue(store)
    _send(at(2026, 11, 23, 10, 0))
    before = len(sms_fake.requests)
    assert messages_poll() == {"receipts": 0, "replies": 0}
    assert len(sms_fake.requests) == before


def test_throttled_by_the_provider_waits_and_is_sent_once_later(sms_fake, store):
    sms_fake.mode[MOBILE] = "throttle"
    message = _queue(store)
    counts = _send(at(2026, 11, 23, 10, 0))
    message.refresh_from_db()
    assert counts["retry"] == 1 and sms_fake.accepted == []
    assert message.status == Message.Status.READY
    wait = timedelta(hours=1) if sms_fake.provider == "aliyun" else timedelta(minutes=1)
    assert message.next_attempt_at == at(2026, 11, 23, 10, 0) + wait
    assert "LIMIT" in message.last_error.upper()

    sms_fake.mode[MOBILE] = "ok"
    _send(at(2026, 11, 23, 10, 0) + wait - timedelta(seconds=1))  # not yet
    assert sms_fake.accepted == []
    _send(at(2026, 11, 23, 10, 0) + wait)
    _send(at(2026, 11, 23, 12, 0))
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and len(sms_fake.accepted) == 1


def test_provider_down_is_retried_with_back_off_then_failed_once(sms_fake, store, settings):
    settings.SMS_MAX_ATTEMPTS = 3
    sms_fake.mode[MOBILE] = "down"
    message = _queue(store)
    moments = [at(2026, 11, 23, 10, 0), at(2026, 11, 23, 10, 1), at(2026, 11, 23, 10, 3)]
    for moment in moments:
        _send(moment)
        message.refresh_from_db()
        if message.status == Message.Status.READY:
            assert message.next_attempt_at > moment
    assert (message.status, message.attempts) == (Message.Status.FAILED, 3)
    assert "503" in message.last_error
    assert message.failed_at == moments[-1]
    attempts = len([r for r in sms_fake.requests
                    if (r.get("Action") if isinstance(r, dict) else r[0]) == "SendSms"])
    assert attempts == 3

    sms_fake.mode[MOBILE] = "ok"  # back up: a failed message stays failed, never sent late
    _send(at(2026, 11, 23, 11, 0))
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and sms_fake.accepted == []


def test_provider_back_after_an_outage_gets_the_message_once(sms_fake, store):
    sms_fake.mode[MOBILE] = "down"
    message = _queue(store)
    _send(at(2026, 11, 23, 10, 0))
    sms_fake.mode[MOBILE] = "ok"
    _send(at(2026, 11, 23, 10, 1))
    _send(at(2026, 11, 23, 10, 10))
    message.refresh_from_db()
    assert (message.status, message.attempts, len(sms_fake.accepted)) == (Message.Status.SENT, 2, 1)


def test_provider_unreachable_is_a_temporary_error(store, settings):
    with FakeTencent() as closed:
        use_tencent(settings, closed)
    # the fake has stopped: nothing listens at its address any more
    message = _queue(store)
    _send(at(2026, 11, 23, 10, 0))
    message.refresh_from_db()
    assert message.status == Message.Status.READY and "无法连接服务商" in message.last_error


def test_a_refused_number_fails_at_once_and_is_never_retried(sms_fake, store):
    sms_fake.mode[MOBILE] = "bad_number"
    message = _queue(store)
    counts = _send(at(2026, 11, 23, 10, 0))
    _send(at(2026, 11, 23, 11, 0))
    message.refresh_from_db()
    assert counts["failed"] == 1
    assert (message.status, message.attempts) == (Message.Status.FAILED, 1)
    assert ("MOBILE_NUMBER_ILLEGAL" in message.last_error
            or "IncorrectPhoneNumber" in message.last_error)


def test_the_limit_per_number_holds_the_second_message_back(sms_fake, store):
    _queue(store)
    second = _queue(store, code="SMS_BIRTHDAY")
    counts = _send(at(2026, 11, 23, 10, 0))
    assert (counts["sent"], counts["waiting"]) == (1, 1)
    second.refresh_from_db()
    assert (second.status, second.attempts) == (Message.Status.READY, 0)
    assert second.next_attempt_at == at(2026, 11, 23, 10, 1)
    _send(at(2026, 11, 23, 10, 1))
    second.refresh_from_db()
    assert second.status == Message.Status.SENT and len(sms_fake.accepted) == 2


def test_a_callback_with_a_wrong_token_is_refused_and_changes_nothing(sms_fake, store, client):
    message = _queue(store)
    _send(at(2026, 11, 23, 10, 0))
    message.refresh_from_db()

    assert push_receipt(client, sms_fake, message, True, token="guessed").status_code == 403
    assert push_reply(client, sms_fake, MOBILE, "TD", token="guessed").status_code == 403
    message.refresh_from_db()
    assert message.delivery == "" and not SmsReply.objects.exists()


def test_callbacks_are_refused_when_no_token_is_configured(sms_fake, store, client, settings):
    settings.SMS_CALLBACK_TOKEN = ""
    assert push_reply(client, sms_fake, MOBILE, "TD", token="anything").status_code == 403


def test_the_outbox_page_runs_the_same_queries_however_many_messages(
        store, client, make_user, django_assert_max_num_queries):
    user = make_user(Role.CR_MANAGER, store)
    client.force_login(user)
    for n in range(3):
        _queue(store, recipient=f"1380000000{n}")
    client.get(reverse("message-list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("message-list"))
    for n in range(3, 12):
        _queue(store, recipient=f"138000000{n:02d}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("message-list"))
    assert len(many) == len(few)
