"""Benchmark of the minute SLA sweep and the complaint board on many rows.

Fills a PostgreSQL database (DATABASE_URL; it is migrated first and its complaints
table is emptied) with closed complaints spread over three years and open complaints
received in the last 20 hours, then measures:

- the sweep when nothing is due (the usual minute),
- the sweep when --due resolution warnings fall due at once,
- the board page of a CR manager who sees every open complaint (full request, query
  count included).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_complaints_bench \\
        .venv/bin/python bench/complaints_sweep.py --closed 1000000 --open 100000

The issue's target: 10 million closed and 100,000 open complaints, sweep under 200 ms,
board under 100 ms, with a fixed number of queries.
"""

import argparse
import os
import statistics
import sys
import time
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

from complaints import services  # noqa: E402
from complaints.models import Complaint, ComplaintEvent  # noqa: E402
from crm_site.models import DealerGroup, Notification, Store, User  # noqa: E402
from crm_site.services import store_create  # noqa: E402
from customers.models import Customer  # noqa: E402

COLUMNS = """store_id, customer_id, channel, category, description, severity, important_reasons,
department, owner_id, logged_by_id, status, round, root_cause, corrective_action,
department_feedback, resolution, is_repeat, received_at, created_at,
response_warn_at, response_due_at, responded_at,
resolution_warn_at, resolution_due_at, resolved_at, resolution_warned_at,
paused_seconds, pause_reason, handed_off_at, department_warn_at, department_due_at,
department_feedback_at, callback_at, closed_at, current_due_at"""

FILL_SQL = f"""
INSERT INTO complaints_complaint ({COLUMNS})
SELECT %(store)s, (%(customers)s)[1 + (g %% array_length(%(customers)s, 1))],
       'phone', (ARRAY['product','service_quality','attitude','price','waiting'])[1 + g %% 5],
       'bench', CASE WHEN g %% 50 = 0 THEN 'important' ELSE 'general' END,
       CASE WHEN g %% 50 = 0 THEN 'A' ELSE '' END,
       (ARRAY['sales','service','parts'])[1 + g %% 3], %(owner)s, %(owner)s, %(status)s, 1,
       '', '', '', '', false, r, r,
       r + interval '24 minutes', r + interval '30 minutes', {{responded}},
       r + interval '19 hours 12 minutes', r + interval '24 hours', {{resolved}},
       {{resolution_warned}},
       0, '', {{handed}}, {{handed}} + interval '57 hours 36 minutes', {{handed}} + interval '3 days',
       {{feedback}}, {{closed}}, {{closed}}, {{current}}
FROM (SELECT g, %(now)s::timestamptz - (%(span)s * random()) * interval '1 second' AS r
      FROM generate_series(1, %(count)s) AS g) AS rows
"""

CLOSED = FILL_SQL.format(
    responded="r + interval '10 minutes'", resolved="r + interval '20 hours'",
    resolution_warned="NULL", handed="(r + interval '1 hour')",
    feedback="r + interval '10 hours'", closed="r + interval '30 hours'", current="NULL")
# Open: responded when older than 5 minutes, the resolution warning already recorded
# where it was due, half handed off an hour after receipt.
OPEN = FILL_SQL.format(
    responded="CASE WHEN r < %(now)s::timestamptz - interval '5 minutes' "
              "THEN r + interval '5 minutes' END",
    resolved="NULL",
    resolution_warned="CASE WHEN r + interval '19 hours 12 minutes' <= %(now)s::timestamptz "
                      "THEN r + interval '19 hours 12 minutes' END",
    handed="(CASE WHEN g %% 2 = 0 AND r < %(now)s::timestamptz - interval '1 hour' "
           "THEN r + interval '1 hour' END)",
    feedback="NULL", closed="NULL",
    current="CASE WHEN r < %(now)s::timestamptz - interval '5 minutes' "
            "THEN r + interval '24 hours' ELSE r + interval '30 minutes' END")


