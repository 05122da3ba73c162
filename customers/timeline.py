"""The customer page's timeline, open to the floors above.

customers never imports followups, complaints or satisfaction; instead each of them
registers a provider in its AppConfig.ready():

    from customers import timeline
    timeline.register(my_provider)

A provider is `provider(customer, user) -> list[TimelineEntry]`. It must run a fixed
number of queries whatever the customer's history (one query with select_related is the
norm), because the customer page's query count is asserted in tests.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.utils import timezone

from crm_site.hooks import Hook


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    kind: str
    title: str
    body: str = ""
    url: str = ""


_providers = Hook("timeline providers")
register = _providers.register  # register(provider); twice has no effect
unregister = _providers.unregister
providers = _providers.functions


def as_datetime(day_or_time):
    """A date becomes local midnight so dates and datetimes sort together."""
    if isinstance(day_or_time, datetime):
        return day_or_time if timezone.is_aware(day_or_time) else timezone.make_aware(day_or_time)
    if isinstance(day_or_time, date):
        return timezone.make_aware(datetime.combine(day_or_time, time()))
    raise TypeError(f"not a date: {day_or_time!r}")


def collect(customer, user, *, limit=200):
    """All entries of every provider, newest first."""
    entries = []
    for provider in _providers.functions():
        entries.extend(provider(customer, user))
    entries.sort(key=lambda entry: as_datetime(entry.when), reverse=True)
    return entries[:limit]


# Actions the floors above offer on the customer page (e.g. "log a complaint"), so the
# page links to them without customers knowing those apps.
@dataclass(frozen=True)
class CustomerAction:
    label: str
    url_name: str
    permission: str
    style: str = "outline-secondary"


_actions = []


def register_action(action):
    if action not in _actions:
        _actions.append(action)
    return action


def actions_for(customer, user):
    """[(label, url, style)] of the registered actions the user may take."""
    from django.urls import reverse

    return [(a.label, f"{reverse(a.url_name)}?customer={customer.pk}", a.style)
            for a in _actions if user.has_perm(a.permission)]
