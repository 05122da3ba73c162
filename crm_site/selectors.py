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


# What the purpose of an outbox message means, in words. Each floor that queues messages
# adds a function here in its AppConfig.ready(): it takes a set of purposes and returns
# {purpose: label} for those that are its own.
MESSAGE_PURPOSE_LABELLERS = []


def message_purpose_labels(purposes):
    """{purpose: label} for the purposes some floor knows; the others are left out."""
    purposes, labels = set(purposes), {}
    for labeller in MESSAGE_PURPOSE_LABELLERS:
        labels.update(labeller(purposes))
    return labels
