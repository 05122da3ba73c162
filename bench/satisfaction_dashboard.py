"""Benchmark of the manager's dashboard and the dealer-group view on a year of data.

Fills a PostgreSQL database (DATABASE_URL; migrated first; its follow-up tasks, survey
answers and complaints are emptied) with a dealer group of --stores stores, each with
--customers customers, a year of follow-up and reminder tasks (--tasks per store) with
outcomes and survey answers, and a year of complaints (--complaints per store), all by
set-based SQL. Then measures, as full requests through the Django test client:

- the dashboard of one store and month, computed live (no summary yet),
- the same after the summary job (services.figures_refresh) ran,
- the group view across all stores, live and from the summary,
- the refresh job itself,

each with its query count (fixed whatever the data size).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_satisfaction_bench \\
        .venv/bin/python bench/satisfaction_dashboard.py --stores 10 --tasks 200000 \\
        --complaints 50000

The issue's target: one store and month under 300 ms, the group view under 1 second.

A run with --stores 10 --customers 20000 --tasks 1000000 --complaints 100000 (10 million
tasks, 1.1 million survey answers, 1 million complaints; PostgreSQL 15, a shared
development machine, median of 7 full requests):

    dashboard, one store and month, live            694 ms, 33 queries
    group view, 10 stores, live                     638 ms, 17 queries
    summary refresh, 6 months x 10 stores        10.6 s (the 15-minute job does 2 months)
    dashboard, one store and month, from summary    155 ms, 26 queries
    group view, 10 stores, from summary              91 ms, 13 queries

Live, the complaint aggregates dominate (no (store, received_at) index on complaints);
the summary and panel snapshots the job stores take them off the request path.
"""

import argparse
import importlib.util
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings.base")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm_site.models import DealerGroup, Store, User  # noqa: E402
from crm_site.services import store_create  # noqa: E402
from customers.models import Customer  # noqa: E402
from followups.models import Step  # noqa: E402
from satisfaction import rules, services  # noqa: E402
from satisfaction.models import MonthlyFigure  # noqa: E402

TASKS_SQL = """
INSERT INTO followups_task (store_id, programme_id, programme_code, step_id, customer_id,
    due_on, offset_days, planned_on, channel, status, outcome_kind, notes, attempts,
    cancel_reason, created_at)
SELECT %(store)s, (%(programmes)s)[k], (%(codes)s)[k], (%(steps)s)[k],
       (%(customers)s)[1 + (g %% %(n)s)], d, (%(offsets)s)[k], d + (%(offsets)s)[k],
       (%(channels)s)[k], 'done',
       CASE WHEN (%(channels)s)[k] <> 'call' THEN ''
            WHEN g %% 10 < 2 THEN 'unreachable' WHEN g %% 10 = 2 THEN 'booked'
            WHEN g %% 10 = 3 THEN 'refused' ELSE 'reached' END,
       '', 1, '', now()
FROM (SELECT g, 1 + ((g / %(n)s) %% %(k)s) AS k,
             %(start)s::date + ((g / %(n)s / %(k)s) %% 365)::int AS d
      FROM generate_series(0, %(count)s - 1) AS g) AS rows
ON CONFLICT DO NOTHING
"""

ANSWERS_SQL = """
INSERT INTO followups_satisfactionanswer (task_id, question_id, store_id, programme_code,
    department, rating, reason, answered_on, caller_id)
SELECT t.id, q.id, t.store_id, t.programme_code, q.department,
       CASE WHEN t.id %% 50 = 0 THEN 2 WHEN t.id %% 10 = 0 THEN 3 ELSE 5 END, '', t.planned_on,
       %(caller)s
FROM followups_task t
JOIN (SELECT DISTINCT ON (programme_id) id, programme_id, department
      FROM followups_satisfactionquestion ORDER BY programme_id, "order", id) q
  ON q.programme_id = t.programme_id
WHERE t.store_id = %(store)s AND t.outcome_kind IN ('reached', 'booked')
  AND t.programme_code IN ('post_delivery_followup', 'post_service_followup')
ON CONFLICT DO NOTHING
"""


