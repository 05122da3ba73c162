"""Calendar years: the group admin enters a year the holiday library does not know; the
stores' clock, the planner and greetings use it; managers are warned while it is missing."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from complaints.models import SlaPolicy
from complaints.services import timekeeper_for
from crm_site import services
from crm_site.models import Activity, CalendarOverride, CalendarYear, Notification
from crm_site.roles import Role
from crm_site.selectors import store_calendar
from followups import services as followups
from followups.models import Task
from satisfaction.team.rules import festival_starts
from tests.followups.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
SPRING_WEEK = [date(2027, 2, 6) + timedelta(days=n) for n in range(7)]  # Sat 6 .. Fri 12
MAKE_UP_SATURDAY = date(2027, 2, 20)
DAYS = [(day, False, "春节") for day in SPRING_WEEK] + [(MAKE_UP_SATURDAY, True, "春节")]


@pytest.fixture
def gm(make_user, store):
    return make_user(Role.GENERAL_MANAGER, store, username="gm")


def enter_2027(actor):
    return services.calendar_year_enter(actor=actor, year=2027, days=DAYS,
                                        note="国务院办公厅通知（测试）")


@pytest.mark.django_db
def test_without_the_year_2027_holidays_are_working_days(store):
    calls = store_calendar(store, Activity.CALLS)
    assert calls.is_working_day(date(2027, 2, 10))
    assert not calls.is_working_day(MAKE_UP_SATURDAY)


@pytest.mark.django_db
def test_entered_year_closes_the_week_and_opens_the_saturday_for_the_clock(store, gm):
    enter_2027(gm)
    policy = SlaPolicy(severity="general", working_hours_only=True)
    keeper = timekeeper_for(store, policy)
    friday_5pm = datetime(2027, 2, 5, 17, 0, tzinfo=SH)
    # 30 working minutes from Friday 17:00: the office closes 17:30, the week is off,
    # Saturday 13 and Sunday 14 are ordinary weekend days; Monday 15 08:30 + 0:00.
    assert keeper.add(friday_5pm, timedelta(minutes=30)) == datetime(2027, 2, 5, 17, 30, tzinfo=SH)
    assert keeper.add(friday_5pm, timedelta(minutes=60)) == datetime(2027, 2, 15, 9, 0, tzinfo=SH)
    # The make-up Saturday counts: Friday 19 17:00 + 60 min ends on Saturday 20 at 09:00.
    assert keeper.add(datetime(2027, 2, 19, 17, 0, tzinfo=SH), timedelta(minutes=60)) == \
        datetime(2027, 2, 20, 9, 0, tzinfo=SH)
    # Days the year does not list are ordinary, whatever else it says.
    assert store_calendar(store, Activity.CALLS).is_working_day(date(2027, 5, 3))


def plan(day):
    with time_machine.travel(datetime(day.year, day.month, day.day, 1, tzinfo=SH), tick=False):
        return followups.reminders_plan(day=day)


@pytest.mark.django_db
def test_entered_year_moves_calls_off_the_week_and_onto_the_saturday(store, gm, caller):
    enter_2027(gm)
    in_holiday = VehicleFactory(store=store, next_service_due_on=date(2027, 2, 10) + timedelta(days=7))
    plan(date(2027, 2, 5))
    assert Task.objects.get(vehicle=in_holiday, offset_days=-7).planned_on == date(2027, 2, 5)
    on_saturday = VehicleFactory(store=store, next_service_due_on=MAKE_UP_SATURDAY + timedelta(days=7))
    plan(MAKE_UP_SATURDAY)
    assert Task.objects.get(vehicle=on_saturday, offset_days=-7).planned_on == MAKE_UP_SATURDAY


@pytest.mark.django_db
def test_without_the_year_the_call_stays_in_the_week(store, caller):
    car = VehicleFactory(store=store, next_service_due_on=date(2027, 2, 10) + timedelta(days=7))
    plan(date(2027, 2, 10))
    assert Task.objects.get(vehicle=car, offset_days=-7).planned_on == date(2027, 2, 10)


@pytest.mark.django_db
def test_managers_are_warned_from_1_october_while_next_year_is_missing(client, cr_manager, gm, caller):
    with time_machine.travel(datetime(2026, 9, 30, 10, tzinfo=SH)):
        client.force_login(cr_manager)
        assert "data-calendar-warning" not in client.get("/notifications/").text
    with time_machine.travel(datetime(2026, 10, 1, 10, tzinfo=SH)):
        client.force_login(cr_manager)
        page = client.get("/notifications/").text
        assert "data-calendar-warning" in page and "2027" in page
        client.force_login(caller)
        assert "data-calendar-warning" not in client.get("/notifications/").text
        enter_2027(gm)
        client.force_login(cr_manager)
        assert "data-calendar-warning" not in client.get("/notifications/").text


@pytest.mark.django_db
def test_the_daily_job_tells_the_group_admin_once_a_day(gm, cr_manager):
    from crm_site.tasks import calendar_year_check

    with time_machine.travel(datetime(2026, 9, 30, 9, tzinfo=SH)):
        assert calendar_year_check.delay().get() is False
    for day in (1, 1, 2):
        with time_machine.travel(datetime(2026, 10, day, 9, tzinfo=SH)):
            assert calendar_year_check.delay().get() is True
    assert Notification.objects.filter(user=gm).count() == 2
    assert not Notification.objects.filter(user=cr_manager).exists()
    enter_2027(gm)
    with time_machine.travel(datetime(2026, 10, 3, 9, tzinfo=SH)):
        assert calendar_year_check.delay().get() is False


@pytest.mark.django_db
def test_the_job_is_scheduled_with_beat():
    from django_celery_beat.models import PeriodicTask

    job = PeriodicTask.objects.get(name="calendar-year-check")
    assert job.task == "crm_site.tasks.calendar_year_check" and job.enabled
    assert (job.crontab.hour, job.crontab.minute) == ("8", "0")


@pytest.mark.django_db
def test_entering_again_replaces_the_year_with_history(gm):
    enter_2027(gm)
    services.calendar_year_enter(actor=gm, year=2027, days=DAYS[:3], note="更正")
    assert CalendarOverride.objects.filter(store__isnull=True).count() == 3
    assert CalendarOverride.history.filter(history_type="-").count() == 5
    assert CalendarYear.history.latest().history_change_reason == "更正"


@pytest.mark.django_db
def test_bad_input_is_refused_naming_the_field(gm, cr_manager):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(ValidationError) as error:
        services.calendar_year_enter(actor=gm, year=2027, days=[(date(2028, 1, 1), False, "x")], note="n")
    assert "days" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.calendar_year_enter(actor=gm, year=2027, days=DAYS, note=" ")
    assert "note" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        enter_2027(cr_manager)
    assert not CalendarYear.objects.exists() and not CalendarOverride.objects.exists()


@pytest.mark.django_db
def test_the_page_prefills_from_the_library_and_enters_a_year(client, gm):
    client.force_login(gm)
    assert "2026-02-17 休 春节" in client.get("/settings/calendar-years/2026/").text
    assert "2027-02-06 休" not in client.get("/settings/calendar-years/2027/").text
    response = client.post("/settings/calendar-years/2027/", {
        "days": "2027-02-06..2027-02-12 休 春节\n2027-02-20 班 春节", "note": "通知"})
    assert response.status_code == 302
    assert CalendarOverride.objects.filter(store__isnull=True).count() == 8
    bad = client.post("/settings/calendar-years/2027/", {"days": "2027-02-30 休 春节", "note": "x"})
    assert "第 1 行" in bad.text and CalendarOverride.objects.count() == 8
    assert "2027-02-11 休 春节" in client.get("/settings/calendar-years/2027/").text


@pytest.mark.django_db
def test_the_api_lists_and_enters_a_year(client, gm):
    client.force_login(gm)
    response = client.put("/api/v1/calendar-years/2027/", {
        "note": "通知", "days": [{"date": "2027-02-06", "is_working": False, "name": "春节"},
                               {"date": "2027-02-20", "is_working": True, "name": "春节"}]},
        content_type="application/json")
    assert response.status_code == 200, response.content
    listed = client.get("/api/v1/calendar-years/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows[0]["year"] == 2027 and len(rows[0]["days"]) == 2
    bad = client.put("/api/v1/calendar-years/2027/", {"note": "x", "days": [
        {"date": "2026-01-01", "is_working": False}]}, content_type="application/json")
    assert bad.status_code == 400 and "days" in bad.json()["fields"]


@pytest.mark.django_db
def test_staff_festival_greetings_honour_the_entered_year():
    national = dict.fromkeys(SPRING_WEEK, (False, "春节"))
    assert festival_starts("spring_festival", date(2027, 2, 6), national, {2027})
    assert not festival_starts("spring_festival", date(2027, 2, 7), national, {2027})
    # An entered year replaces the library: a festival day it does not list is no holiday.
    assert not festival_starts("spring_festival", date(2026, 2, 15), {}, {2026})
    assert festival_starts("spring_festival", date(2026, 2, 15))
