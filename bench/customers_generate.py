"""Benchmark of customer search and the customer page on a dealer group's data.

Fills a PostgreSQL database (DATABASE_URL; migrated first; its customer tables are
emptied) with a dealer group of --stores stores: --customers customers, --vehicles
vehicles and --visits service visits, generated set-based in the server
(INSERT ... SELECT over generate_series, no rows through Python), then measures with
the Django test client, as a general manager who sees every store and as a store's CR
manager:

- customer search by mobile fragment, plate and VIN (list page, full request),
- the unfiltered list page (count + first page),
- the customer 360 page,

each the median of --repeat requests, with its query count; and the list's query count
for 10 rows against 100 rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_customers_bench \\
        .venv/bin/python bench/customers_generate.py --customers 1000000 \\
        --vehicles 1200000 --visits 5000000

The issue's target: 1,000,000 customers, 1,200,000 vehicles, 5,000,000 visits generated
in minutes; search and the customer page under 100 ms (median of 20) with a fixed number
of queries. History tables are not filled (the generator stands for a DMS migration).
Resident ID numbers are left empty: they are encrypted by the application (crm_site/crypto.py),
which set-based SQL cannot do; `id_number_hash` stays empty with them.
"""

import argparse
import importlib
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

from crm_site.models import DealerGroup, Store, User  # noqa: E402
from crm_site.services import store_create  # noqa: E402
from customers.models import Customer, ServiceVisit, Vehicle  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
         "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "华", "志强", "海燕", "晓东", "红梅", "俊杰"]
PROVINCES = "沪浙苏京粤川鲁豫鄂湘"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
MODELS = ["卡罗拉", "凯美瑞", "RAV4荣放", "汉兰达", "亚洲龙", "威驰", "明锐", "速派", "柯迪亚克"]
# 387420489 = 3^18 is coprime with 10^9: g -> g * A mod 10^9 is a bijection, so mobiles
# are unique and spread over the whole number space (fragment searches stay realistic).
MOBILE = ("'1' || (ARRAY['3','5','7','8','9'])[1 + (g % 5)] || "
          "lpad(((g::bigint * 387420489) % 1000000000)::text, 9, '0')")


def _defaults(table):
    """SQL default expressions for every NOT NULL column without a database default."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT column_name, data_type FROM information_schema.columns
                          WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL""",
                       [table])
        rows = cursor.fetchall()
    by_type = {"character varying": "''", "text": "''", "boolean": "true", "integer": "0",
               "smallint": "0", "bigint": "0", "numeric": "0", "date": "current_date",
               "timestamp with time zone": "now()", "jsonb": "'{}'::jsonb"}
    return {name: by_type[kind] for name, kind in rows}


def insert_select(table, values, source):
    columns = {**_defaults(table), **values}
    names = ", ".join(columns)
    exprs = ", ".join(columns.values())
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {exprs} FROM {source}")  # noqa: S608


def _setup(args):
    call_command("migrate", verbosity=0)
    group, _ = DealerGroup.objects.get_or_create(name="bench")
    stores = []
    for n in range(args.stores):
        store = Store.objects.filter(code=f"bench-{n}").first() or store_create(
            group=group, code=f"bench-{n}", name=f"门店{n}", brand="丰田")
        stores.append(store)
    gm, _ = User.objects.get_or_create(username="bench-gm")
    gm.stores.add(*stores)
    gm.groups.add(Group.objects.get(name="general_manager"))
    crm, _ = User.objects.get_or_create(username="bench-crm")
    crm.stores.add(stores[0])
    crm.groups.add(Group.objects.get(name="cr_manager"))
    return stores, gm, crm


