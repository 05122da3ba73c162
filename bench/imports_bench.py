"""Benchmark of the DMS import (crm_site.imports) at a dealer's size.

Generates a DMS export of --rows rows in three .xlsx files (customers 30 %, their
vehicles 30 %, service visits 40 %, with repair-order numbers), then imports each the way
the job does (dry run, then commit) into a PostgreSQL database (DATABASE_URL; migrated
first; its customer tables are emptied), and imports the same files a second time. It
prints the time of each step, the process's peak memory (resident set size) and what the
second import changed (nothing is expected).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_imports_bench \\
        .venv/bin/python bench/imports_bench.py --rows 100000

The issue's target: 100,000 rows in under 5 minutes, peak memory under 300 MB, and the
same file again changes nothing.
"""

import argparse
import io
import os
import random
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings.base")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("IMPORT_MAX_ROWS", "1000000")
os.environ.setdefault("IMPORT_MAX_CELLS", "20000000")
os.environ.setdefault("IMPORT_MAX_UNZIPPED_MB", "500")

import django  # noqa: E402

django.setup()

import openpyxl  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from crm_site import imports  # noqa: E402
from crm_site.models import DealerGroup, ImportJob, Store, User  # noqa: E402
from customers.validators import vin_check_digit  # noqa: E402

VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def vin(n):
    body = f"LSV{n:014d}"
    body = "".join(VIN_CHARS[int(c)] if c.isdigit() else c for c in body)
    return body[:8] + vin_check_digit(body[:8] + "0" + body[9:]) + body[9:]


def sheet(rows):
    book = openpyxl.Workbook(write_only=True)
    out = book.create_sheet()
    for row in rows:
        out.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def generate(total):
    rng = random.Random(21)
    customers = int(total * 0.3)
    visits = total - 2 * customers
    kinds = ["定期保养", "定期保养", "一般维修", "钣金喷漆", "保修", "召回活动"]
    yield "customers", sheet([["姓名", "手机", "性别", "家庭住址", "来源渠道", "接受短信"]] + [
        [f"客户{n}", f"139{n:08d}", rng.choice(["男", "女"]), f"浦东新区{n}号", "展厅",
         rng.choice(["是", "是", "否"])] for n in range(customers)])
    yield "vehicles", sheet([["车架号", "车型", "颜色", "车主手机"]] + [
        [vin(n), rng.choice(["卡罗拉", "凯美瑞", "RAV4"]), "白色", f"139{n:08d}"]
        for n in range(customers)])
    start = date(2024, 1, 1)
    yield "visits", sheet([["车架号", "进厂日期", "维修类型", "金额", "里程", "工单号"]] + [
        [vin(n % customers), (start + timedelta(days=n // customers * 200 + rng.randint(0, 150)))
         .isoformat(), "首保" if n < customers // 3 else rng.choice(kinds),
         rng.randint(0, 5000), None, f"RO{n:08d}"] for n in range(visits)])


def cpu_s():
    """CPU seconds of this process (user + system): the wall time on a shared machine
    depends on its load; the database's own time is in the wall time only."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_customer, customers_historicalcustomer, "
                       "customers_historicalvehicle, customers_historicalservicevisit, "
                       "customers_historicalvehicleownership, crm_site_importjob CASCADE")
    group, _ = DealerGroup.objects.get_or_create(name="基准集团")
    store, _ = Store.objects.get_or_create(code="BENCH", defaults={"name": "基准店", "group": group})
    user, _ = User.objects.get_or_create(username="bench-importer")
    user.groups.add(Group.objects.get(name="cr_manager"))
    user.stores.add(store)
    user = User.objects.get(pk=user.pk)

    started = time.perf_counter()
    files = list(generate(args.rows))
    print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s, "
          f"{sum(len(c) for _k, c in files) / 1e6:.1f} MB of .xlsx; peak {peak_mb():.0f} MB",
          flush=True)

    def run(label):
        total, cpu_before = 0.0, cpu_s()
        for kind, content in files:
            job = imports.job_create(actor=user, kind=kind, store=store,
                                     file_name=f"{kind}.xlsx", content=content)
            began = time.perf_counter()
            job = imports.job_run(job.pk)
            checked = time.perf_counter() - began
            assert job.status == ImportJob.Status.CHECKED, (kind, job.errors[:5])
            imports.job_commit(job=job, actor=user)
            began = time.perf_counter()
            job = imports.job_run(job.pk, commit=True)
            committed = time.perf_counter() - began
            assert job.status == ImportJob.Status.COMMITTED, (kind, job.errors[:5])
            total += checked + committed
            print(f"{label} {kind:10s} {job.total_rows:7,} rows: dry run {checked:6.1f} s, "
                  f"commit {committed:6.1f} s, counts {job.counts}; peak {peak_mb():.0f} MB", flush=True)
        print(f"{label} total {total:.1f} s wall, {cpu_s() - cpu_before:.1f} s CPU of this "
              f"process; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
              flush=True)

    def state():
        with connection.cursor() as cursor:
            cursor.execute("SELECT (SELECT count(*) FROM customers_customer), "
                           "(SELECT count(*) FROM customers_vehicle), "
                           "(SELECT count(*) FROM customers_servicevisit), "
                           "(SELECT count(*) FROM customers_historicalcustomer) + "
                           "(SELECT count(*) FROM customers_historicalvehicle) + "
                           "(SELECT count(*) FROM customers_historicalservicevisit), "
                           "(SELECT md5(string_agg(v::text, ',' ORDER BY id)) "
                           " FROM customers_vehicle v), "
                           "(SELECT md5(string_agg(c::text, ',' ORDER BY id)) "
                           " FROM customers_customer c)")
            return cursor.fetchone()

    run("first ")
    before = state()
    print(f"customers {before[0]:,}, vehicles {before[1]:,}, visits {before[2]:,}, "
          f"history rows {before[3]:,}")
    run("again ")
    after = state()
    print("the same files again changed nothing" if after == before
          else f"CHANGED: {before} -> {after}")
    print(f"peak memory {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
