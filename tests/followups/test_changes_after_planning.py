"""Work planned at night that a change during the day forbids is cancelled at once, in
the change's own transaction: consent to calls or SMS withdrawn, the customer's personal
data erased, the car sold on or retired, a duplicate record merged. The cancelled tasks
carry a reason reports tell apart; other customers' work and work already done stay as
they were, and the caller's worklist no longer shows the call."""

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from crm_site.models import Message
from crm_site.services import messages_send_due
from crm_site.sms import LocmemBackend
from customers import services as customer_services
from followups import selectors, services
from followups.models import FollowupSettings, Task

from .factories import CustomerFactory, VehicleFactory
from .helpers import MON, at, plan

pytestmark = pytest.mark.django_db

TUE = MON + timedelta(days=1)


@pytest.fixture(autouse=True)
def _monday_morning():
    """Sessions are timed: the test lives on Monday morning (the plan runs at night)."""
    with time_machine.travel(at(MON, 10), tick=False):
        yield


def _car(customer, due_in_days):
    """A car whose periodic service is due `due_in_days` after Monday: 7 gives Monday's
    N-7 call; 15 gives Monday's N-15 SMS and Tuesday's N-14 call, written ahead."""
    return VehicleFactory(store=customer.store, customer=customer,
                          next_service_due_on=MON + timedelta(days=due_in_days))


def _open(vehicle):
    return Task.objects.filter(vehicle=vehicle).open()


def _message(vehicle):
    return Message.objects.get(object_id__in=Task.objects.filter(vehicle=vehicle, channel="sms")
                               .values("pk"))


def _worklist(caller, day=MON):
    return {t.pk for t in selectors.worklist(caller, day)}


@pytest.fixture
def planned(store, caller):
    """Monday night's plan for two customers: Xu (a call today, an SMS today and a call
    written ahead for Tuesday, and a call already worked) and Yang (the same, untouched)."""
    FollowupSettings.objects.filter(pk=1).update(catch_up_days=0)
    xu = CustomerFactory(store=store, name="许文", mobile="13911110001")
    yang = CustomerFactory(store=store, name="杨帆", mobile="13911110002")
    cars = {"today": _car(xu, 7), "ahead": _car(xu, 15), "worked": _car(xu, 7),
            "other_today": _car(yang, 7), "other_ahead": _car(yang, 15)}
    plan(MON)
    worked = Task.objects.get(vehicle=cars["worked"], channel="call")
    with time_machine.travel(at(MON, 9), tick=False):
        services.task_record_outcome(task=worked, actor=caller, outcome="reached")
    assert _open(cars["today"]).count() == 1 and _open(cars["ahead"]).count() == 1
    assert _message(cars["ahead"]).status == Message.Status.READY
    return xu, yang, cars


def _assert_untouched(cars, *names):
    for name in names:
        tasks = Task.objects.filter(vehicle=cars[name])
        assert not tasks.filter(status="cancelled").exists(), name
        assert not tasks.exclude(cancel_reason="").exists(), name


def _assert_others_untouched(cars):
    _assert_untouched(cars, "other_today", "other_ahead")
    assert _open(cars["other_today"]).count() == 1 and _open(cars["other_ahead"]).count() == 1
    assert _message(cars["other_ahead"]).status == Message.Status.READY


def _assert_worked_call_kept(cars):
    worked = Task.objects.get(vehicle=cars["worked"], channel="call")
    assert (worked.status, worked.cancel_reason, worked.outcome_kind) == ("done", "", "reached")


# Consent ---------------------------------------------------------------------------------------