def fill(args):
    call_command("migrate", verbosity=0)
    group, _ = DealerGroup.objects.get_or_create(name="bench")
    store = Store.objects.filter(code="bench").first() or store_create(
        group=group, code="bench", name="bench")
    manager, created = User.objects.get_or_create(username="bench-crm")
    manager.stores.add(store)
    manager.groups.add(Group.objects.get(name="cr_manager"))
    customers = list(Customer.objects.filter(store=store).values_list("id", flat=True))
    if len(customers) < 1000:
        Customer.objects.bulk_create(Customer(store=store, name=f"客户{i}")
                                     for i in range(1000 - len(customers)))
        customers = list(Customer.objects.filter(store=store).values_list("id", flat=True))
    now = timezone.now().replace(microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE complaints_complaint, complaints_complaintevent, "
                       "complaints_historicalcomplaint, crm_site_notification CASCADE")
        started = time.perf_counter()
        chunk = 1_000_000
        for offset in range(0, args.closed, chunk):
            cursor.execute(CLOSED, {"store": store.pk, "customers": customers,
                                    "owner": manager.pk, "status": "closed", "now": now,
                                    "span": 3 * 365 * 86400,
                                    "count": min(chunk, args.closed - offset)})
        cursor.execute(OPEN, {"store": store.pk, "customers": customers, "owner": manager.pk,
                              "status": "responded", "now": now, "span": 20 * 3600,
                              "count": args.open})
        print(f"filled {args.closed:,} closed + {args.open:,} open in "
              f"{time.perf_counter() - started:.0f} s")
        cursor.execute("VACUUM ANALYZE complaints_complaint")
    return store, manager, now


def timed(func, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--closed", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--skip-fill", action="store_true")
    args = parser.parse_args()
    if args.skip_fill:
        store = Store.objects.get(code="bench")
        manager = User.objects.get(username="bench-crm")
        now = timezone.now().replace(microsecond=0)
        # Marks that fell due since the fill: one catch-up run, timed on its own.
        started = time.perf_counter()
        counts = services.complaints_sweep(now=now)
        print(f"catch-up sweep: {(time.perf_counter() - started) * 1000:.0f} ms, "
              f"marks {sum(counts.values())}")
    else:
        store, manager, now = fill(args)
    print(f"rows: {Complaint.objects.count():,} "
          f"(open {Complaint.objects.open().count():,})")

    # 1. The usual minute: nothing is due.
    median, worst, counts = timed(lambda: services.complaints_sweep(now=now), args.repeat)
    with CaptureQueriesContext(connection) as queries:
        services.complaints_sweep(now=now)
    print(f"sweep, nothing due: median {median:.1f} ms, max {worst:.1f} ms, "
          f"{len(queries)} queries, marks {sum(counts.values())}")

    # 2. A burst: --due resolution warnings fall due at once.
    due_ids = list(Complaint.objects.filter(resolution_warned_at__isnull=False,
                                            resolved_at__isnull=True)
                   .values_list("id", flat=True)[:args.due])
    Complaint.objects.filter(id__in=due_ids).update(resolution_warned_at=None)
    ComplaintEvent.objects.filter(complaint_id__in=due_ids, kind="warning").delete()
    Notification.objects.all().delete()
    started = time.perf_counter()
    counts = services.complaints_sweep(now=now)
    burst = (time.perf_counter() - started) * 1000
    print(f"sweep, {len(due_ids)} warnings due: {burst:.1f} ms, marks {sum(counts.values())}, "
          f"notifications {Notification.objects.count()}")
    median, worst, counts = timed(lambda: services.complaints_sweep(now=now), args.repeat)
    print(f"sweep again (all recorded): median {median:.1f} ms, marks {sum(counts.values())}")

    # 3. The board page of a CR manager who sees every open complaint.
    client = Client()
    client.force_login(manager)
    client.get("/complaints/")
    median, worst, response = timed(lambda: client.get("/complaints/"), args.repeat)
    with CaptureQueriesContext(connection) as queries:
        client.get("/complaints/")
    assert response.status_code == 200, response.status_code
    print(f"board page (100 of {Complaint.objects.open().count():,} open): median {median:.1f} ms, "
          f"max {worst:.1f} ms, {len(queries)} queries")
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
    for query in slowest:
        print(f"  {float(query['time']) * 1000:.1f} ms  {query['sql'][:140]}")


if __name__ == "__main__":
    main()
