"""Reads of the site-wide floor shared by pages, API and jobs."""

from .models import CalendarOverride, OpeningHours
from .rules import StoreCalendar


def store_calendar(store, *, start=None, end=None):
    """The store's calendar as a pure StoreCalendar (two queries)."""
    hours = {
        row.weekday: (row.opens, row.closes)
        for row in OpeningHours.objects.filter(store=store)
    }
    overrides = CalendarOverride.objects.all()
    if start:
        overrides = overrides.filter(date__gte=start)
    if end:
        overrides = overrides.filter(date__lte=end)
    return StoreCalendar(hours=hours, overrides=dict(overrides.values_list("date", "is_working")))