def test_calls_refused_on_the_consent_card_cancel_the_customers_open_calls(
        planned, manager_client, caller):
    xu, yang, cars = planned
    today, ahead = _open(cars["today"]).get(), _open(cars["ahead"]).get()
    assert today.pk in _worklist(caller)

    with time_machine.travel(at(MON, 10), tick=False):
        response = manager_client.post(reverse("customers:consent", args=[xu.pk]), {
            "sms_allowed": "on", "reason": "上班时间不接电话", "method": "phone"})
    assert response.status_code == 302

    for task in (today, ahead):
        task.refresh_from_db()
        assert (task.status, task.cancel_reason) == ("cancelled", "no_call_consent")
        assert task.closed_at == at(MON, 10)
    _assert_worked_call_kept(cars)
    assert _message(cars["ahead"]).status == Message.Status.READY  # SMS still accepted
    _assert_others_untouched(cars)
    assert today.pk not in _worklist(caller)
    assert ahead.pk not in _worklist(caller, TUE)
    assert _open(cars["other_today"]).get().pk in _worklist(caller)
    with time_machine.travel(at(MON, 10), tick=False):
        page = manager_client.get(reverse("followups:task", args=[today.pk])).text
    assert "客户不再接受电话" in page
    # The next nights plan no new call for the customer, and Yang's go on.
    plan(TUE)
    assert not Task.objects.filter(customer=xu, channel="call").open().exists()
    assert Task.objects.filter(customer=yang, channel="call").open().exists()


