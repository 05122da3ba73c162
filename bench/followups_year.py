"""Benchmark of the nightly planner on an existing, filled database (the generated dealer
group of bench/customers_generate.py), without generating anything but callers.

    DATABASE_URL=postgres://.../crm_bench_plan .venv/bin/python bench/followups_year.py \
        --start 2026-12-01 --nights 30

1. Empties the task ledger and the planner's SMS (this database's, nothing else).
2. Runs the planner for `--nights` consecutive nights at 01:00 Beijing time, as beat
   does, printing the first night (an empty ledger: it catches up 7 days), the mean and
   maximum of the following nights, the total and the peak memory of this process.
3. Keeps the planner's rows aside, empties the ledger again and runs a raw SQL reference
   that inserts the same rows: one INSERT ... SELECT per step over the union of the
   nights' windows (each row with the planned day and SMS window of the first night
   that covers it), then one INSERT ... SELECT for all SMS. Both row sets are compared
   with EXCEPT both ways, on every column the planner decides except the assignee (the
   planner balances calls every night; the reference only keeps the customer's owner),
   the SMS status (the planner's nightly expiry marks unsent SMS of earlier nights) and
   the timestamps.

The reference computes its windows with the same pure rules (followups.rules through
Plan._rows_for_dates); that Python time is reported apart from its SQL time.
"""

import argparse
import os
import resource
import sys
import time
from contextlib import nullcontext
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings.base")

import django  # noqa: E402
import time_machine  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection  # noqa: E402

from crm_site.models import Store, User  # noqa: E402
from followups.models import Campaign, CareClass, Channel, Programme, Task  # noqa: E402
from followups.planner import VEHICLE_COLUMNS, Plan, _active_steps, reminders_plan  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
KEY = ("store_id, programme_id, step_id, customer_id, vehicle_id, campaign_id, care_class_id, "
       "due_on, offset_days, planned_on, deadline_on, channel, programme_code")
TASK_KEY = KEY + ", status"
# The change reason of the history rows day_edits writes.
EDIT_REASON = "bench: day edits"
MSG_KEY = ("t.step_id, t.customer_id, t.vehicle_id, t.due_on, m.store_id, m.recipient, "
           "m.sign_name, m.template_code, m.params, m.text, m.purpose, m.not_before, m.expires_at")


def at_one(day):
    return datetime(day.year, day.month, day.day, 1, tzinfo=SH)


