"""A customer's reply to our SMS, passed on by the provider (pushed to the callback, or
polled from Tencent Cloud's fake API): 退订 / TD / T withdraws the customer's SMS consent
through the consent service (a ConsentChange by SMS reply and a history row); any other
reply changes nothing; the same reply passed on twice counts once."""

import pytest

from crm_site.models import SmsReply
from crm_site.services import messages_poll
from customers.models import ConsentChange, Customer
from tests.crm_site.sms_fakes import MOBILE, push_reply, serve

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(store):
    from customers.services import customer_create

    return customer_create(store=store, name="张三", mobile=MOBILE)


def test_a_td_reply_withdraws_the_customers_sms_consent(sms_fake, store, other_store, client,
                                                        customer):
    from customers.services import customer_create

    store.sms_extend_code = "07"
    store.save()
    elsewhere = customer_create(store=other_store, name="张三", mobile=MOBILE)

    response = push_reply(client, sms_fake, f"86{MOBILE}" if sms_fake.provider == "tencent" else MOBILE,
                           " TD ", extend="07")
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.sms_allowed, customer.call_allowed) == (False, True)
    change = ConsentChange.objects.get(customer=customer)
    assert (change.channel, change.allowed, change.method) == ("sms", False, "sms_reply")
    assert customer.history.first().sms_allowed is False  # the history row
    assert Customer.objects.get(pk=elsewhere.pk).sms_allowed  # another store's record: as was
    reply = SmsReply.objects.get()
    assert (reply.store, reply.opt_out, reply.customers_changed) == (store, True, 1)

    push_reply(client, sms_fake, MOBILE, " TD ", extend="07")  # pushed again: kept once
    assert SmsReply.objects.count() == 1 and ConsentChange.objects.count() == 1


def test_an_ordinary_reply_changes_no_consent(sms_fake, client, customer):
    assert push_reply(client, sms_fake, MOBILE, "好的，谢谢").status_code == 200
    customer.refresh_from_db()
    assert customer.sms_allowed and not SmsReply.objects.get().opt_out


def test_a_polled_reply_of_tui_ding_withdraws_consent(store, settings, customer):
    settings.SMS_POLL = True
    with serve("tencent", settings) as fake:
        fake.reply(MOBILE, "退订")
        assert messages_poll()["replies"] == 1
        assert fake.refused == []
    customer.refresh_from_db()
    assert not customer.sms_allowed


