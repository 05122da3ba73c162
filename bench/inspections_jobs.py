"""Benchmark of the two inspection jobs on many rows.

Fills a PostgreSQL database (DATABASE_URL; it is migrated first and its inspection
tables are emptied) with --stores stores, each with its checklists, and --open open
rectifications whose deadlines lie in the future, then measures:

- the round scheduler for every store (first run, which creates the day's rounds, and a
  second run, which creates nothing),
- the minute deadline sweep when nothing is due (the usual minute),
- the sweep when --due rectifications fall due at once (each is marked overdue and its
  person and the store's CR managers are told once).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_inspections_bench \\
        .venv/bin/python bench/inspections_jobs.py --stores 50 --open 100000 --due 500
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings.base")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from crm_site.models import DealerGroup, Notification, Store, User  # noqa: E402
from crm_site.roles import Role  # noqa: E402
from crm_site.services import store_create  # noqa: E402
from inspections import services  # noqa: E402
from inspections.models import (  # noqa: E402
    Area,
    ChecklistTemplate,
    Inspection,
    InspectionResult,
    Photo,
    Rectification,
    RoundRule,
)

MONDAY_0705 = datetime(2026, 11, 22, 23, 5, tzinfo=UTC)  # Monday 07:05 in Shanghai
MONDAY_1000 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def timed(label, func, repeat=1):
    runs, result, queries = [], None, 0
    for _n in range(repeat):
        reset_queries()  # the query log is capped; start each measure empty
        with CaptureQueriesContext(connection) as context:
            start = time.perf_counter()
            result = func()
            runs.append((time.perf_counter() - start) * 1000)
        queries = len(context.captured_queries)
    print(f"{label:<48} {statistics.median(runs):9.1f} ms  {queries:6d} queries  -> {result}")
    return result


def empty():
    for model in (Notification, Photo, Rectification, InspectionResult, Inspection):
        model.objects.all().delete()
    Notification.objects.all().delete()


def setup_stores(count):
    group, _ = DealerGroup.objects.get_or_create(name="bench")
    stores = list(Store.objects.filter(code__startswith="bench-").order_by("code"))
    for n in range(len(stores), count):
        stores.append(store_create(group=group, code=f"bench-{n:04d}", name=f"门店{n}"))
    stores = stores[:count]
    manager_group = Group.objects.get(name=Role.CR_MANAGER)
    inspector_group = Group.objects.get(name=Role.CR_SPECIALIST)
    people = {}
    for store in stores:
        services.checklists_ensure_for_store(store=store)
        manager, _ = User.objects.get_or_create(username=f"{store.code}-crm")
        manager.groups.add(manager_group)
        manager.stores.add(store)
        inspector, _ = User.objects.get_or_create(username=f"{store.code}-spec")
        inspector.groups.add(inspector_group)
        inspector.stores.add(store)
        people[store.pk] = inspector
    return stores, people


def fill_open(stores, people, total, due):
    """`total` open rectifications spread over the stores, `due` of them already past
    their deadline at MONDAY_1000 (bulk rows, as the services would leave them)."""
    per_round = 5
    rounds_needed = -(-total // per_round)
    templates = {t.store_id: t for t in ChecklistTemplate.objects.filter(
        store__in=stores, area=Area.DISPLAY_CARS).prefetch_related("items")}
    inspections = []
    for n in range(rounds_needed):
        store = stores[n % len(stores)]
        template = templates[store.pk]
        inspections.append(Inspection(
            store=store, template=template, area=Area.DISPLAY_CARS, day=MONDAY_1000.date(),
            scheduled_for=MONDAY_1000 - timedelta(hours=1), status=Inspection.Status.COMPLETED,
            inspector=people[store.pk], completed_at=MONDAY_1000 - timedelta(hours=1)))
    Inspection.objects.bulk_create(inspections, batch_size=5000)
    results = []
    for inspection in inspections:
        for item in list(templates[inspection.store_id].items.all())[:per_round]:
            results.append(InspectionResult(inspection=inspection, item=item, position=item.position,
                                            text=item.text, weight=item.weight, severity=item.severity,
                                            photo_required=item.photo_required, outcome="fail",
                                            responsible=people[inspection.store_id]))
    InspectionResult.objects.bulk_create(results, batch_size=5000)
    rows = []
    for index, result in enumerate(results[:total]):
        notified = MONDAY_1000 - timedelta(minutes=30)
        deadline = MONDAY_1000 - timedelta(minutes=1) if index < due else MONDAY_1000 + timedelta(hours=4)
        rows.append(Rectification(store_id=result.inspection.store_id, result=result,
                                  inspection=result.inspection, area=Area.DISPLAY_CARS,
                                  severity=result.severity, responsible=result.responsible,
                                  notified_at=notified, due_at=deadline))
    Rectification.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inspections_rectification")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=500)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    empty()
    stores, people = setup_stores(args.stores)
    rules = RoundRule.objects.filter(template__store__in=stores, is_active=True).count()
    print(f"{len(stores)} stores, {rules} round rules, {args.open} open rectifications, {args.due} due")

    timed("rounds_schedule, first run", lambda: services.rounds_schedule(now=MONDAY_0705, stores=stores))
    timed("rounds_schedule, second run (creates nothing)",
          lambda: services.rounds_schedule(now=MONDAY_0705, stores=stores), repeat=3)

    start = time.perf_counter()
    fill_open(stores, people, args.open, args.due)
    print(f"(filled in {time.perf_counter() - start:.1f} s)")
    quiet = MONDAY_1000 - timedelta(minutes=5)
    timed("sweep, nothing due", lambda: services.rectifications_mark_overdue(now=quiet), repeat=5)
    timed(f"sweep, {args.due} due at once", lambda: services.rectifications_mark_overdue(now=MONDAY_1000))
    timed("sweep, same minute again (nothing new)",
          lambda: services.rectifications_mark_overdue(now=MONDAY_1000), repeat=5)
    print(f"notifications: {Notification.objects.count()} "
          f"(expected {2 * args.due}: the person and the store's CR manager, once each)")


if __name__ == "__main__":
    main()
