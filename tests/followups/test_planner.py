"""The nightly planner: set-based, idempotent, catching up, skipping closed cycles."""

import io
import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from crm_site.models import CalendarOverride, Message
from crm_site.roles import Role
from customers.services import service_visit_record
from followups import services
from followups.models import Appointment, FollowupSettings, Outcome, Task

from .factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
MON = date(2026, 11, 23)


def at(day, hour=1):
    return datetime(day.year, day.month, day.day, hour, tzinfo=SH)


def plan(day, hour=1):
    with time_machine.travel(at(day, hour), tick=False):
        return services.reminders_plan(day=day)


def tasks(**filters):
    return Task.objects.filter(**filters)


@pytest.fixture
def first_service_car(store):
    return VehicleFactory(store=store, first_service_due_on=MON + timedelta(days=15))


@pytest.mark.django_db
def test_sms_step_queues_one_message_in_the_send_window(store, first_service_car, caller):
    plan(MON)
    task = Task.objects.get(vehicle=first_service_car, channel="sms")
    assert (task.programme_code, task.channel, task.status) == ("first_service", "sms", "done")
    # Tomorrow's N-14 call is written ahead and waits for its day.
    assert Task.objects.get(vehicle=first_service_car, channel="call").planned_on == MON + timedelta(days=1)
    message = Message.objects.get()
    assert message.object_id == task.pk and message.recipient == first_service_car.customer.mobile
    assert message.template_code == "SMS_FIRST_SERVICE"
    assert first_service_car.plate in message.text and "{" not in message.text
    assert message.params["plate"] == first_service_car.plate
    assert message.not_before == at(MON, 9) and message.expires_at == at(MON, 20)
    assert message.sign_name == "A店"


@pytest.mark.django_db
def test_call_step_is_planned_and_assigned(store, caller):
    car = VehicleFactory(store=store, first_service_due_on=MON + timedelta(days=14))
    plan(MON)
    task = Task.objects.get(vehicle=car, channel="call")
    assert (task.channel, task.status, task.planned_on, task.assignee) == ("call", "planned", MON, caller)
    assert task.offset_days == -14 and task.due_on == MON + timedelta(days=14)


@pytest.mark.django_db
def test_owner_gets_the_call(store, caller, make_user):
    owner = make_user(Role.CR_SPECIALIST, store)
    customer = CustomerFactory(store=store, owner=owner)
    VehicleFactory(store=store, customer=customer, first_service_due_on=MON + timedelta(days=14))
    plan(MON)
    assert Task.objects.get(channel="call").assignee == owner


@pytest.mark.django_db
def test_unowned_calls_are_balanced_across_callers(store, caller, specialist, make_user):
    make_user(Role.SALES_MANAGER, store)  # not a caller
    for _n in range(9):
        VehicleFactory(store=store, next_service_due_on=MON + timedelta(days=7))
    plan(MON)
    loads = sorted(tasks(channel="call").values_list("assignee__username", flat=True))
    # Each car has its N-7 call today and its N-14 call caught up: 18 calls.
    assert len(loads) == 18 and loads.count("caller") == loads.count("specialist") == 9


@pytest.mark.django_db
def test_planning_twice_creates_each_row_once(store, first_service_car, caller):
    VehicleFactory(store=store, insurance_expires_on=MON + timedelta(days=60))
    plan(MON)
    first = set(Task.objects.values_list("pk", flat=True))
    plan(MON)
    call_command("plan_reminders", "--date", MON.isoformat(), stdout=io.StringIO())
    assert set(Task.objects.values_list("pk", flat=True)) == first
    assert Message.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_planners_at_once_create_each_row_once(store, caller):
    for n in range(30):
        VehicleFactory(store=store, first_service_due_on=MON + timedelta(days=15 if n % 2 else 14))
    errors = []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            plan(MON)
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    # 15 SMS today and their calls of tomorrow, written ahead; 15 calls today and their
    # SMS of yesterday, caught up as expired.
    assert Task.objects.count() == 60
    assert Task.objects.filter(status="expired").count() == 15
    assert Message.objects.count() == 15
    assert not tasks(channel="call", assignee__isnull=True).exists()