def test_the_worklist_page_drops_the_refused_call_with_the_same_queries(
        planned, client, caller, cr_manager, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    xu, _yang, cars = planned
    today = _open(cars["today"]).get()
    client.force_login(caller)
    with CaptureQueriesContext(connection) as before, \
            time_machine.travel(at(MON, 10), tick=False):
        page = client.get(reverse("followups:worklist")).text
    assert f'id="task-{today.pk}"' in page
    customer_services.customer_set_consent(customer=xu, sms_allowed=True, call_allowed=False,
                                           reason="不接电话", actor=cr_manager)
    with django_assert_num_queries(len(before)), time_machine.travel(at(MON, 10), tick=False):
        page = client.get(reverse("followups:worklist")).text
    assert f'id="task-{today.pk}"' not in page
    assert f'id="task-{_open(cars["other_today"]).get().pk}"' in page


def test_sms_refused_expires_the_customers_messages_not_yet_sent(planned, cr_manager, caller):
    xu, _yang, cars = planned
    waiting = Message.objects.filter(pk=_message(cars["ahead"]).pk)
    extra = _car(xu, 15)  # a second SMS for Xu, sent already
    plan(MON)
    Message.objects.filter(pk=_message(extra).pk).update(status=Message.Status.SENT,
                                                         sent_at=at(MON, 9))

    with time_machine.travel(at(MON, 10), tick=False):
        customer_services.customer_set_consent(customer=xu, sms_allowed=False, call_allowed=True,
                                               reason="不要短信", actor=cr_manager)

    waiting = waiting.get()
    assert (waiting.status, waiting.last_error, waiting.failed_at) == (
        Message.Status.EXPIRED, "客户已拒绝接收短信，未发送", at(MON, 10))
    assert _message(extra).status == Message.Status.SENT
    assert _open(cars["today"]).count() == 1 and _open(cars["ahead"]).count() == 1  # calls go on
    _assert_untouched(cars, "today", "ahead")
    _assert_worked_call_kept(cars)
    _assert_others_untouched(cars)
    messages_send_due(now=at(MON, 10))
    assert [m.recipient for m in LocmemBackend.outbox] == ["13911110002"]


def test_consent_given_again_changes_nothing_already_cancelled(planned, cr_manager):
    xu, _yang, cars = planned
    customer_services.customer_set_consent(customer=xu, sms_allowed=True, call_allowed=False,
                                           reason="不接电话", actor=cr_manager)
    customer_services.customer_set_consent(customer=xu, sms_allowed=True, call_allowed=True,
                                           actor=cr_manager)
    assert not Task.objects.filter(customer=xu).open().exists()
    assert _message(cars["ahead"]).status == Message.Status.READY


def test_consent_withdrawn_by_a_correction_or_the_api_cancels_the_calls_too(
        planned, store, make_user):
    from crm_site.roles import Role

    xu, yang, cars = planned
    client = APIClient()
    client.force_authenticate(make_user(Role.CR_MANAGER, store))
    response = client.patch(f"/api/v1/customers/{xu.pk}/", {
        "call_allowed": False, "contact_refusal_reason": "投诉后不愿接电话"}, format="json")
    assert response.status_code == 200, response.json()
    assert not Task.objects.filter(customer=xu, channel="call").open().exists()
    task = client.get(f"/api/v1/followup-tasks/{Task.objects.get(vehicle=cars['today']).pk}/")
    assert (task.json()["status"], task.json()["cancel_reason"]) == ("cancelled",
                                                                     "no_call_consent")
    _assert_others_untouched(cars)


# Erasure -----------------------------------------------------------------------------------------

def test_erasing_the_customer_cancels_the_calls_left_to_make(planned, cr_manager, caller):
    xu, _yang, cars = planned
    today, ahead = _open(cars["today"]).get(), _open(cars["ahead"]).get()
    with time_machine.travel(at(MON, 10), tick=False):
        erasure = customer_services.customer_erase(customer=xu, actor=cr_manager,
                                                   reason="客户书面申请")
    for task in (today, ahead):
        task.refresh_from_db()
        assert (task.status, task.cancel_reason) == ("cancelled", "erased")
    assert erasure.scrubbed["tasks_cancelled"] == 2
    assert _message(cars["ahead"]).status == Message.Status.EXPIRED
    _assert_worked_call_kept(cars)
    _assert_others_untouched(cars)
    assert today.pk not in _worklist(caller) and ahead.pk not in _worklist(caller, TUE)


# The car leaves --------------------------------------------------------------------------------

def test_a_car_retired_cancels_its_open_tasks_and_unsent_sms(planned, caller):
    _xu, _yang, cars = planned
    ahead = _open(cars["ahead"]).get()
    with time_machine.travel(at(MON, 10), tick=False):
        customer_services.vehicle_retire(vehicle=cars["ahead"])
    ahead.refresh_from_db()
    assert (ahead.status, ahead.cancel_reason) == ("cancelled", "vehicle_retired")
    message = _message(cars["ahead"])
    assert (message.status, message.last_error) == (Message.Status.EXPIRED,
                                                    "车辆已停用（转卖或报废），未发送")
    _assert_untouched(cars, "today")  # the customer's other car
    assert _open(cars["today"]).get().pk in _worklist(caller)
    _assert_worked_call_kept(cars)
    _assert_others_untouched(cars)
    assert ahead.pk not in _worklist(caller, TUE)


def test_a_car_sold_on_to_another_customer_cancels_the_old_owners_work(planned, store, caller):
    xu, _yang, cars = planned
    today = _open(cars["today"]).get()
    buyer = CustomerFactory(store=store, name="新车主")
    with time_machine.travel(at(MON, 10), tick=False):
        customer_services.vehicle_transfer(vehicle=cars["today"], customer=buyer)
    today.refresh_from_db()
    assert (today.status, today.cancel_reason, today.customer_id) == (
        "cancelled", "owner_changed", xu.pk)
    assert today.pk not in _worklist(caller)
    _assert_untouched(cars, "ahead")
    _assert_worked_call_kept(cars)
    _assert_others_untouched(cars)
    # The car's later steps are planned for its new owner.
    plan(MON + timedelta(days=4))
    assert Task.objects.filter(vehicle=cars["today"], customer=buyer, offset_days=-3).exists()


# Merging duplicates --------------------------------------------------------------------------------

BIRTHDAY = date(1988, MON.month, MON.day)


@pytest.fixture
def duplicates(store, caller):
    """The same person on two records, each planned on Monday: a birthday greeting each
    (the same cycle), and a call about the duplicate's car."""
    FollowupSettings.objects.filter(pk=1).update(catch_up_days=0)
    kept = CustomerFactory(store=store, name="周明", mobile="13922220001", birth_date=BIRTHDAY)
    merged = CustomerFactory(store=store, name="周明", mobile="13922220002", birth_date=BIRTHDAY)
    car = _car(merged, 7)
    plan(MON)
    greetings = Task.objects.filter(programme_code="birthday")
    assert set(greetings.values_list("customer", flat=True)) == {kept.pk, merged.pk}
    return kept, merged, car


def test_a_merge_moves_the_duplicates_calls_and_keeps_one_greeting(duplicates, cr_manager,
                                                                   caller):
    kept, merged, car = duplicates
    call = _open(car).get()
    greeting = Task.objects.get(programme_code="birthday", customer=merged)
    tasks_before = Task.objects.count()
    with time_machine.travel(at(MON, 10), tick=False):
        merge = customer_services.customer_merge(kept=kept, merged=merged, actor=cr_manager)

    call.refresh_from_db()
    assert (call.customer_id, call.status, call.cancel_reason) == (kept.pk, "planned", "")
    assert call.pk in _worklist(caller)
    greeting.refresh_from_db()  # the duplicate's greeting stays behind, never sent twice
    assert greeting.customer_id == merged.pk
    message = Message.objects.get(object_id=greeting.pk)
    assert (message.status, message.last_error) == (Message.Status.EXPIRED,
                                                    "与合并后保留客户的短信重复，未发送")
    kept_greeting = Task.objects.get(programme_code="birthday", customer=kept)
    assert Message.objects.get(object_id=kept_greeting.pk).status == Message.Status.READY
    assert Task.objects.count() == tasks_before  # nothing lost, nothing doubled
    assert merge.moved["followups.task.customer"] == [call.pk]
    messages_send_due(now=at(MON, 10))
    assert [m.recipient for m in LocmemBackend.outbox] == ["13922220001"]

    customer_services.customer_merge_undo(merge=merge, actor=cr_manager)
    call.refresh_from_db()
    assert (call.customer_id, call.status) == (merged.pk, "planned")


def test_a_merge_into_a_record_that_refuses_calls_cancels_the_moved_calls(duplicates, cr_manager,
                                                                          caller):
    kept, merged, car = duplicates
    customer_services.customer_set_consent(customer=kept, sms_allowed=True, call_allowed=False,
                                           reason="不接电话", actor=cr_manager)
    call = _open(car).get()
    customer_services.customer_merge(kept=kept, merged=merged, actor=cr_manager)
    call.refresh_from_db()
    assert (call.customer_id, call.status, call.cancel_reason) == (
        kept.pk, "cancelled", "no_call_consent")
    assert call.pk not in _worklist(caller)


def test_erasing_the_kept_record_erases_the_duplicate_merged_into_it(duplicates, cr_manager):
    from .test_erasure import _rows_holding

    kept, merged, _car = duplicates
    customer_services.customer_merge(kept=kept, merged=merged, actor=cr_manager)
    customer_services.customer_erase(customer=kept, actor=cr_manager, reason="客户申请")
    merged.refresh_from_db()
    assert merged.erased_at is not None and merged.name == customer_services.erased_name(merged)
    assert _rows_holding("周明", "13922220001", "13922220002") == {}
    greeting = Task.objects.get(programme_code="birthday", customer=merged)
    assert Message.objects.get(object_id=greeting.pk).recipient == ""


def test_followups_registers_its_change_hooks_once():
    from django.apps import apps

    from customers import hooks as customer_hooks
    from followups import hooks

    apps.get_app_config("followups").ready()
    assert customer_hooks.consent_changed.functions().count(hooks.consent_changed) == 1
    assert customer_hooks.ownership_ended.functions().count(hooks.ownership_ended) == 1
    assert customer_hooks.customer_merged.functions().count(hooks.customer_merged) == 1


def test_a_td_reply_to_the_provider_stops_the_customers_messages_at_once(planned, client, settings):
    """The customer answers 退订 to a reminder; the provider pushes the reply to the
    callback (Alibaba Cloud's format): consent withdrawn, the waiting SMS expires."""
    from tests.crm_site.sms_fakes import TOKEN

    xu, _yang, cars = planned
    settings.SMS_CALLBACK_TOKEN = TOKEN
    waiting = _message(cars["ahead"])
    response = client.post(
        reverse("sms-callback", args=["aliyun", "replies", TOKEN]),
        [{"phone_number": xu.mobile, "send_time": "2026-11-23 10:00:00", "content": "退订",
          "sign_name": "A店", "dest_code": "", "sequence_id": 1}],
        content_type="application/json")
    assert response.status_code == 200
    xu.refresh_from_db()
    waiting.refresh_from_db()
    assert not xu.sms_allowed and xu.consent_changes.get().method == "sms_reply"
    assert (waiting.status, waiting.last_error) == (Message.Status.EXPIRED,
                                                    "客户已拒绝接收短信，未发送")
    assert _open(cars["today"]).count() == 1  # calls go on
    _assert_others_untouched(cars)
    messages_send_due(now=at(MON, 10))
    assert xu.mobile not in [m.recipient for m in LocmemBackend.outbox]