def fill(args, stores):
    store_ids = [s.pk for s in stores]
    def array(items):
        return "(ARRAY[" + ",".join(items) + "])"

    surnames = array(f"'{c}'" for c in SURNAMES)
    given = array(f"'{c}'" for c in GIVEN)
    provinces = array(f"'{c}'" for c in PROVINCES)
    letters = array(f"'{c}'" for c in PLATE_LETTERS)
    models = array(f"'{c}'" for c in MODELS)
    stores_sql = array(map(str, store_ids))
    n_customers, n_vehicles = args.customers, args.vehicles
    timings = {}
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_customer, customers_vehicle, customers_servicevisit, "
                       "customers_sale, customers_insurancepolicy, customers_vehicleownership, "
                       "customers_familymember, customers_correctionrequest, customers_customermerge, "
                       "customers_personaldatareveal RESTART IDENTITY CASCADE")
    trigram = importlib.import_module("customers.migrations.0003_search_indexes")

    with connection.cursor() as cursor:
        for name, _table, _column in trigram.INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")  # rebuilt in bulk after the fill
    started = time.perf_counter()
    insert_select("customers_customer", {
        "id": "g",
        "store_id": f"{stores_sql}[1 + (g % {len(store_ids)})]",
        "kind": "CASE WHEN g % 25 = 0 THEN 'company' ELSE 'private' END",
        "card": "'c'",
        "name": f"{surnames}[1 + (g % {len(SURNAMES)})] || {given}[1 + ((g / 7) % {len(GIVEN)})]",
        "mobile": MOBILE,
        "gender": "CASE WHEN g % 2 = 0 THEN 'male' ELSE 'female' END",
        "birth_date": "DATE '1960-01-01' + (g % 15000)",
        "sms_allowed": "g % 17 <> 0", "call_allowed": "g % 31 <> 0", "is_active": "true",
        "created_at": "now() - (g % 3000) * interval '1 day'", "updated_at": "now()",
    }, f"generate_series(1, {n_customers}) AS g")
    timings["customers"] = time.perf_counter() - started
    step = time.perf_counter()
    # Vehicle g belongs to customer ((g - 1) % customers) + 1: the first customers own two.
    customer_of = f"(((g - 1) % {n_customers}) + 1)"
    insert_select("customers_vehicle", {
        "id": "g",
        "store_id": f"{stores_sql}[1 + ({customer_of} % {len(store_ids)})]",
        "customer_id": customer_of,
        "vin": "'LVGBE40K0' || lpad(upper(to_hex(g)), 8, '0')",
        "plate": f"{provinces}[1 + (g % {len(PROVINCES)})] || {letters}[1 + ((g / 100000) % 24)] || "
                 "lpad(((g::bigint * 7919) % 100000)::text, 5, '0')",
        "engine_no": "'2ZR' || g", "model_name": f"{models}[1 + (g % {len(MODELS)})]",
        "trim_code": "'SFX' || (g % 9)", "colour": "'珍珠白'",
        "mileage": "(g % 150) * 1000",
        "delivered_on": "current_date - (g % 2500)",
        "first_service_due_on": "CASE WHEN g % 2500 < 90 THEN current_date - (g % 2500) + 90 END",
        "next_service_due_on": "current_date + ((g % 400) - 200)",
        "insurance_expires_on": "current_date + (g % 365)",
        "annual_inspection_on": "current_date + ((g * 3) % 365)",
        "last_visit_on": "current_date - (g % 400)",
        "is_active": "g % 50 <> 0",
        "created_at": "now()", "updated_at": "now()",
    }, f"generate_series(1, {n_vehicles}) AS g")
    timings["vehicles"] = time.perf_counter() - step
    step = time.perf_counter()
    vehicle_of = f"(1 + (g % {n_vehicles}))"
    owner_of_vehicle = f"(((({vehicle_of}) - 1) % {n_customers}) + 1)"
    chunk = 1_000_000
    for offset in range(0, args.visits, chunk):
        count = min(chunk, args.visits - offset)
        insert_select("customers_servicevisit", {
            "id": "g",
            "vehicle_id": vehicle_of,
            "customer_id": owner_of_vehicle,
            "store_id": f"{stores_sql}[1 + ({owner_of_vehicle} % {len(store_ids)})]",
            "repair_type": "(ARRAY['first_service','periodic_service','periodic_service','repair',"
                           "'body_paint','warranty'])[1 + (g % 6)]",
            "amount": "(g % 5000)::numeric", "date_in": "current_date - (g % 1500)",
            "date_out": "current_date - (g % 1500) + (g % 3)",
            "mileage": "(g % 150) * 1000", "advisor_name": "'服务顾问'", "created_at": "now()",
        }, f"generate_series({offset + 1}, {offset + count}) AS g")
    timings["visits"] = time.perf_counter() - step
    step = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for name, table, column in trigram.INDEXES:
            cursor.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")
    timings["trigram indexes"] = time.perf_counter() - step
    with connection.cursor() as cursor:
        for table in ("customers_customer", "customers_vehicle", "customers_servicevisit"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))")
        step = time.perf_counter()
        cursor.execute("VACUUM ANALYZE customers_customer")
        cursor.execute("VACUUM ANALYZE customers_vehicle")
        cursor.execute("VACUUM ANALYZE customers_servicevisit")
        timings["vacuum analyze"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    return timings


def timed(client, url, params, repeat):
    """Median and max of the whole request, and the median of its SQL time (the sum of its
    queries' times as the database driver saw them)."""
    client.get(url, params)
    times, sql_times = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - started) * 1000)
        sql_times.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return (statistics.median(times), max(times), len(queries), response, queries,
            statistics.median(sql_times))


