"""The business calendar: statutory holidays, make-up workdays, hours, overrides."""

from datetime import date, datetime, time

import pytest

from crm_site.models import Activity, CalendarOverride
from crm_site.rules import StoreCalendar, retry_delay, send_window_start
from crm_site.selectors import store_calendar

WEEKDAYS = {d: (time(8, 30), time(17, 30)) for d in range(5)}
cal = StoreCalendar(hours=WEEKDAYS)


def test_make_up_saturday_is_a_workday():
    assert date(2026, 2, 28).weekday() == 5
    assert cal.is_working_day(date(2026, 2, 28))


def test_spring_festival_weekday_is_not_a_workday():
    assert date(2026, 2, 17).weekday() == 1
    assert not cal.is_working_day(date(2026, 2, 17))


def test_ordinary_saturday_is_closed_and_monday_open():
    assert not cal.is_working_day(date(2026, 11, 21))
    assert cal.is_working_day(date(2026, 11, 23))


def test_next_and_previous_working_day_skip_the_national_day_week():
    assert cal.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)
    assert cal.previous_working_day(date(2026, 10, 8)) == date(2026, 9, 30)
    assert cal.next_working_day(date(2026, 11, 23), include_today=True) == date(2026, 11, 23)


def test_override_wins_for_a_year_the_library_does_not_know():
    assert cal.is_working_day(date(2027, 1, 1))  # a Friday, library knows nothing of 2027
    with_override = StoreCalendar(hours=WEEKDAYS, overrides={date(2027, 1, 1): False})
    assert not with_override.is_working_day(date(2027, 1, 1))


def test_working_time_edges():
    monday = date(2026, 11, 23)
    assert not cal.is_working_time(datetime.combine(monday, time(8, 29, 59)))
    assert cal.is_working_time(datetime.combine(monday, time(8, 30)))
    assert cal.is_working_time(datetime.combine(monday, time(17, 29, 59)))
    assert not cal.is_working_time(datetime.combine(monday, time(17, 30)))
    assert not cal.is_working_time(datetime(2026, 11, 22, 10, 0))  # Sunday


def test_make_up_saturday_keeps_weekday_hours():
    assert cal.is_working_time(datetime(2026, 2, 28, 10, 0))


def test_send_window():
    start, end = time(9), time(20)
    assert send_window_start(datetime(2026, 11, 23, 8, 59), start, end) == datetime(2026, 11, 23, 9)
    assert send_window_start(datetime(2026, 11, 23, 12, 5), start, end) == datetime(2026, 11, 23, 12, 5)
    assert send_window_start(datetime(2026, 11, 23, 20, 0), start, end) == datetime(2026, 11, 24, 9)


def test_retry_backoff_doubles_and_caps():
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(20).total_seconds() == 3600


@pytest.mark.django_db
def test_store_calendar_reads_hours_and_overrides(store):
    CalendarOverride.objects.create(date=date(2027, 2, 8), is_working=False, name="春节")
    calendar = store_calendar(store, Activity.CALLS)
    assert not calendar.is_working_day(date(2027, 2, 8))
    assert calendar.hours[0] == (time(8, 30), time(17, 30))
    assert 5 not in calendar.hours