def sql(statement, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def ensure_callers(per_store):
    caller = Group.objects.get(name="caller")
    made = 0
    for store in Store.objects.filter(is_active=True):
        if User.objects.filter(stores=store, groups=caller, is_active=True).exists():
            continue
        for n in range(per_store):
            user, created = User.objects.get_or_create(username=f"bench-caller-{store.pk}-{n}")
            user.stores.add(store)
            user.groups.add(caller)
            made += created
    return made


def empty_ledger():
    task_ct = ContentType.objects.get_for_model(Task).pk
    sql("DELETE FROM crm_site_message WHERE content_type_id = %s", [task_ct])
    sql("TRUNCATE followups_task, followups_callattempt, followups_satisfactionanswer, "
        "followups_appointment, followups_plannerrun RESTART IDENTITY CASCADE")
    for table in ("customers_historicalvehicle", "customers_historicalcustomer"):
        sql(f"DELETE FROM {table} WHERE history_change_reason = %s", [EDIT_REASON])
    sql("VACUUM ANALYZE followups_task")
    sql("VACUUM ANALYZE crm_site_message")


def day_sends_sms(day, task_ct):
    """What the sender does during the day (not timed): every planner SMS whose send
    window opens before the next night is sent, so the next night's expiry finds only
    what the day could not send, as in a store whose SMS provider works."""
    return sql("UPDATE crm_site_message SET status = 'sent', sent_at = not_before, attempts = 1 "
               "WHERE status = 'ready' AND content_type_id = %s AND not_before < %s "
               "AND expires_at > not_before", [task_ct, at_one(day + timedelta(days=1))])


def day_edits(n, at):
    """What the day's staff save (not timed): `n` cars and `n` customers, picked at random,
    get a history row at `at` as a save leaves one, their values unchanged (marked with
    EDIT_REASON, which empty_ledger removes). Each night then reads them again on the days
    earlier nights planned, and finds nothing new to plan, so the row sets stay comparable
    with the reference."""
    from customers.models import Customer, Vehicle

    for model in (Vehicle, Customer):
        history = model.history.model
        kept = {f.column for f in history._meta.concrete_fields}
        columns = ", ".join(f.column for f in model._meta.concrete_fields if f.column in kept)
        table = model._meta.db_table
        sql(f"INSERT INTO {history._meta.db_table} ({columns}, history_date, history_type, "
            f"history_change_reason) SELECT {columns}, %s, '~', %s FROM {table} "
            f"WHERE id IN (SELECT id FROM {table} ORDER BY random() LIMIT %s)",
            [at, EDIT_REASON, n])


def run_planner(start, nights, *, sends_sms=False, edits=0):
    timings, tasks, reread = [], 0, []
    task_ct = ContentType.objects.get_for_model(Task).pk
    for night in range(nights):
        day = start + timedelta(days=night)
        # With edits the run lives on a simulated clock (each night at its 01:00, the edits
        # at noon), so "saved since last night" means one day of edits, not every edit of a
        # benchmark whose nights are seconds apart.
        clock = time_machine.travel(at_one(day), tick=True) if edits else nullcontext()
        with clock:
            started = time.perf_counter()
            counts = reminders_plan(day=day, now=at_one(day))
            timings.append(time.perf_counter() - started)
        if night == 0:
            # Not timed: in the day between the first two nights autovacuum analyzes the
            # ledger that grew from empty; nights seconds apart would otherwise plan against
            # the statistics of an empty table until autovacuum comes round.
            sql("ANALYZE followups_task")
        if sends_sms:
            day_sends_sms(day, task_ct)
        if edits:
            day_edits(edits, at_one(day) + timedelta(hours=11))
        tasks += sum(v["tasks"] for v in counts.values() if isinstance(v, dict) and "tasks" in v)
        reread.append((counts["changed"], sum(seconds for name, seconds in counts["seconds"].items()
                                              if name == "changed" or name.endswith(":changed"))))
        if night % 10 == 0 or night == nights - 1:
            slowest = sorted(counts["seconds"].items(), key=lambda kv: -kv[1])[:4]
            print(f"  night {night + 1} {day}: {timings[-1]:.2f} s, {tasks} tasks so far; "
                  f"slowest: {', '.join(f'{k} {v:.2f}' for k, v in slowest)}", flush=True)
    if nights > 1:
        rows, seconds = zip(*reread[1:], strict=True)
        print(f"  re-reading what changed on days earlier nights planned: mean {sum(rows) / len(rows):.0f} "
              f"changed cars and customers, {sum(seconds) / len(seconds):.3f} s a night "
              f"(max {max(seconds):.3f} s)", flush=True)
    return timings, tasks


# -- the raw SQL reference ------------------------------------------------------------------

def reference_windows(start, nights, programmes):
    """{step id: [(store, N, planned, not_before, expires_at, key1, key2, now), ...]}: each
    cycle with the window of the first night that covers it."""
    first = {}
    for night in range(nights):
        day = start + timedelta(days=night)
        plan = Plan(day=day, now=at_one(day))
        for programme in programmes:
            for step in programme.active_steps:
                step.programme = programme
                if step.channel == Channel.LIST:
                    continue
                rows = first.setdefault(step.pk, {})
                for row in plan._rows_for_dates(step):
                    key = (row[0], row[1], row[5], row[6])
                    if key not in rows:
                        rows[key] = (*row, plan.now)
    return {step_id: list(rows.values()) for step_id, rows in first.items()}


def reference_source(programme):
    anchor = programme.anchor
    if anchor in VEHICLE_COLUMNS:
        return (f"JOIN customers_vehicle v ON v.store_id = w.store_id "
                f"AND v.{VEHICLE_COLUMNS[anchor]} = w.due_on AND v.is_active "
                "JOIN customers_customer c ON c.id = v.customer_id")
    if anchor == Programme.Anchor.SERVICE_OUT:
        return ("JOIN customers_servicevisit sv ON sv.store_id = w.store_id AND sv.date_out = w.due_on "
                "AND sv.date_in BETWEEN w.due_on - 60 AND w.due_on "
                "JOIN customers_vehicle v ON v.id = sv.vehicle_id AND v.is_active "
                "JOIN customers_customer c ON c.id = sv.customer_id")
    if anchor == Programme.Anchor.BIRTHDAY:
        return ("JOIN customers_customer c ON c.store_id = w.store_id AND c.birth_date IS NOT NULL "
                "AND EXTRACT(MONTH FROM c.birth_date) = w.key1 AND EXTRACT(DAY FROM c.birth_date) = w.key2 "
                "LEFT JOIN customers_vehicle v ON FALSE")
    return None


def reference_insert(programme, step, rows):
    source = reference_source(programme)
    if source is None or not rows:
        return 0
    first_offset = min(s.offset_days for s in programme.active_steps)
    gates = ["c.is_active", "c.merged_into_id IS NULL"]
    gates += ["c.sms_allowed", "c.mobile <> ''"] if step.channel == Channel.SMS else ["c.call_allowed"]
    if step.only_until_came_in:
        gates += [
            "NOT EXISTS (SELECT 1 FROM followups_task t2 WHERE t2.programme_id = %(programme)s "
            "AND t2.due_on = w.due_on AND t2.customer_id = c.id AND t2.vehicle_id IS NOT DISTINCT FROM v.id "
            "AND t2.outcome_kind IN ('booked', 'refused'))",
            "NOT EXISTS (SELECT 1 FROM followups_appointment a WHERE a.programme_id = %(programme)s "
            "AND a.due_on = w.due_on AND a.customer_id = c.id AND a.vehicle_id IS NOT DISTINCT FROM v.id "
            "AND a.status <> 'cancelled')"]
        if programme.closes_on_visit:
            gates.append("NOT (v.last_visit_on IS NOT NULL AND "
                         f"v.last_visit_on >= w.due_on + {first_offset})")
    sms = step.channel == Channel.SMS
    status = "CASE WHEN w.expires_at <= w.now THEN 'expired' ELSE 'done' END" if sms else "'planned'"
    assignee = ("(SELECT u.id FROM crm_site_user u WHERE u.id = c.owner_id AND u.is_active)"
                if not sms and programme.assign_to_owner else "NULL")
    deadline = f"w.planned_on + {step.due_within_days}" if not sms and step.due_within_days else "NULL"
    statement = f"""
        INSERT INTO followups_task (store_id, programme_id, programme_code, step_id, customer_id,
            vehicle_id, campaign_id, care_class_id, due_on, offset_days, planned_on, deadline_on,
            channel, status, assignee_id, outcome_kind, notes, attempts, cancel_reason,
            created_at, done_at)
        SELECT w.store_id, %(programme)s, %(code)s, %(step)s, c.id, v.id, NULL, NULL, w.due_on,
            %(offset)s, w.planned_on, {deadline}, %(channel)s, {status}, {assignee}, '', '', 0, '',
            w.now, {'w.now' if sms else 'NULL'}
        FROM unnest(%(s)s::bigint[], %(d)s::date[], %(p)s::date[], %(nb)s::timestamptz[],
                    %(ex)s::timestamptz[], %(k1)s::bigint[], %(k2)s::bigint[], %(now)s::timestamptz[])
             AS w(store_id, due_on, planned_on, not_before, expires_at, key1, key2, now)
        {source}
        WHERE {" AND ".join(gates)}
        ON CONFLICT DO NOTHING"""  # two visits of one car out on the same day: one call
    columns = list(zip(*rows, strict=True))
    return sql(statement, {
        "programme": programme.pk, "code": programme.code, "step": step.pk,
        "offset": step.offset_days, "channel": step.channel,
        "s": list(columns[0]), "d": list(columns[1]), "p": list(columns[2]),
        "nb": list(columns[3]), "ex": list(columns[4]), "k1": list(columns[5]),
        "k2": list(columns[6]), "now": list(columns[7])})


def reference_messages(windows, default_sign):
    """All SMS of the reference's tasks in one statement, with the window of each row."""
    store, due, nb, ex, step_ids = [], [], [], [], []
    seen = set()
    for step_id, rows in windows.items():
        for row in rows:
            if row[3] is None or (step_id, row[0], row[1]) in seen:
                continue  # a call; or 28 February keeping the birthdays of the 29th too
            seen.add((step_id, row[0], row[1]))
            store.append(row[0])
            due.append(row[1])
            nb.append(row[3])
            ex.append(row[4])
            step_ids.append(step_id)
    task_ct = ContentType.objects.get_for_model(Task).pk
    params = {"name": "c.name", "plate": "COALESCE(v.plate, '')", "model": "COALESCE(v.model_name, '')",
              "date": "to_char(t.due_on, 'YYYY-MM-DD')", "store": "s.name", "phone": "s.phone"}
    json_sql = "jsonb_build_object(" + ", ".join(f"'{k}', {e}" for k, e in params.items()) + ")"
    text_sql = "st.sms_text"
    for k, e in params.items():
        text_sql = f"replace({text_sql}, '{{{k}}}', COALESCE({e}, ''))"
    statement = f"""
        INSERT INTO crm_site_message (store_id, recipient, sign_name, template_code, params, text,
            purpose, status, not_before, expires_at, attempts, last_error, provider_id, dedupe_key,
            content_type_id, object_id, created_at)
        SELECT t.store_id, c.mobile, COALESCE(NULLIF(s.sms_sign_name, ''), NULLIF(%(sign)s, ''), s.name),
            st.sms_template_code, {json_sql}, {text_sql}, p.code || ':' || st.code, 'ready',
            w.not_before, w.expires_at, 0, '', '', 'followups.task:' || t.id, %(ct)s, t.id, t.created_at
        FROM followups_task t
        JOIN unnest(%(st)s::bigint[], %(s)s::bigint[], %(d)s::date[], %(nb)s::timestamptz[],
                    %(ex)s::timestamptz[]) AS w(step_id, store_id, due_on, not_before, expires_at)
          ON w.step_id = t.step_id AND w.store_id = t.store_id AND w.due_on = t.due_on
        JOIN followups_step st ON st.id = t.step_id
        JOIN followups_programme p ON p.id = t.programme_id
        JOIN customers_customer c ON c.id = t.customer_id
        JOIN crm_site_store s ON s.id = t.store_id
        LEFT JOIN customers_vehicle v ON v.id = t.vehicle_id
        WHERE t.channel = 'sms' AND t.status = 'done'"""
    return sql(statement, {"sign": default_sign, "ct": task_ct, "st": step_ids, "s": store, "d": due,
                           "nb": nb, "ex": ex})


def keep(table, select):
    sql(f"DROP TABLE IF EXISTS {table}")
    sql(f"CREATE TABLE {table} AS {select}")
    return sql(f"SELECT count(*) FROM {table}")[0][0]


def messages_select(task_ct):
    return (f"SELECT {MSG_KEY} FROM crm_site_message m JOIN followups_task t ON t.id = m.object_id "
            f"WHERE m.content_type_id = {task_ct}")


def compare(name, left, right):
    only_left = sql(f"SELECT count(*) FROM (SELECT * FROM {left} EXCEPT ALL SELECT * FROM {right}) x")[0][0]
    only_right = sql(f"SELECT count(*) FROM (SELECT * FROM {right} EXCEPT ALL SELECT * FROM {left}) x")[0][0]
    print(f"  {name}: only in planner {only_left}, only in reference {only_right}"
          f" -> {'EQUAL' if only_left == only_right == 0 else 'DIFFERENT'}")
    return only_left == only_right == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", default="2026-12-01")
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--callers-per-store", type=int, default=6)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--day-sends-sms", action="store_true",
                        help="between nights, mark the SMS the day would send as sent (as a "
                             "working sender does), so each night expires only what is left")
    parser.add_argument("--day-edits", type=int, default=0, metavar="N",
                        help="between nights, N cars and N customers are saved unchanged (a "
                             "history row each, at noon), as the day's staff would leave them; "
                             "the nights then run on a simulated clock")
    parser.add_argument("--reference-kept", type=float, metavar="REFERENCE_SECONDS",
                        help="do not run the reference again: compare with the reference rows "
                             "kept by an earlier run on this database and nights, whose SQL "
                             "took this many seconds")
    parser.add_argument("--reference-only", type=float, metavar="PLANNER_SECONDS",
                        help="compare with the planner rows kept by an earlier run that took "
                             "this many seconds")
    args = parser.parse_args()
    from django.conf import settings

    start = date.fromisoformat(args.start)
    print(f"load average at start: {os.getloadavg()}")
    print(f"vehicles: {sql('SELECT count(*) FROM customers_vehicle')[0][0]}, "
          f"stores: {Store.objects.filter(is_active=True).count()}, "
          f"callers created: {ensure_callers(args.callers_per_store)}", flush=True)
    task_ct = ContentType.objects.get_for_model(Task).pk
    if args.reference_only is None:
        empty_ledger()
        total = planner(args, start)
        if args.skip_reference:
            return
        planner_tasks = keep("bench_planner_tasks", f"SELECT {TASK_KEY} FROM followups_task")
        planner_msgs = keep("bench_planner_messages", messages_select(task_ct))
        print(f"  kept {planner_tasks} tasks, {planner_msgs} SMS of the planner", flush=True)
        if args.reference_kept:
            print(f"planner / kept reference = {total / args.reference_kept:.2f}", flush=True)
            equal = compare("tasks", "bench_planner_tasks", "bench_reference_tasks")
            equal &= compare("SMS", "bench_planner_messages", "bench_reference_messages")
            sys.exit(0 if equal else 1)
    else:
        total = args.reference_only
    reference(args, start, total, task_ct, settings.SMS_SIGN_NAME)