@pytest.mark.django_db
def test_three_missed_nights_are_caught_up_and_stale_sms_expire(store, caller):
    fri = MON - timedelta(days=3)
    # Steps that fell on Friday, Saturday, Sunday and Monday.
    cars = {day: VehicleFactory(store=store, first_service_due_on=day + timedelta(days=14))
            for day in (fri, fri + timedelta(days=1), fri + timedelta(days=2), MON)}
    sms_cars = {day: VehicleFactory(store=store, first_service_due_on=day + timedelta(days=15))
                for day in (fri, MON)}
    plan(MON)  # the planner last ran on Thursday
    for day, car in cars.items():
        task = Task.objects.get(vehicle=car, channel="call")
        assert task.status == "planned"
        assert task.planned_on == (fri if day < MON else MON)  # weekend calls belong to Friday
    stale = Task.objects.get(vehicle=sms_cars[fri], channel="sms")
    assert stale.status == "expired"
    assert not Message.objects.filter(object_id=stale.pk).exists()
    fresh = Task.objects.get(vehicle=sms_cars[MON], channel="sms")
    assert fresh.status == "done" and Message.objects.filter(object_id=fresh.pk).exists()


@pytest.mark.django_db
def test_catch_up_stops_at_the_setting(store, caller):
    FollowupSettings.objects.filter(pk=1).update(catch_up_days=2)
    old = VehicleFactory(store=store, first_service_due_on=MON - timedelta(days=3) + timedelta(days=14))
    inside = VehicleFactory(store=store, first_service_due_on=MON - timedelta(days=2) + timedelta(days=14))
    plan(MON)
    assert not tasks(vehicle=old).exists()
    assert tasks(vehicle=inside).exists()


@pytest.mark.django_db
def test_message_not_sent_after_its_window(store, first_service_car, caller):
    plan(MON)
    message = Message.objects.get()
    from crm_site.services import messages_send_due

    messages_send_due(now=at(MON, 21))
    message.refresh_from_db()
    assert message.status == Message.Status.EXPIRED


@pytest.mark.django_db
def test_call_on_a_holiday_moves_to_the_previous_working_day(store, caller):
    # 1 January 2027 is a Friday; the library does not know 2027 yet: an override.
    CalendarOverride.objects.create(date=date(2027, 1, 1), is_working=False, name="元旦")
    thu = date(2026, 12, 31)
    car = VehicleFactory(store=store, next_service_due_on=date(2027, 1, 1) + timedelta(days=14))
    plan(thu)
    task = Task.objects.get(vehicle=car, channel="call")
    assert task.planned_on == thu


@pytest.mark.django_db
def test_national_day_calls_are_made_on_30_september(store, caller):
    cars = [VehicleFactory(store=store, next_service_due_on=date(2026, 10, d) + timedelta(days=7))
            for d in range(1, 8)]
    plan(date(2026, 9, 30))
    assert set(tasks(vehicle__in=cars, offset_days=-7).values_list("planned_on", flat=True)) == {
        date(2026, 9, 30)}


@pytest.mark.django_db
def test_opted_out_customer_gets_no_sms_but_a_call(store, caller):
    customer = CustomerFactory(store=store, sms_allowed=False)
    VehicleFactory(store=store, customer=customer, first_service_due_on=MON + timedelta(days=15))
    VehicleFactory(store=store, customer=customer, first_service_due_on=MON + timedelta(days=14))
    no_calls = CustomerFactory(store=store, call_allowed=False)
    VehicleFactory(store=store, customer=no_calls, first_service_due_on=MON + timedelta(days=14))
    plan(MON)
    assert not Message.objects.exists()
    assert set(tasks(customer=customer).values_list("channel", flat=True)) == {"call"}
    assert not tasks(customer=no_calls, channel="call").exists()


@pytest.mark.django_db
def test_sold_car_and_merged_customer_are_skipped(store, caller):
    VehicleFactory(store=store, is_active=False, first_service_due_on=MON + timedelta(days=14))
    kept = CustomerFactory(store=store)
    merged = CustomerFactory(store=store, is_active=False, merged_into=kept)
    VehicleFactory(store=store, customer=merged, first_service_due_on=MON + timedelta(days=14))
    plan(MON)
    assert not Task.objects.exists()


def _book(task, user, day):
    return services.task_record_outcome(task=task, actor=user, outcome=Outcome.objects.get(code="booked"),
                                        appointment_on=day, now=at(task.planned_on, 10))


@pytest.mark.django_db
def test_booked_on_n_minus_14_gets_no_later_calls(store, caller):
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, first_service_due_on=n)
    plan(MON)
    task = Task.objects.get(vehicle=car, channel="call")
    _book(task, caller, n)
    assert Appointment.objects.get().booked_for == n
    for day in range(1, 15):
        plan(MON + timedelta(days=day))
    assert sorted(tasks(vehicle=car).values_list("offset_days", flat=True)) == [-15, -14]


