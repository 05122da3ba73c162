"""Inspections run every day the store opens: weekends and holidays included by default."""

from datetime import UTC, date, datetime, timedelta

import pytest

from crm_site.models import Activity, CalendarOverride
from inspections import services
from inspections.models import Area, Inspection

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("day", [date(2026, 11, 21), date(2026, 11, 22), date(2026, 6, 19),
                                 date(2026, 10, 2)], ids=["saturday", "sunday", "duanwu", "10-02"])
def test_rounds_and_display_car_checks_on_weekends_and_holidays(store, day):
    # 07:05 in Shanghai that day.
    now = datetime(day.year, day.month, day.day, 7, 5, tzinfo=UTC) - timedelta(hours=8)
    assert services.rounds_schedule(now=now, stores=[store]) == 8
    assert Inspection.objects.filter(store=store, day=day, area=Area.DISPLAY_CARS).count() == 2


def test_a_store_closed_for_inspections_that_day_gets_no_rounds(store):
    sunday = date(2026, 11, 22)
    CalendarOverride.objects.create(date=sunday, store=store, activity=Activity.INSPECTIONS,
                                    is_working=False, name="闭店装修")
    now = datetime(2026, 11, 21, 23, 5, tzinfo=UTC)
    assert services.rounds_schedule(now=now, stores=[store]) == 0
