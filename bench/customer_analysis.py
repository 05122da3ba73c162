"""Benchmark of the customer analysis ("who our customers are") on a dealer group's data.

Runs on a database filled by bench/customers_generate.py (1,000,000 customers, 1,200,000
vehicles, 5,000,000 visits in 10 stores). That generator writes no sales and no source,
region or hobbies; this script adds them once, set-based (a sale for four vehicles in
five, delivered on the vehicle's delivery date; a source channel, district and hobbies
for every customer; a refusal reason on a lapsed-recall task for one customer in fifty),
then times through the real views, as a store's CR manager:

- the analysis page for a month, a quarter and a year (live, then from the summary),
- the API for the month,
- drill-down lists (lapsed customers, an age band, other-store customers),

each the median of --repeat requests, with its query count and summed SQL time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_analysis \\
        .venv/bin/python bench/customer_analysis.py
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
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

from crm_site.models import Store, User  # noqa: E402
from customers.models import Customer, Sale, ServiceVisit, Vehicle  # noqa: E402
from satisfaction import rules, services  # noqa: E402
from satisfaction.models import CustomerAnalysisSnapshot, CustomerBand  # noqa: E402

SOURCES = ["展厅", "网络线索", "老客户介绍", "车展", "电话咨询"]
DISTRICTS = ["浦东新区", "徐汇区", "闵行区", "静安区", "杨浦区", "宝山区", "长宁区"]
HOBBIES = ["自驾游", "钓鱼", "摄影", "高尔夫", "跑步", "茶艺", "自驾游、摄影", "钓鱼、茶艺", ""]


def _array(items):
    return "(ARRAY[" + ",".join(f"'{item}'" for item in items) + "])"


def enrich():
    """Sales, source, region, hobbies and some recorded reasons, once."""
    from customers_generate import insert_select

    timings = {}
    if not Sale.objects.exists():
        started = time.perf_counter()
        insert_select("customers_sale", {
            "id": "v.id", "vehicle_id": "v.id", "customer_id": "v.customer_id", "store_id": "v.store_id",
            "price": "(100000 + (v.id % 300) * 1000)::numeric", "discount": "0",
            "order_date": "v.delivered_on - 10", "delivered_on": "v.delivered_on",
            "insurance_bought": "v.id % 3 = 0", "finance_used": "v.id % 4 = 0", "dms_ref": "''",
            "consultant_name": "'销售顾问'", "created_at": "now()",
        }, "customers_vehicle v WHERE v.id % 5 <> 0 AND v.delivered_on IS NOT NULL")
        timings["sales"] = time.perf_counter() - started
    if not Customer.objects.exclude(source="").exists():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"""UPDATE customers_customer SET
                source = {_array(SOURCES)}[1 + (id % {len(SOURCES)})],
                region = {_array(DISTRICTS)}[1 + ((id / 3) % {len(DISTRICTS)})],
                hobbies = {_array(HOBBIES)}[1 + ((id / 7) % {len(HOBBIES)})]""")
        timings["customer fields"] = time.perf_counter() - started
    from followups.models import Programme, RefusalReason, Task

    if not Task.objects.filter(reason__isnull=False).exists():
        started = time.perf_counter()
        programme = Programme.objects.get(code="lapsed_recall")
        step = programme.steps.order_by("-offset_days").first()
        reasons = list(RefusalReason.objects.values_list("pk", flat=True))
        base = Task.objects.order_by("-id").values_list("id", flat=True).first() or 0
        insert_select("followups_task", {
            "id": f"{base} + c.id", "store_id": "c.store_id", "programme_id": str(programme.pk),
            "programme_code": f"'{programme.code}'", "step_id": str(step.pk), "customer_id": "c.id",
            "due_on": "current_date - 30", "offset_days": str(step.offset_days),
            "planned_on": "current_date - 37", "channel": "'call'", "status": "'done'",
            "outcome_kind": "'refused'",
            "reason_id": f"(ARRAY[{','.join(map(str, reasons))}])[1 + (c.id % {len(reasons)})]",
            "attempts": "1", "created_at": "now()",
        }, "customers_customer c WHERE c.id % 50 = 0")
        timings["reasons"] = time.perf_counter() - started
    if timings:
        with connection.cursor() as cursor:
            for table in ("customers_sale", "followups_task"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
            for table in ("customers_sale", "customers_customer", "followups_task"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    return timings


def timed(client, url, params, repeat):
    client.get(url, params)
    times, sql_times = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - started) * 1000)
        sql_times.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), max(times), len(queries), statistics.median(sql_times), queries


def report(label, result, slowest=0):
    median, worst, count, sql, queries = result
    print(f"  {label:<44} median {median:7.1f} ms  max {worst:7.1f} ms  SQL {sql:7.1f} ms  {count} queries")
    for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:slowest]:
        print(f"      {float(query['time']) * 1000:7.1f} ms  {query['sql'][:110]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--slowest", type=int, default=4, help="print the slowest queries of each page")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    timings = enrich()
    if timings:
        print("enriched: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    store = Store.objects.get(code="bench-0")
    crm, _ = User.objects.get_or_create(username="bench-crm")
    crm.stores.add(store)
    crm.groups.add(Group.objects.get(name="cr_manager"))
    print(f"rows: {Customer.objects.count():,} customers, {Vehicle.objects.count():,} vehicles, "
          f"{ServiceVisit.objects.count():,} visits, {Sale.objects.count():,} sales; "
          f"store {store.code}: {Customer.objects.filter(store=store).count():,} customers")
    client = Client()
    client.force_login(crm)
    today = timezone.localdate()
    month = rules.add_months(today.replace(day=1), -1)
    spans = [f"{month:%Y-%m}", f"{month.year}-Q{(month.month - 1) // 3 + 1}", f"{month.year}"]
    page = "/satisfaction/customers/"
    CustomerAnalysisSnapshot.objects.filter(store=store).delete()
    print("\nlive:")
    for span in spans:
        report(f"analysis page {span}", timed(client, page, {"store": store.pk, "period": span}, args.repeat),
               args.slowest)
    report("API, month", timed(client, "/api/v1/customer-analysis/", {"period": spans[0]}, args.repeat))
    started = time.perf_counter()
    services.customer_analysis_refresh(store_ids=[store.pk], spans=[rules.parse_span(s) for s in spans])
    print(f"\nsummary refresh, 1 store x {len(spans)} periods: {time.perf_counter() - started:.1f} s")
    print("from the summary:")
    for span in spans:
        report(f"analysis page {span}", timed(client, page, {"store": store.pk, "period": span}, args.repeat))
    report("API, month", timed(client, "/api/v1/customer-analysis/", {"period": spans[0]}, args.repeat))
    print("\ndrill-down lists (first page of 50):")
    age = CustomerBand.objects.get(kind="age", lower=35)
    for label, params in (("lapsed customers", {"breakdown": "service_status", "key": "lapsed"}),
                          ("age 35-44 bought in the month", {"breakdown": "sales_age", "key": age.pk}),
                          ("serviced, bought elsewhere", {"breakdown": "service_origin", "key": "other"})):
        report(label, timed(client, "/satisfaction/customers/list/",
                            {"store": store.pk, "period": spans[0], **params}, args.repeat), args.slowest)


if __name__ == "__main__":
    main()
