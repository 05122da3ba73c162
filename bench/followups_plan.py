"""Benchmark of the nightly planner.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/followups_plan.py \
        --vehicles 100000 --nights 30

Generates (once) a store with callers and `--vehicles` customers with one car each, due
dates spread over two years, then plans one night and `--nights` consecutive nights,
printing seconds per night, rows created and the peak memory of this process.
"""

import argparse
import os
import random
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings.base")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402

from crm_site.models import DealerGroup, Message, Store, User  # noqa: E402
from crm_site.services import store_create  # noqa: E402
from customers.models import Customer, Vehicle  # noqa: E402
from followups.models import PlannerRun, Task  # noqa: E402
from followups.planner import reminders_plan  # noqa: E402


def generate(count, day):
    group, _ = DealerGroup.objects.get_or_create(name="bench")
    store = Store.objects.filter(code="bench").first() or store_create(
        group=group, code="bench", name="Bench 4S", sms_sign_name="Bench")
    for n in range(8):
        user, _ = User.objects.get_or_create(username=f"bench-caller-{n}")
        user.stores.add(store)
        user.groups.add(Group.objects.get(name="caller"))
    have = Vehicle.objects.filter(store=store).count()
    rng = random.Random(42)
    batch = 10_000
    for start in range(have, count, batch):
        size = min(batch, count - start)
        customers = Customer.objects.bulk_create(
            Customer(store=store, name=f"客户{start + i}", mobile=f"13{start + i:09d}",
                     sms_allowed=rng.random() > 0.05, call_allowed=rng.random() > 0.02,
                     birth_date=date(1970, 1, 1) + timedelta(days=rng.randint(0, 15000)))
            for i in range(size))

        def spread(span=365):
            return day + timedelta(days=rng.randint(-span, span))

        Vehicle.objects.bulk_create(
            Vehicle(store=store, customer=c, vin=f"BENCH{start + i:012d}",
                    plate=f"沪B{(start + i) % 100000:05d}",
                    delivered_on=spread(), first_service_due_on=spread() if rng.random() < 0.3 else None,
                    next_service_due_on=spread(), insurance_expires_on=spread(),
                    last_visit_on=day - timedelta(days=rng.randint(1, 400)),
                    is_active=rng.random() > 0.03)
            for i, c in enumerate(customers))
        print(f"generated {start + size} vehicles", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return store


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--start", default="2026-12-01")
    args = parser.parse_args()
    day = date.fromisoformat(args.start)
    generate(args.vehicles, day)
    Task.objects.all().delete()
    Message.objects.all().delete()
    PlannerRun.objects.all().delete()
    started = time.perf_counter()
    reminders_plan(day=day)
    first = time.perf_counter() - started
    rows_first = Task.objects.count()
    timings = []
    for night in range(1, args.nights):
        started = time.perf_counter()
        reminders_plan(day=day + timedelta(days=night))
        timings.append(time.perf_counter() - started)
    rows = Task.objects.count()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"vehicles: {args.vehicles}")
    print(f"first night (with 7 days catch-up): {first:.2f} s, {rows_first} tasks")
    if timings:
        print(f"following {len(timings)} nights: mean {sum(timings) / len(timings):.3f} s, "
              f"max {max(timings):.3f} s, total {sum(timings):.1f} s")
    print(f"tasks after {args.nights} nights: {rows}, messages: {Message.objects.count()}")
    print(f"peak RSS of the planner process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