@pytest.mark.django_db
def test_visit_on_n_minus_5_closes_the_cycle(store, caller):
    n = MON + timedelta(days=14)
    car = VehicleFactory(store=store, next_service_due_on=n)
    for day in range(0, 9):  # up to N-6
        plan(MON + timedelta(days=day))
    assert set(tasks(vehicle=car).values_list("offset_days", flat=True)) == {-15, -14, -7}
    open_n7 = Task.objects.get(vehicle=car, offset_days=-7)
    open_n7.refresh_from_db()
    # The car comes in on N-5 (its next due date moves on); the nightly run closes the cycle.
    ServiceVisitFactory(vehicle=car, date_in=n - timedelta(days=5))
    car.last_visit_on = n - timedelta(days=5)
    car.save()
    for day in range(9, 20):
        plan(MON + timedelta(days=day))
    assert not tasks(vehicle=car, offset_days=-3).exists()
    assert Task.objects.get(vehicle=car, offset_days=-7).status in ("cancelled", "done", "planned")


@pytest.mark.django_db
def test_visit_recorded_cancels_open_calls_at_once(store, caller, django_capture_on_commit_callbacks):
    n = MON + timedelta(days=7)
    car = VehicleFactory(store=store, next_service_due_on=n)
    plan(MON)
    task = Task.objects.get(vehicle=car, offset_days=-7)
    assert task.offset_days == -7 and task.status == "planned"
    with django_capture_on_commit_callbacks(execute=True):
        service_visit_record(vehicle=car, repair_type="periodic_service", date_in=MON)
    task.refresh_from_db()
    assert (task.status, task.cancel_reason) == ("cancelled", "came_in")


@pytest.mark.django_db
def test_follow_up_calls_are_balanced_even_for_owned_customers(store, caller, make_user):
    owner = make_user(Role.CR_SPECIALIST, store)
    customer = CustomerFactory(store=store, owner=owner)
    for _n in range(4):
        VehicleFactory(store=store, customer=customer, delivered_on=MON - timedelta(days=1))
    plan(MON)
    loads = list(tasks(programme_code="post_delivery_followup").values_list("assignee", flat=True))
    assert sorted(loads) == sorted([caller.pk, caller.pk, owner.pk, owner.pk])


@pytest.mark.django_db
def test_birthday_greeting_and_29_february(store):
    born = CustomerFactory(store=store, birth_date=date(1990, MON.month, MON.day))
    leap = CustomerFactory(store=store, birth_date=date(1992, 2, 29))
    quiet = CustomerFactory(store=store, birth_date=date(1990, MON.month, MON.day), sms_allowed=False)
    plan(MON)
    assert list(tasks(programme_code="birthday").values_list("customer", flat=True)) == [born.pk]
    assert Message.objects.get().template_code == "SMS_BIRTHDAY"
    plan(date(2027, 2, 28))
    assert tasks(programme_code="birthday", customer=leap, due_on=date(2027, 2, 28)).exists()
    assert not tasks(customer=quiet).exists()


@pytest.mark.django_db
def test_post_service_follow_up_from_the_visit_out_date(store, caller):
    visit = ServiceVisitFactory(vehicle=VehicleFactory(store=store), date_in=MON - timedelta(days=3),
                                date_out=MON - timedelta(days=1))
    plan(MON)
    task = Task.objects.get(programme_code="post_service_followup")
    assert (task.vehicle_id, task.due_on, task.planned_on) == (visit.vehicle_id, visit.date_out, MON)


@pytest.mark.django_db
def test_weekend_calls_are_written_ahead_and_shown_on_friday(store, caller):
    from followups.selectors import worklist

    thursday, friday = date(2026, 11, 26), date(2026, 11, 27)
    saturday_car = VehicleFactory(store=store, first_service_due_on=date(2026, 11, 28) + timedelta(days=14))
    sunday_car = VehicleFactory(store=store, first_service_due_on=date(2026, 11, 29) + timedelta(days=14))
    plan(thursday)
    # Thursday's night writes Saturday's call (made on Friday), not yet Sunday's.
    saturday_call = Task.objects.get(vehicle=saturday_car, channel="call")
    assert saturday_call.planned_on == friday
    assert not tasks(vehicle=sunday_car, channel="call").exists()
    assert saturday_call not in worklist(caller, thursday)
    plan(friday)
    assert tasks(vehicle=sunday_car, channel="call").get().planned_on == friday
    assert {t.vehicle_id for t in worklist(caller, friday)} == {saturday_car.pk, sunday_car.pk}


@pytest.mark.django_db
def test_no_lookahead_writes_the_weekend_on_friday(store, caller):
    FollowupSettings.objects.update_or_create(pk=1, defaults={"call_lookahead_days": 0})
    car = VehicleFactory(store=store, first_service_due_on=date(2026, 11, 28) + timedelta(days=14))
    plan(date(2026, 11, 26))
    assert not tasks(vehicle=car, channel="call").exists()
    plan(date(2026, 11, 27))
    assert tasks(vehicle=car, channel="call").get().planned_on == date(2026, 11, 27)