def _complaints_module():
    spec = importlib.util.spec_from_file_location(
        "complaints_bench", Path(__file__).with_name("complaints_sweep.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fill(args):
    call_command("migrate", verbosity=0)
    group, _ = DealerGroup.objects.get_or_create(name="bench")
    manager, _created = User.objects.get_or_create(username="bench-gm")
    manager.groups.add(Group.objects.get(name="general_manager"))
    steps = list(Step.objects.filter(
        programme__code__in=["post_delivery_followup", "post_service_followup", "first_service",
                             "periodic_service", "insurance_renewal"])
        .select_related("programme").order_by("programme__order", "order"))
    start = date.today().replace(day=1) - timedelta(days=335)
    complaints = _complaints_module()
    stores = []
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE followups_satisfactionanswer, followups_callattempt, "
                       "followups_appointment, followups_task, complaints_complaint, "
                       "complaints_complaintevent, complaints_historicalcomplaint, "
                       "satisfaction_monthlyfigure CASCADE")
    started = time.perf_counter()
    for index in range(args.stores):
        code = f"bench-{index:02d}"
        store = Store.objects.filter(code=code).first() or store_create(
            group=group, code=code, name=f"基准门店{index:02d}")
        stores.append(store)
        manager.stores.add(store)
        have = Customer.objects.filter(store=store).count()
        if have < args.customers:
            Customer.objects.bulk_create(
                (Customer(store=store, name=f"客户{index}-{i}") for i in range(have, args.customers)),
                batch_size=5000)
        customers = list(Customer.objects.filter(store=store).values_list("id", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(TASKS_SQL, {
                "store": store.pk, "customers": customers, "n": len(customers), "k": len(steps),
                "programmes": [s.programme_id for s in steps],
                "codes": [s.programme.code for s in steps], "steps": [s.pk for s in steps],
                "offsets": [s.offset_days for s in steps], "channels": [s.channel for s in steps],
                "start": start, "count": args.tasks})
            cursor.execute(ANSWERS_SQL, {"store": store.pk, "caller": manager.pk})
            cursor.execute(complaints.CLOSED, {
                "store": store.pk, "customers": customers, "owner": manager.pk, "status": "closed",
                "now": timezone.now(), "span": 365 * 86400, "count": args.complaints})
    with connection.cursor() as cursor:
        for table in ("followups_task", "followups_satisfactionanswer", "complaints_complaint"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"filled {args.stores} stores in {time.perf_counter() - started:.0f} s")
    return stores, manager


def timed(func, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), result


def measure(client, url, label, repeat):
    client.get(url)
    median, worst, response = timed(lambda: client.get(url), repeat)
    assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    print(f"{label}: median {median:.0f} ms, max {worst:.0f} ms, {len(queries)} queries")
    return queries


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--tasks", type=int, default=200_000, help="per store, over a year")
    parser.add_argument("--complaints", type=int, default=50_000, help="per store, over a year")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--skip-fill", action="store_true")
    args = parser.parse_args()
    if args.skip_fill:
        manager = User.objects.get(username="bench-gm")
        stores = list(Store.objects.filter(code__startswith="bench-").order_by("code"))
    else:
        stores, manager = fill(args)
    from complaints.models import Complaint
    from followups.models import SatisfactionAnswer, Task

    print(f"rows: {Task.objects.count():,} tasks, {SatisfactionAnswer.objects.count():,} answers, "
          f"{Complaint.objects.count():,} complaints")
    period = timezone.localdate().replace(day=1)
    client = Client()
    client.force_login(manager)
    store = stores[0]
    dashboard = f"/satisfaction/?store={store.pk}&period={period:%Y-%m}"
    group = f"/satisfaction/group/?period={period:%Y-%m}"

    MonthlyFigure.objects.all().delete()
    queries = measure(client, dashboard, "dashboard, one store and month, live", args.repeat)
    for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]:
        print(f"  {float(query['time']) * 1000:.1f} ms  {query['sql'][:120]}")
    measure(client, group, f"group view, {len(stores)} stores, live", args.repeat)

    started = time.perf_counter()
    services.figures_refresh(periods=rules.months_back(period, 6))
    print(f"summary refresh, 6 months x {len(stores)} stores: "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    queries = measure(client, dashboard, "dashboard, one store and month, from the summary", args.repeat)
    for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]:
        print(f"  {float(query['time']) * 1000:.1f} ms  {query['sql'][:120]}")
    measure(client, group, f"group view, {len(stores)} stores, from the summary", args.repeat)


if __name__ == "__main__":
    main()
