from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

from followups import services
from followups.models import Task

from .factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
MON = date(2026, 11, 23)


def at(day, hour=1):
    return datetime(day.year, day.month, day.day, hour, tzinfo=SH)


def plan(day, hour=1):
    with time_machine.travel(at(day, hour), tick=False):
        return services.reminders_plan(day=day)


def make_calls(store, n, day=MON, **fields):
    """`n` open N-7 periodic-service calls planned on `day` (no catch-up rows), whose
    window runs long enough to stay open on the pages whatever today is."""
    from followups.models import Step

    Step.objects.filter(programme__code="periodic_service", code="call-7").update(
        window_end_days=400)
    cars = [VehicleFactory(store=store, next_service_due_on=day + timedelta(days=7), **fields)
            for _n in range(n)]
    from followups.models import FollowupSettings

    FollowupSettings.objects.filter(pk=1).update(catch_up_days=0)
    plan(day)
    return list(Task.objects.filter(vehicle__in=cars, channel="call").order_by("id"))