def planner(args, start):
    timings, tasks = run_planner(start, args.nights, sends_sms=args.day_sends_sms,
                                 edits=args.day_edits)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(timings)
    print(f"planner: {args.nights} nights in {total:.1f} s; first night (7 days catch-up) "
          f"{timings[0]:.2f} s; following nights mean "
          f"{sum(timings[1:]) / max(len(timings) - 1, 1):.2f} s, max {max(timings[1:] or [0]):.2f} s; "
          f"{tasks} tasks; peak RSS {peak_mb:.0f} MB; load average {os.getloadavg()}", flush=True)
    following = timings[1:]
    if following:
        by_weekday = {}
        for night, seconds in enumerate(following, start=1):
            by_weekday.setdefault((start + timedelta(days=night)).strftime("%a"), []).append(seconds)
        print("  nights 2..: " + ", ".join(
            f"{name} mean {sum(v) / len(v):.2f} s max {max(v):.2f} s" for name, v in by_weekday.items()))
        slowest = sorted(range(1, len(timings)), key=lambda n: -timings[n])[:5]
        print("  slowest: " + ", ".join(
            f"{start + timedelta(days=n)} {timings[n]:.2f} s" for n in slowest))
        over = sum(1 for seconds in following if seconds >= 5)
        print(f"  nights of 5 s or more: {over} of {len(following)}", flush=True)
    return total