def measure(args, gm, crm):
    sample_customer = Customer.objects.filter(store__in=gm.stores.all()).order_by("id")[
        args.customers // 3]
    sample_vehicle = Vehicle.objects.filter(customer__store=crm.stores.first()).order_by("id")[
        args.vehicles // (3 * args.stores)]
    searches = [
        ("mobile fragment (7 digits)", {"q": sample_customer.mobile[2:9]}),
        ("mobile tail (4 digits)", {"q": sample_customer.mobile[-4:]}),
        ("plate", {"q": sample_vehicle.plate}),
        ("VIN (full)", {"q": sample_vehicle.vin}),
        ("VIN tail (6)", {"q": sample_vehicle.vin[-6:]}),
        ("name", {"q": sample_customer.name}),
        ("no search (first page)", {}),
        ("periodic service due in 30 days", {"due": "periodic_service"}),
    ]
    for label, user in (("general manager, all stores", gm), ("CR manager, one store", crm)):
        client = Client()
        client.force_login(user)
        print(f"\n{label}:")
        for name, params in searches:
            median, worst, queries, response, _captured, sql = timed(
                client, "/customers/", params, args.repeat)
            rows = response.text.count('href="/customers/vehicles/')
            print(f"  search {name:<32} median {median:6.1f} ms  max {worst:6.1f} ms  "
                  f"SQL {sql:6.1f} ms  {queries} queries  ({rows} vehicle links on page)")
        detail_customer = (Customer.objects.filter(store=crm.stores.first())
                           .order_by("id")[args.customers // (3 * args.stores)])
        median, worst, queries, response, captured, sql = timed(
            client, f"/customers/{detail_customer.pk}/", {}, args.repeat)
        visits = ServiceVisit.objects.filter(customer=detail_customer).count()
        print(f"  customer page                          median {median:6.1f} ms  max {worst:6.1f} ms  "
              f"SQL {sql:6.1f} ms  {queries} queries  ({visits} visits)")
        slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:2]
        for query in slowest:
            print(f"    {float(query['time']) * 1000:.1f} ms  {query['sql'][:120]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--vehicles", type=int, default=1_200_000)
    parser.add_argument("--visits", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-fill", action="store_true")
    args = parser.parse_args()
    stores, gm, crm = _setup(args)
    if not args.skip_fill:
        timings = fill(args, stores)
        print("generated: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    print(f"rows: {Customer.objects.count():,} customers, {Vehicle.objects.count():,} vehicles, "
          f"{ServiceVisit.objects.count():,} visits")
    measure(args, gm, crm)


if __name__ == "__main__":
    main()
