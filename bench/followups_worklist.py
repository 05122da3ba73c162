"""Benchmark of the caller's worklist with a full task ledger, on an existing, filled
database (the generated dealer group of bench/customers_generate.py).

    DATABASE_URL=postgres://.../crm_bench_plan .venv/bin/python bench/followups_worklist.py \
        --tasks 10000000

Tops the task ledger up to `--tasks` rows with one set-based INSERT ... SELECT
generate_series (three years of calls and SMS over the store's vehicles and the call and
SMS steps, planned around today; the calls of the last days open, older ones done, each
call with a caller of its store), then measures the worklist page (`/followups/`) of
one caller as full requests through the Django test client: median and maximum of
`--repeat` requests, the query count and the SQL time, and EXPLAIN ANALYZE of its
queries. `--skip-fill` measures the ledger as it is.
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

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm_site.models import Store, User  # noqa: E402


def sql(statement, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def ensure_callers(per_store):
    caller = Group.objects.get(name="caller")
    for store in Store.objects.filter(is_active=True):
        have = User.objects.filter(stores=store, groups=caller, is_active=True).count()
        for n in range(have, per_store):
            user, _created = User.objects.get_or_create(username=f"bench-caller-{store.pk}-{n}")
            user.stores.add(store)
            user.groups.add(caller)


def fill(total, open_days):
    have = sql("SELECT count(*) FROM followups_task")[0][0]
    missing = total - have
    if missing <= 0:
        return have, 0.0
    today = timezone.localdate()
    started = time.perf_counter()
    sql("DROP TABLE IF EXISTS bench_v")
    sql("CREATE UNLOGGED TABLE bench_v AS SELECT row_number() OVER (ORDER BY id) - 1 AS rn, id, "
        "customer_id, store_id FROM customers_vehicle")
    sql("CREATE UNIQUE INDEX ON bench_v (rn)")
    sql("DROP TABLE IF EXISTS bench_s")
    sql("CREATE UNLOGGED TABLE bench_s AS SELECT row_number() OVER (ORDER BY s.id) - 1 AS rn, s.id, "
        "s.programme_id, p.code, s.offset_days, s.channel FROM followups_step s "
        "JOIN followups_programme p ON p.id = s.programme_id "
        "WHERE s.channel IN ('call', 'sms') AND p.anchor IN "
        "('delivery', 'first_service', 'next_service', 'insurance', 'service_out')")
    sql("DROP TABLE IF EXISTS bench_c")
    sql("CREATE UNLOGGED TABLE bench_c AS SELECT us.store_id, row_number() OVER "
        "(PARTITION BY us.store_id ORDER BY u.id) - 1 AS rn, u.id AS user_id, "
        "count(*) OVER (PARTITION BY us.store_id) AS n FROM crm_site_user u "
        "JOIN crm_site_user_stores us ON us.user_id = u.id "
        "JOIN crm_site_user_groups ug ON ug.user_id = u.id "
        "JOIN auth_group g ON g.id = ug.group_id AND g.name = 'caller' WHERE u.is_active")
    vehicles = sql("SELECT count(*) FROM bench_v")[0][0]
    steps = sql("SELECT count(*) FROM bench_s")[0][0]
    # Row g: vehicle g mod V, step (g div V) mod S, so (step, vehicle) repeats only after
    # V*S rows and then with another N; planned days spread over three years to today + 30.
    inserted = sql("""
        INSERT INTO followups_task (store_id, programme_id, programme_code, step_id, customer_id,
            vehicle_id, due_on, offset_days, planned_on, deadline_on, channel, status, assignee_id,
            outcome_kind, notes, attempts, cancel_reason, created_at, done_at, done_by_id)
        SELECT v.store_id, s.programme_id, s.code, s.id, v.customer_id, v.id,
            x.planned_on - s.offset_days, s.offset_days, x.planned_on,
            CASE WHEN s.channel = 'call' THEN x.planned_on + 6 END, s.channel,
            CASE WHEN s.channel = 'sms' THEN 'done'
                 WHEN x.planned_on >= %(today)s - %(open_days)s THEN 'planned' ELSE 'done' END,
            CASE WHEN s.channel = 'call' THEN c.user_id END,
            CASE WHEN s.channel = 'call' AND x.planned_on < %(today)s - %(open_days)s
                 THEN 'reached' ELSE '' END, '', 0, '', now(),
            CASE WHEN x.planned_on < %(today)s - %(open_days)s THEN x.planned_on + time '10:00' END,
            CASE WHEN s.channel = 'call' AND x.planned_on < %(today)s - %(open_days)s
                 THEN c.user_id END
        FROM generate_series(%(first)s::bigint, %(last)s::bigint) g
        CROSS JOIN LATERAL (SELECT (%(today)s::date + 30
                                    - ((g * 7919) %% 1125)::int) AS planned_on) x
        JOIN bench_v v ON v.rn = g %% %(vehicles)s
        JOIN bench_s s ON s.rn = (g / %(vehicles)s) %% %(steps)s
        JOIN bench_c c ON c.store_id = v.store_id AND c.rn = g %% c.n
        ON CONFLICT DO NOTHING
    """, {"today": today, "open_days": open_days, "first": have, "last": total - 1,
          "vehicles": vehicles, "steps": steps})
    sql("VACUUM ANALYZE followups_task")
    for table in ("bench_v", "bench_s", "bench_c"):
        sql(f"DROP TABLE {table}")
    return inserted, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000_000)
    parser.add_argument("--open-days", type=int, default=2)
    parser.add_argument("--callers-per-store", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-fill", action="store_true")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    ensure_callers(args.callers_per_store)
    if not args.skip_fill:
        inserted, seconds = fill(args.tasks, args.open_days)
        print(f"filled {inserted} tasks in {seconds:.0f} s", flush=True)
    total = sql("SELECT count(*) FROM followups_task")[0][0]
    today = timezone.localdate()
    busiest = sql("SELECT assignee_id, count(*) FROM followups_task WHERE status IN ('planned', 'retry') "
                  "AND channel = 'call' AND planned_on <= %s AND assignee_id IS NOT NULL "
                  "GROUP BY 1 ORDER BY 2 DESC LIMIT 1", [today])
    user = User.objects.get(pk=busiest[0][0])
    print(f"tasks in the ledger: {total}; caller {user.username} has {busiest[0][1]} open calls "
          f"up to {today}", flush=True)
    client = Client()
    client.force_login(user)
    assert client.get("/followups/").status_code == 200
    times = []
    for _n in range(args.repeat):
        started = time.perf_counter()
        response = client.get("/followups/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get("/followups/")
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    print(f"worklist page: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms, "
          f"{len(queries)} queries, SQL {sql_ms:.0f} ms; load average {os.getloadavg()}")
    for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]:
        print(f"  {float(query['time']) * 1000:6.1f} ms  {query['sql'][:150]}")
        if query["sql"].startswith("SELECT"):
            plan = sql("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            print("\n".join("      " + row[0] for row in plan[:12]))


if __name__ == "__main__":
    main()