def reference(args, start, total, task_ct, default_sign):
    if Campaign.objects.exists() or CareClass.objects.exists():
        print("  note: campaigns or care classes exist; the reference does not plan them")
    empty_ledger()
    programmes = list(Programme.objects.filter(is_active=True).prefetch_related(_active_steps()))
    started = time.perf_counter()
    windows = reference_windows(start, args.nights, programmes)
    python_s = time.perf_counter() - started
    started = time.perf_counter()
    inserted = 0
    for programme in programmes:
        for step in programme.active_steps:
            if step.pk in windows:
                inserted += reference_insert(programme, step, windows[step.pk])
    messages = reference_messages(windows, default_sign)
    sql_s = time.perf_counter() - started
    print(f"reference: {inserted} tasks, {messages} SMS in {sql_s:.1f} s of SQL "
          f"(+ {python_s:.1f} s computing windows); planner / reference = {total / sql_s:.2f} "
          f"(with window time {total / (sql_s + python_s):.2f}); load average {os.getloadavg()}",
          flush=True)
    keep("bench_reference_tasks", f"SELECT {TASK_KEY} FROM followups_task")
    keep("bench_reference_messages", messages_select(task_ct))
    equal = compare("tasks", "bench_planner_tasks", "bench_reference_tasks")
    equal &= compare("SMS", "bench_planner_messages", "bench_reference_messages")
    sys.exit(0 if equal else 1)


if __name__ == "__main__":
    main()
