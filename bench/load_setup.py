"""Prepares a generated dealer group (bench/customers_generate.py) for the load test
(bench/locustfile.py): staff of every role with passwords in two stores, today's
worklist calls for the callers, open and closed complaints, today's inspection rounds
and the dashboard summary. Set-based SQL for the rows; safe to run twice (the calls and
complaints of earlier runs are replaced). Writes the names and ids the load test picks
from to a JSON file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_load \\
        .venv/bin/python bench/load_setup.py --out /tmp/load_data.json
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings.base")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402

django.setup()

from complaints_sweep import CLOSED, OPEN  # noqa: E402  (bench/ is on the path)
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm_site.models import Store, User  # noqa: E402
from crm_site.roles import Role  # noqa: E402
from followups.models import Step  # noqa: E402
from inspections import services as inspections  # noqa: E402
from satisfaction import services as satisfaction  # noqa: E402

PASSWORD = "Load-pass-2026!"
# Per store: how many of each role sign in during the load test.
PER_STORE = {Role.CALLER: 10, Role.CR_MANAGER: 2, Role.CR_SPECIALIST: 2, Role.SERVICE_MANAGER: 2}

TASKS_SQL = """
INSERT INTO followups_task (store_id, programme_id, programme_code, step_id, customer_id,
    vehicle_id, due_on, offset_days, planned_on, channel, status, assignee_id, outcome_kind,
    notes, attempts, cancel_reason, created_at)
SELECT v.store_id, %(programme)s, %(code)s, %(step)s, v.customer_id, v.id,
       %(due)s, %(offset)s, %(today)s, 'call', 'planned',
       (%(callers)s::bigint[])[1 + (v.n %% array_length(%(callers)s::bigint[], 1))],
       '', '', 0, '', now()
FROM (SELECT id, store_id, customer_id, row_number() OVER (ORDER BY id) AS n
      FROM customers_vehicle WHERE store_id = %(store)s ORDER BY id LIMIT %(count)s) AS v
ON CONFLICT DO NOTHING
"""


def staff(stores):
    """Users named load-<role>-<store>-<n>, and one general manager of both stores."""
    password = make_password(PASSWORD)
    names = {str(role): [] for role in [*PER_STORE, Role.GENERAL_MANAGER]}
    groups = {g.name: g for g in Group.objects.all()}

    def user(username, role, members):
        account, _ = User.objects.update_or_create(username=username, defaults={
            "password": password, "is_active": True, "last_name": "压测",
            "first_name": username.rsplit("-", 2)[-2] + username.rsplit("-", 1)[-1]})
        account.groups.set([groups[str(role)]])
        account.stores.set(members)
        names[str(role)].append(username)
        return account

    accounts = {}
    for store in stores:
        for role, count in PER_STORE.items():
            accounts[store.pk, role] = [user(f"load-{role}-{store.code}-{n}", role, [store])
                                        for n in range(count)]
    user("load-general_manager-0", Role.GENERAL_MANAGER, stores)
    return names, accounts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="bench-0,bench-1", help="store codes, comma separated")
    parser.add_argument("--calls", type=int, default=60, help="worklist calls per caller")
    parser.add_argument("--open", type=int, default=300, help="open complaints per store")
    parser.add_argument("--closed", type=int, default=3000, help="closed complaints per store")
    parser.add_argument("--out", default="/tmp/load_data.json")
    args = parser.parse_args()

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    stores = list(Store.objects.filter(code__in=args.stores.split(",")).order_by("code"))
    assert stores, "no such stores: generate the group with bench/customers_generate.py first"
    now = timezone.now().replace(microsecond=0)
    today = timezone.localdate(now)
    step = Step.objects.select_related("programme").get(programme__code="periodic_service",
                                                        code="call-7")
    data = {"password": PASSWORD, "stores": {}}
    with transaction.atomic():
        names, accounts = staff(stores)
        data["users"] = names
        with connection.cursor() as cursor:
            store_ids = [s.pk for s in stores]
            cursor.execute("DELETE FROM followups_callattempt WHERE task_id IN (SELECT id FROM "
                           "followups_task WHERE store_id = ANY(%s))", [store_ids])
            cursor.execute("DELETE FROM followups_appointment WHERE store_id = ANY(%s)", [store_ids])
            cursor.execute("DELETE FROM followups_task WHERE store_id = ANY(%s)", [store_ids])
            cursor.execute("DELETE FROM complaints_complaintevent WHERE complaint_id IN (SELECT id "
                           "FROM complaints_complaint WHERE store_id = ANY(%s))", [store_ids])
            cursor.execute("DELETE FROM complaints_complaint WHERE store_id = ANY(%s)", [store_ids])
            for store in stores:
                callers = [u.pk for u in accounts[store.pk, Role.CALLER]]
                cursor.execute(TASKS_SQL, {
                    "programme": step.programme_id, "code": step.programme.code, "step": step.pk,
                    "due": today + timezone.timedelta(days=7), "offset": -7, "today": today,
                    "callers": callers, "store": store.pk, "count": args.calls * len(callers)})
                cursor.execute("SELECT id FROM customers_customer WHERE store_id = %s "
                               "ORDER BY id LIMIT 2000", [store.pk])
                customers = [row[0] for row in cursor.fetchall()]
                owner = accounts[store.pk, Role.CR_MANAGER][0].pk
                for sql, status, span, count in ((CLOSED, "closed", 90 * 86400, args.closed),
                                                 (OPEN, "responded", 20 * 3600, args.open)):
                    cursor.execute(sql, {"store": store.pk, "customers": customers, "owner": owner,
                                         "status": status, "now": now, "span": span,
                                         "count": count})
                cursor.execute(
                    "SELECT c.id, c.mobile, v.plate FROM customers_customer c "
                    "JOIN customers_vehicle v ON v.customer_id = c.id WHERE c.store_id = %s "
                    "AND c.mobile <> '' AND v.plate <> '' ORDER BY c.id LIMIT 500", [store.pk])
                rows = cursor.fetchall()
                cursor.execute("SELECT id FROM complaints_complaint WHERE store_id = %s "
                               "AND status <> 'closed' ORDER BY id LIMIT 200", [store.pk])
                data["stores"][store.code] = {
                    "id": store.pk, "customers": [r[0] for r in rows],
                    "mobile_fragments": sorted({r[1][3:7] for r in rows}),
                    "plates": [r[2] for r in rows],
                    "complaints": [r[0] for r in cursor.fetchall()]}
    for store in stores:
        inspections.checklists_ensure_for_store(store=store)
    inspections.rounds_schedule(now=now, stores=stores)
    satisfaction.figures_refresh(periods=[today.replace(day=1)], store_ids=[s.pk for s in stores])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE followups_task; ANALYZE complaints_complaint")
    Path(args.out).write_text(json.dumps(data, ensure_ascii=False, indent=1))
    print(f"prepared {len(stores)} stores in {time.perf_counter() - started:.1f} s; "
          f"users: {sum(len(v) for v in names.values())}; data in {args.out}")


if __name__ == "__main__":
    main()
