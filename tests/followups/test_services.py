"""Outcomes move the customer on: retries, refusals, bookings, satisfaction, visits."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from crm_site.roles import Role
from customers.models import Customer
from customers.services import service_visit_record
from followups import services
from followups.models import Appointment, CallAttempt, Outcome, SatisfactionAnswer, Task
from tests.validation import refused

from .factories import VehicleFactory
from .helpers import MON, at, make_calls, plan

pytestmark = pytest.mark.django_db


def record(task, user, code, day=MON, **kwargs):
    with time_machine.travel(at(day, 10), tick=False):
        return services.task_record_outcome(task=task, actor=user, outcome=Outcome.objects.get(code=code),
                                            now=at(day, 10), **kwargs)


def test_unreachable_retries_next_working_day_up_to_three_attempts(store, caller):
    [task] = make_calls(store, 1, day=MON + timedelta(days=3))  # a Thursday
    thu = MON + timedelta(days=3)
    task = record(task, caller, "no_answer", day=thu)
    assert (task.status, task.planned_on, task.attempts) == ("retry", thu + timedelta(days=1), 1)
    task = record(task, caller, "busy", day=thu + timedelta(days=1))  # Friday -> Monday
    assert (task.status, task.planned_on, task.attempts) == ("retry", thu + timedelta(days=4), 2)
    task = record(task, caller, "switched_off", day=thu + timedelta(days=4))
    assert (task.status, task.attempts, task.outcome_kind) == ("done", 3, "unreachable")
    assert CallAttempt.objects.filter(task=task).count() == 3
    with refused("task", "该任务已关闭。"):
        record(task, caller, "no_answer", day=thu + timedelta(days=4))


def test_refused_needs_a_reason_and_closes_the_cycle(store, caller):
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    plan(MON)
    task = Task.objects.get(vehicle=car, channel="call")
    with pytest.raises(ValidationError) as error:
        record(task, caller, "refused")
    assert "reason" in error.value.message_dict
    task = record(task, caller, "refused", reason="serviced_elsewhere")
    assert task.reason.code == "serviced_elsewhere"
    for day in range(1, 15):
        plan(MON + timedelta(days=day))
    assert not Task.objects.filter(vehicle=car, offset_days__in=[-7, -3]).exists()


def test_booked_needs_a_date_and_cancels_open_later_steps(store, caller):
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    plan(MON)
    call14 = Task.objects.get(vehicle=car, offset_days=-14)
    # The N-7 call exists already (planned early by hand or a long holiday).
    later = Task.objects.create(
        store=store, programme=call14.programme, programme_code="first_service",
        step=call14.programme.steps.get(code="call-7"), customer=car.customer, vehicle=car,
        due_on=n, offset_days=-7, planned_on=MON + timedelta(days=7), channel="call")
    with refused("appointment_on", "请填写预约日期。"):
        record(call14, caller, "booked")
    record(call14, caller, "booked", appointment_on=n - timedelta(days=1))
    later.refresh_from_db()
    assert (later.status, later.cancel_reason) == ("cancelled", "booked")
    appointment = Appointment.objects.get()
    assert (appointment.programme_id, appointment.due_on, appointment.task_id) == (
        call14.programme_id, n, call14.pk)


def test_appointment_credited_when_visit_within_7_days(store, caller, django_capture_on_commit_callbacks):
    [task] = make_calls(store, 1)
    booked_for = MON + timedelta(days=5)
    record(task, caller, "booked", appointment_on=booked_for)
    appointment = Appointment.objects.get()
    late, in_time = booked_for + timedelta(days=8), booked_for + timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True), \
            time_machine.travel(at(late, 10), tick=False):
        service_visit_record(vehicle=task.vehicle, repair_type="repair", date_in=late)
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    with django_capture_on_commit_callbacks(execute=True), \
            time_machine.travel(at(late, 11), tick=False):
        visit = service_visit_record(vehicle=task.vehicle, repair_type="repair", date_in=in_time)
    appointment.refresh_from_db()
    assert (appointment.status, appointment.visit_id, appointment.came_in_on) == (
        "came_in", visit.pk, visit.date_in)
    # The credit is in the appointment's history, as any edit is.
    latest = appointment.history.first()
    assert (latest.status, latest.visit_id, latest.history_type) == ("came_in", visit.pk, "~")
    assert [h.status for h in appointment.history.order_by("history_id")] == ["booked", "came_in"]


def test_follow_up_call_records_satisfaction_per_question(store, caller):
    car = VehicleFactory(store=store, delivered_on=MON - timedelta(days=1))
    plan(MON)
    task = Task.objects.get(vehicle=car, programme_code="post_delivery_followup")
    assert task.programme_code == "post_delivery_followup" and task.deadline_on == MON + timedelta(days=6)
    questions = list(task.programme.questions.all())
    with refused("answers", "不满意时请填写原因。"):  # dissatisfied without a reason
        record(task, caller, "reached", answers=[{"question": questions[0].pk, "rating": 2}])
    record(task, caller, "reached", answers=[
        {"question": questions[0].pk, "rating": 5},
        {"question": questions[1].pk, "rating": 2, "reason": "交车等待太久"},
    ])
    answers = SatisfactionAnswer.objects.order_by("question__order")
    assert [(a.rating, a.reason, a.department) for a in answers] == [
        (5, "", "sales"), (2, "交车等待太久", "sales")]
    assert answers[0].answered_on == MON and answers[0].store == store


def test_a_problem_the_complaint_floor_refuses_is_refused_with_the_call(store, caller):
    """A problem raised on a call is a complaint or nothing: when the complaint cannot be
    opened, the call is not saved either, and the error names the problem field."""
    [task] = make_calls(store, 1)
    Customer.objects.filter(pk=task.customer_id).update(is_active=False)
    with pytest.raises(ValidationError) as error:
        record(task, caller, "reached", problem="保养后异响")
    assert error.value.message_dict == {"problem": ["该客户档案已停用或已合并，请选择有效的客户。"]}
    task.refresh_from_db()
    assert task.status == Task.Status.PLANNED and task.complaint is None and task.attempts == 0


def test_caller_cannot_touch_other_store_or_colleagues_tasks(store, other_store, caller, make_user):
    [task] = make_calls(store, 1)
    stranger = make_user(Role.CALLER, other_store)
    with pytest.raises(PermissionDenied):
        record(task, stranger, "reached")
    colleague = make_user(Role.CALLER, store)
    Task.objects.filter(pk=task.pk).update(assignee=caller)
    with pytest.raises(PermissionDenied):
        record(task, colleague, "reached")
    manager = make_user(Role.CR_MANAGER, store)
    assert record(task, manager, "reached").status == "done"


def test_reassign_to_one_caller_and_balanced(store, caller, specialist, cr_manager, make_user):
    tasks = make_calls(store, 6)
    ids = [t.pk for t in tasks]
    assert services.tasks_reassign(actor=cr_manager, task_ids=ids, assignee=specialist) == 6
    assert set(Task.objects.filter(pk__in=ids).values_list("assignee", flat=True)) == {specialist.pk}
    services.tasks_reassign(actor=cr_manager, task_ids=ids)
    loads = list(Task.objects.filter(pk__in=ids).values_list("assignee", flat=True))
    assert loads.count(caller.pk) == loads.count(specialist.pk) == 3
    with pytest.raises(PermissionDenied):
        services.tasks_reassign(actor=caller, task_ids=ids)
    with refused("assignee", "接收人必须是该门店的回访员或CR专员。"):
        services.tasks_reassign(actor=cr_manager, task_ids=ids, assignee=make_user(Role.SALES_MANAGER, store))


def test_recall_campaign_draws_lapsed_cars_and_plans_its_steps(store, cr_manager, caller):
    with time_machine.travel(at(MON, 10), tick=False):
        campaign = services.campaign_create(actor=cr_manager, store=store, name="冬季服务节",
                                            date=MON + timedelta(days=40), offer="免费检测")
    lapsed = VehicleFactory(store=store, last_visit_on=MON - timedelta(days=200))
    VehicleFactory(store=store, last_visit_on=MON - timedelta(days=30))
    never = VehicleFactory(store=store, delivered_on=MON - timedelta(days=400))
    edge = VehicleFactory(store=store, last_visit_on=MON - timedelta(days=180))  # 180 days: lapsed
    VehicleFactory(store=store, last_visit_on=MON - timedelta(days=179))  # 179 days: not yet
    plan(MON)  # N-40: the list is drawn
    campaign.refresh_from_db()
    assert campaign.status == "drawn"
    assert set(campaign.members.values_list("vehicle", flat=True)) == {lapsed.pk, never.pk, edge.pk}
    plan(MON + timedelta(days=10))  # N-30: the SMS with the offer
    from crm_site.models import Message

    texts = list(Message.objects.filter(purpose="lapsed_recall:sms-30").values_list("text", flat=True))
    assert len(texts) == 3 and all("免费检测" in t for t in texts)
    plan(MON + timedelta(days=15))  # N-25: the invitation call
    assert Task.objects.filter(campaign=campaign, offset_days=-25, channel="call").count() == 3


def test_care_class_invitations_replies_capacity_and_reminders(store, cr_manager, caller):
    from crm_site.models import Message
    from followups.models import ClassInvitation

    from .factories import CustomerFactory

    starts = at(MON + timedelta(days=20), 14)
    with time_machine.travel(at(MON, 10), tick=False):
        care_class = services.care_class_create(actor=cr_manager, store=store, title="冬季用车",
                                                starts_at=starts, capacity=1)
    customers = [CustomerFactory(store=store) for _n in range(2)]
    assert services.care_class_invite(actor=cr_manager, care_class=care_class, customers=customers) == 2
    plan(MON)  # N-20: invitation calls
    calls = list(Task.objects.filter(care_class=care_class).order_by("id"))
    assert len(calls) == 2
    record(calls[0], caller, "booked")
    assert ClassInvitation.objects.get(customer=customers[0]).reply == "accepted"
    with refused("reply", "课堂名额已满。"):  # the one seat is taken
        record(calls[1], caller, "booked")
    plan(MON + timedelta(days=15))  # N-5 reminder to who accepted
    plan(MON + timedelta(days=20), hour=1)  # the day: the 2-hours-before SMS
    sms = Message.objects.filter(purpose__startswith="care_class").order_by("id")
    assert [m.recipient for m in sms] == [customers[0].mobile] * 2
    assert sms[1].not_before == at(MON + timedelta(days=20), 12) and sms[1].expires_at == starts
    assert "14:00" in sms[1].text


def test_problem_on_a_follow_up_call_opens_a_linked_complaint(store, caller):

    car = VehicleFactory(store=store, delivered_on=MON - timedelta(days=1))
    plan(MON)
    task = Task.objects.get(vehicle=car, programme_code="post_delivery_followup")
    task = record(task, caller, "reached", problem="交车时承诺的脚垫没有给")
    complaint = task.complaint
    assert complaint.customer_id == car.customer_id and complaint.channel == "followup_call"
    assert complaint.department == "sales" and complaint.description == "交车时承诺的脚垫没有给"
    assert list(complaint.followup_tasks.all()) == [task]
