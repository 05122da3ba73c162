"""Store calendars that fit a 4S store: every day by default, per activity, per store."""

from datetime import date, time

import pytest

from crm_site.models import Activity, CalendarOverride, OpeningHours
from crm_site.rules import StoreCalendar
from crm_site.selectors import store_calendar

SATURDAY, SUNDAY = date(2026, 11, 21), date(2026, 11, 22)
DRAGON_BOAT, NATIONAL_DAY_2 = date(2026, 6, 19), date(2026, 10, 2)
MAKE_UP_SATURDAY = date(2026, 2, 28)


@pytest.mark.django_db
def test_a_new_store_opens_every_day_holidays_included(store):
    calendar = store_calendar(store)
    for day in (SATURDAY, SUNDAY, DRAGON_BOAT, NATIONAL_DAY_2, date(2026, 2, 17)):
        assert calendar.is_working_day(day), day
    assert calendar.hours_on(SUNDAY) == (time(8, 30), time(18, 0))


@pytest.mark.django_db
def test_inspections_follow_the_store_and_calls_the_call_centre(store):
    inspections = store_calendar(store, Activity.INSPECTIONS)
    calls = store_calendar(store, Activity.CALLS)
    for day in (SATURDAY, SUNDAY, DRAGON_BOAT, NATIONAL_DAY_2):
        assert inspections.is_working_day(day)
        assert not calls.is_working_day(day), day
    assert calls.is_working_day(MAKE_UP_SATURDAY)
    assert calls.hours_on(date(2026, 11, 23)) == (time(8, 30), time(17, 30))


@pytest.mark.django_db
def test_inspections_may_have_hours_of_their_own(store):
    OpeningHours.objects.bulk_create(
        OpeningHours(store=store, activity=Activity.INSPECTIONS, weekday=day,
                     opens=time(9), closes=time(17), on_holidays=False) for day in range(6))
    inspections = store_calendar(store, Activity.INSPECTIONS)
    assert inspections.is_working_day(SATURDAY) and not inspections.is_working_day(SUNDAY)
    assert not inspections.is_working_day(DRAGON_BOAT)
    assert store_calendar(store).is_working_day(SUNDAY)


@pytest.mark.django_db
def test_store_closures_and_openings_sit_on_top_of_the_national_calendar(store, other_store):
    CalendarOverride.objects.create(date=SUNDAY, store=store, is_working=False, name="店庆盘点")
    CalendarOverride.objects.create(date=DRAGON_BOAT, store=store, activity=Activity.CALLS,
                                    is_working=True, name="端午值班")
    assert not store_calendar(store).is_working_day(SUNDAY)
    assert not store_calendar(store, Activity.CALLS).is_working_day(SUNDAY)
    assert store_calendar(other_store).is_working_day(SUNDAY)
    assert store_calendar(store, Activity.CALLS).is_working_day(DRAGON_BOAT)
    assert not store_calendar(other_store, Activity.CALLS).is_working_day(DRAGON_BOAT)
    # The activity's own day wins over the store-wide one.
    CalendarOverride.objects.create(date=SUNDAY, store=store, activity=Activity.INSPECTIONS,
                                    is_working=True, name="检查照常")
    assert store_calendar(store, Activity.INSPECTIONS).is_working_day(SUNDAY)


def test_a_calendar_without_hours_is_not_usable():
    assert not StoreCalendar(hours={}).is_usable
    with pytest.raises(ValueError, match="no working day"):
        StoreCalendar(hours={}).next_working_day(SUNDAY)
    assert StoreCalendar(hours={0: (time(9), time(17))}).is_usable


@pytest.mark.django_db
def test_a_store_calendar_reads_in_three_queries(store, django_assert_num_queries):
    with django_assert_num_queries(3):
        store_calendar(store, Activity.CALLS)
