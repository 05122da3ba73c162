# ruff: noqa: S608 - the SQL is assembled from table names and fixed fragments only;
# every value travels as a query parameter.
"""The nightly planner: decides who must be reminded, invited or called, set-based.

For each active step of each active programme one INSERT ... SELECT ... ON CONFLICT DO
NOTHING joins a small table of (store, N, planned day, SMS window) rows, computed in
Python from the store calendar by the pure rules, against the indexed due-date columns.
SMS tasks queue their outbox message in the same statement (a data-modifying CTE), so
a task never exists without its message nor a message twice. Nothing loops per vehicle.

Running it twice, or twice at once, creates each row once (the ledger's unique
constraints); a night that did not run is caught up by the next (`catch_up_days`); an
SMS whose send window has passed is recorded expired and never queued.

Each run is recorded (PlannerRun) with the nominal dates it covered. On a date a
finished run already covered, a later run reads only the cars and customers changed
since that run started (their history rows, and the history of their appointments):
a car entered late, a due date moved, a consent given again. Everything else on that
date was planned already; reading it again would only find its rows in the ledger.
Dates no finished run covered (the night did not run, or was killed) are planned in
full, and so is every date for a step or programme edited since.
"""

import logging
import time
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from crm_site.models import Activity, Message, Store, User
from crm_site.roles import Role
from crm_site.selectors import store_calendars
from crm_site.services import messages_expire, stores_unplanned_report
from customers import rules as customer_rules
from customers.models import Customer, ServiceVisit, Vehicle

from . import rules
from .models import (
    Appointment,
    Campaign,
    CampaignMember,
    CancelReason,
    CareClass,
    Channel,
    ClassInvitation,
    FollowupSettings,
    Outcome,
    PlannerRun,
    Programme,
    Step,
    Task,
)

logger = logging.getLogger(__name__)

CALLER_ROLES = (Role.CALLER, Role.CR_SPECIALIST)
OPEN = ("planned", "retry")

VEHICLE_COLUMNS = {
    Programme.Anchor.DELIVERY: "delivered_on",
    Programme.Anchor.FIRST_SERVICE: "first_service_due_on",
    Programme.Anchor.NEXT_SERVICE: "next_service_due_on",
    Programme.Anchor.INSURANCE: "insurance_expires_on",
}
# The session table the night's calls are staged in before one insert (insert_calls).
STAGE = "followups_plan_calls"
# The session table of the cars and customers changed since the runs this one follows.
CHANGED = "followups_plan_changed"
# A change saved this long before a run started may still have been uncommitted while
# it read (an import's long transaction): it is read again by the runs after it.
RECHECK_MARGIN = timedelta(hours=1)
# Finished runs this many days either side of the planned day may have covered its dates.
COVER_SPAN_DAYS = 40
# A car leaves the workshop within this many days of coming in (longer stays get no
# follow-up call).
SERVICE_STAY_DAYS = 60


def _t(model):
    return connection.ops.quote_name(model._meta.db_table)


def _v(code):
    """A code of the models' choices (a status, channel, outcome kind) as an SQL literal:
    the SQL takes its codes from the same Python enums as the ORM, never a spelling of
    its own. Only choice codes (letters and underscores) are accepted."""
    value = str(code.value if hasattr(code, "value") else code)
    if not value.replace("_", "").isalpha():
        raise ValueError(f"not a choice code: {value!r}")
    return f"'{value}'"


OPEN_SQL = f"({_v(Task.Status.PLANNED)}, {_v(Task.Status.RETRY)})"


def _local(naive, tz):
    return naive.replace(tzinfo=ZoneInfo(tz))


class Plan:
    """One run of the planner for `day` (the store-local date) at `now`."""

    def __init__(self, *, day, now, stores=None):
        self.day = day
        self.now = now
        self.cfg = FollowupSettings.current()
        stores = list(stores if stores is not None else Store.objects.filter(is_active=True))
        # Calls follow the days the call centre works.
        self.calendars = store_calendars(stores, Activity.CALLS)
        self.counts = {}
        self.task_ct = ContentType.objects.get_for_model(Task).pk
        # {(store, channel): {nominal: planned}}: what this run plans, per store and channel.
        # A store without a usable calendar is left out and reported; the others are planned.
        self.windows, self.stores, self.skipped = {}, [], []
        for store in stores:
            try:
                if not self.calendars[store.pk].is_usable:
                    raise ValueError("no opening hours")
                windows = {
                    (store.pk, channel): rules.planning_window(
                        self.day, self.cfg.catch_up_days, channel, self.calendars[store.pk],
                        self.cfg.call_lookahead_days)
                    for channel in (Channel.CALL, Channel.SMS)}
            except ValueError as error:
                self.skipped.append((store, str(error)))
                continue
            self.windows.update(windows)
            self.stores.append(store)
        self.started_at = timezone.now()
        self.covered = self._covered_dates()
        self.changed_rows = 0

    # -- what finished runs covered ---------------------------------------------------------

    def _covered_dates(self):
        """{(store, channel): {nominal date of this run's window: start of the latest
        finished run that covered it}}."""
        span = timedelta(days=COVER_SPAN_DAYS)
        runs = PlannerRun.objects.filter(finished_at__isnull=False,
                                         day__range=(self.day - span, self.day + span))
        covered = {}
        for started_at, recorded in runs.values_list("started_at", "windows"):
            for store_key, channels in recorded.items():
                for channel, (first, last) in channels.items():
                    key = (int(store_key), channel)
                    if key not in self.windows:
                        continue  # a store this run does not plan
                    first, last = date.fromisoformat(first), date.fromisoformat(last)
                    dates = covered.setdefault(key, {})
                    for nominal in self.windows[key]:
                        if first <= nominal <= last:
                            dates[nominal] = max(started_at, dates.get(nominal, started_at))
        return covered

    def _windows_record(self):
        """The nominal dates this run covers, per store and channel, as PlannerRun keeps them."""
        record = {}
        for (store_id, channel), window in self.windows.items():
            record.setdefault(str(store_id), {})[channel] = [min(window).isoformat(),
                                                             max(window).isoformat()]
        return record

    def _steps_changed_at(self, programmes):
        """{step id: when it or its programme was last edited} (their history rows)."""
        step_ids = [step.pk for programme in programmes for step in programme.active_steps]
        steps = dict(Step.history.filter(id__in=step_ids).values_list("id")
                     .annotate(at=Max("history_date")).values_list("id", "at"))
        progs = dict(Programme.history.filter(id__in=[p.pk for p in programmes])
                     .values_list("id").annotate(at=Max("history_date")).values_list("id", "at"))
        changed = {}
        for programme in programmes:
            for step in programme.active_steps:
                times = [t for t in (steps.get(step.pk), progs.get(programme.pk)) if t]
                changed[step.pk] = max(times) if times else None
        return changed

    def split_covered(self, step, rows, changed_at):
        """(rows to plan in full, rows a finished run covered, each with the time from
        which changes are read again). Only date-anchored steps of cars and birthdays are
        split; visits, campaigns and classes are read in full every night."""
        anchor = step.programme.anchor
        if anchor not in VEHICLE_COLUMNS and anchor != Programme.Anchor.BIRTHDAY:
            return [(*row, None) for row in rows], []
        channel = Channel.CALL if step.channel == Channel.CALL else Channel.SMS
        fresh, covered = [], []
        for row in rows:
            nominal = rules.nominal_date(row[1], step.offset_days)
            latest = self.covered.get((row[0], channel), {}).get(nominal)
            if latest is not None and (changed_at is None or latest > changed_at):
                covered.append((*row, latest - RECHECK_MARGIN))
            else:
                fresh.append((*row, None))
        return fresh, covered

    def stage_changed(self):
        """The cars and customers changed since the oldest of the latest finished runs
        that covered this run's dates (usually last night's), from their history rows
        (and their appointments'), in one session table."""
        starts = [at for dates in self.covered.values() for at in dates.values()]
        if not starts:
            return 0
        since = min(starts) - RECHECK_MARGIN
        vehicle, customer = _t(Vehicle), _t(Customer)
        with connection.cursor() as cursor:
            # Each car with its store and due dates as they are now, so a step joins
            # its window days straight against this table and reads only the cars due.
            dates = list(VEHICLE_COLUMNS.values())
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {CHANGED} "
                           "(vehicle_id bigint, customer_id bigint, changed_at timestamptz, "
                           f"store_id bigint, {', '.join(d + ' date' for d in dates)})")
            cursor.execute(f"TRUNCATE {CHANGED}")
            cursor.execute(f"""
                INSERT INTO {CHANGED} (vehicle_id, customer_id, changed_at, store_id, {', '.join(dates)})
                SELECT x.vehicle_id, x.customer_id, x.changed_at, v.store_id,
                       {", ".join("v." + d for d in dates)}
                FROM (SELECT vehicle_id, customer_id, max(changed_at) AS changed_at FROM (
                    SELECT v.id AS vehicle_id, v.customer_id, h.history_date AS changed_at
                    FROM {_t(Vehicle.history.model)} h JOIN {vehicle} v ON v.id = h.id
                    WHERE h.history_date >= %(since)s
                    UNION ALL
                    SELECT v.id, c.id, h.history_date
                    FROM {_t(Customer.history.model)} h JOIN {customer} c ON c.id = h.id
                    LEFT JOIN {vehicle} v ON v.customer_id = c.id
                    WHERE h.history_date >= %(since)s
                    UNION ALL
                    SELECT v.id, v.customer_id, h.history_date
                    FROM {_t(Appointment.history.model)} h JOIN {vehicle} v ON v.id = h.vehicle_id
                    WHERE h.history_date >= %(since)s) changes
                GROUP BY vehicle_id, customer_id) x
                LEFT JOIN {vehicle} v ON v.id = x.vehicle_id""", {"since": since})
            self.changed_rows = cursor.rowcount
            cursor.execute(f"ANALYZE {CHANGED}")
        return self.changed_rows

    # -- windows -------------------------------------------------------------------------

    def _window(self, store, channel):
        return self.windows[(store.pk, Channel.CALL if channel == Channel.CALL else Channel.SMS)]

    def _sms_times(self, store, planned, step, due_on):
        """The SMS send window, ending at the latest when the step's window ends."""
        not_before, expires_at = rules.sms_send_window(
            planned, store.sms_window_start, store.sms_window_end,
            valid_days=self.cfg.sms_valid_days)
        window_ends = datetime.combine(
            rules.expires_on(due_on, self._window_end(step), planned) + timedelta(days=1), dt_time())
        return (_local(not_before, store.time_zone),
                _local(min(expires_at, window_ends), store.time_zone))

    def _rows_for_dates(self, step):
        """(store, N, planned, not_before, expires_at, key1, key2) for date-anchored steps."""
        rows = []
        channel = Channel.CALL if step.channel == Channel.CALL else Channel.SMS
        for store in self.stores:
            window = self._window(store, channel)
            for due_on, (_nominal, planned) in rules.due_dates_for(window, step.offset_days).items():
                nb, ex = (self._sms_times(store, planned, step, due_on) if channel == Channel.SMS
                          else (None, None))
                if step.programme.anchor == Programme.Anchor.BIRTHDAY:
                    for month, dom in rules.birthday_keys(due_on):
                        rows.append((store.pk, due_on, planned, nb, ex, month, dom))
                else:
                    rows.append((store.pk, due_on, planned, nb, ex, None, None))
        return rows

    def _rows_for_campaigns(self, step):
        rows = []
        stores = {store.pk: store for store in self.stores}
        horizon = self.day + timedelta(days=60)
        campaigns = Campaign.objects.filter(
            programme=step.programme, store__in=stores,
            date__gte=self.day - timedelta(days=self.cfg.catch_up_days + step.offset_days),
            date__lte=horizon - timedelta(days=step.offset_days),
        ).exclude(status=Campaign.Status.CLOSED)
        for campaign in campaigns:
            store = stores[campaign.store_id]
            window = self._window(store, step.channel)
            nominal = rules.nominal_date(campaign.date, step.offset_days)
            if nominal in window:
                planned = window[nominal]
                nb, ex = (self._sms_times(store, planned, step, campaign.date)
                          if step.channel == Channel.SMS else (None, None))
                rows.append((store.pk, campaign.date, planned, nb, ex, campaign.pk, None))
        return rows

    def _rows_for_classes(self, step):
        rows = []
        stores = {store.pk: store for store in self.stores}
        first = self.day - timedelta(days=self.cfg.catch_up_days + step.offset_days + 1)
        last = self.day + timedelta(days=15 - step.offset_days)
        classes = CareClass.objects.filter(
            programme=step.programme, store__in=stores, is_cancelled=False,
            starts_at__date__gte=first, starts_at__date__lte=last)
        for care_class in classes:
            store = stores[care_class.store_id]
            tz = ZoneInfo(store.time_zone)
            local_start = timezone.localtime(care_class.starts_at, tz).replace(tzinfo=None)
            due_on = local_start.date()
            window = self._window(store, step.channel)
            nominal = rules.nominal_date(due_on, step.offset_days)
            if nominal not in window:
                continue
            planned = window[nominal]
            nb = ex = None
            if step.channel == Channel.SMS:
                if step.offset_minutes is not None:
                    nb, ex = rules.timed_sms_window(
                        local_start + timedelta(days=step.offset_days), step.offset_minutes,
                        store.sms_window_start, store.sms_window_end)
                    nb, ex, planned = _local(nb, store.time_zone), care_class.starts_at, nb.date()
                else:
                    nb, ex = self._sms_times(store, planned, step, due_on)
                    ex = min(ex, care_class.starts_at)
            rows.append((store.pk, due_on, planned, nb, ex, care_class.pk, None))
        return rows

    # -- the SQL of one step ---------------------------------------------------------------

    def _source(self, step, covered=False):
        """FROM/JOIN clause and conditions producing v (vehicle or NULL) and c (customer).
        `covered`: the window's dates were covered by a finished run; only the cars or
        customers changed since (w.since, the CHANGED table) are read."""
        anchor = step.programme.anchor
        vehicle, customer = _t(Vehicle), _t(Customer)
        if covered and anchor in VEHICLE_COLUMNS:
            column = VEHICLE_COLUMNS[anchor]
            return (f"JOIN {CHANGED} ch ON ch.store_id = w.store_id AND ch.{column} = w.due_on "
                    "AND ch.changed_at >= w.since "
                    f"JOIN {vehicle} v ON v.id = ch.vehicle_id AND v.store_id = w.store_id "
                    f"AND v.{column} = w.due_on "
                    f"JOIN {customer} c ON c.id = v.customer_id", "v.is_active", "NULL", "NULL")
        if covered and anchor == Programme.Anchor.BIRTHDAY:
            return (f"JOIN (SELECT customer_id, max(changed_at) AS changed_at FROM {CHANGED} "
                    "GROUP BY customer_id) ch ON ch.changed_at >= w.since "
                    f"JOIN {customer} c ON c.id = ch.customer_id AND c.store_id = w.store_id "
                    "AND c.birth_date IS NOT NULL "
                    "AND EXTRACT(MONTH FROM c.birth_date) = w.key1 "
                    "AND EXTRACT(DAY FROM c.birth_date) = w.key2 "
                    f"LEFT JOIN {vehicle} v ON FALSE", "TRUE", "NULL", "NULL")
        # The ranges over the window's dates (due_min .. due_max) let PostgreSQL read the
        # (store, date) indexes instead of hashing the whole table against the window.
        if anchor in VEHICLE_COLUMNS:
            # The cars due on each window day, less those an earlier night planned (the
            # catch-up days), before any customer row is read (OFFSET 0 keeps that order).
            column = VEHICLE_COLUMNS[anchor]
            return (f"JOIN LATERAL (SELECT v0.* FROM {vehicle} v0 WHERE v0.store_id = w.store_id "
                    f"AND v0.{column} = w.due_on AND v0.{column} BETWEEN %(due_min)s AND %(due_max)s "
                    f"AND NOT EXISTS (SELECT 1 FROM {_t(Task)} t0 WHERE t0.step_id = %(step)s "
                    "AND t0.vehicle_id = v0.id AND t0.due_on = w.due_on) OFFSET 0) v ON TRUE "
                    f"JOIN {customer} c ON c.id = v.customer_id", "v.is_active", "NULL", "NULL")
        if anchor == Programme.Anchor.SERVICE_OUT:
            visit = _t(ServiceVisit)
            return (f"JOIN {visit} sv ON sv.store_id = w.store_id AND sv.date_out = w.due_on "
                    "AND sv.date_out BETWEEN %(due_min)s AND %(due_max)s "
                    f"AND sv.date_in BETWEEN w.due_on - {SERVICE_STAY_DAYS} AND w.due_on "
                    f"JOIN {vehicle} v ON v.id = sv.vehicle_id "
                    f"JOIN {customer} c ON c.id = sv.customer_id", "v.is_active", "NULL", "NULL")
        if anchor == Programme.Anchor.CAMPAIGN:
            member = _t(CampaignMember)
            return (f"JOIN {member} m ON m.campaign_id = w.key1 "
                    f"JOIN {vehicle} v ON v.id = m.vehicle_id "
                    f"JOIN {customer} c ON c.id = m.customer_id",
                    "v.is_active AND m.came_in_on IS NULL", "w.key1", "NULL")
        if anchor == Programme.Anchor.CARE_CLASS:
            invitation = _t(ClassInvitation)
            reply = "'pending'" if step.channel == Channel.CALL else "'accepted'"
            return (f"JOIN {invitation} i ON i.care_class_id = w.key1 AND i.reply = {reply} "
                    f"JOIN {customer} c ON c.id = i.customer_id "
                    f"LEFT JOIN {vehicle} v ON FALSE", "TRUE", "NULL", "w.key1")
        if anchor == Programme.Anchor.APPOINTMENT:
            # Appointments marked no-show (appointments_mark_no_show), by their day.
            appointment = _t(Appointment)
            return (f"JOIN {appointment} a ON a.store_id = w.store_id AND a.booked_for = w.due_on "
                    "AND a.booked_for BETWEEN %(due_min)s AND %(due_max)s "
                    f"AND a.status = {_v(Appointment.Status.NO_SHOW)} "
                    f"JOIN {customer} c ON c.id = a.customer_id "
                    f"LEFT JOIN {vehicle} v ON v.id = a.vehicle_id",
                    "(v.id IS NULL OR v.is_active)", "NULL", "NULL")
        if anchor == Programme.Anchor.BIRTHDAY:
            return (f"JOIN {customer} c ON c.store_id = w.store_id AND c.birth_date IS NOT NULL "
                    "AND EXTRACT(MONTH FROM c.birth_date) = w.key1 "
                    "AND EXTRACT(DAY FROM c.birth_date) = w.key2 "
                    f"LEFT JOIN {vehicle} v ON FALSE", "TRUE", "NULL", "NULL")
        raise ValueError(f"unknown anchor {anchor}")

    def _text_sql(self, step):
        """SQL expressions of the SMS parameters and the rendered text."""
        params = {
            "name": "c.name",
            "plate": "COALESCE(v.plate, '')",
            "model": "COALESCE(v.model_name, '')",
            "date": "to_char(ins.due_on, 'YYYY-MM-DD')",
            "store": "s.name",
            "phone": "s.phone",
        }
        anchor = step.programme.anchor
        if anchor == Programme.Anchor.CAMPAIGN:
            params["offer"] = f"(SELECT offer FROM {_t(Campaign)} WHERE id = ins.campaign_id)"
        if anchor == Programme.Anchor.CARE_CLASS:
            params["time"] = ("(SELECT to_char(starts_at AT TIME ZONE s.time_zone, 'HH24:MI') "
                              f"FROM {_t(CareClass)} WHERE id = ins.care_class_id)")
        json_sql = "jsonb_build_object(" + ", ".join(
            f"'{key}', {expr}" for key, expr in params.items()) + ")"
        text_sql = "%(sms_text)s"
        for key, expr in params.items():
            text_sql = f"replace({text_sql}, '{{{key}}}', COALESCE({expr}, ''))"
        return json_sql, text_sql

    def _first_offset(self, programme):
        return min((s.offset_days for s in programme.active_steps), default=0)

    def _window_end(self, step):
        """The last day (from N) the step's task may be worked (Step.window_end)."""
        return step.window_end([s.offset_days for s in step.programme.active_steps
                                if s.pk != step.pk])

    def plan_step(self, step, rows, covered=False):
        """Plan one step over window rows (store, N, planned, not_before, expires_at, key1,
        key2, since); `covered`: rows a finished run covered (see _source)."""
        if not rows:
            return 0
        programme = step.programme
        source, condition, campaign_sql, class_sql = self._source(step, covered)
        appointment, task = _t(Appointment), _t(Task)
        gates = [condition, "c.is_active", "c.merged_into_id IS NULL"]
        # Rows an earlier night already planned (the catch-up days) leave first, through
        # the ledger's unique index, before the other checks and the insert look at them.
        if programme.anchor in VEHICLE_COLUMNS and not covered:
            pass  # in the source already
        elif programme.anchor == Programme.Anchor.APPOINTMENT:
            gates.insert(0, f"NOT EXISTS (SELECT 1 FROM {task} t0 WHERE t0.step_id = %(step)s "
                            "AND t0.customer_id = c.id AND t0.vehicle_id IS NOT DISTINCT FROM v.id "
                            "AND t0.due_on = w.due_on)")
        elif programme.anchor in (Programme.Anchor.CARE_CLASS, Programme.Anchor.BIRTHDAY):
            gates.insert(0, f"NOT EXISTS (SELECT 1 FROM {task} t0 WHERE t0.step_id = %(step)s "
                            "AND t0.customer_id = c.id AND t0.vehicle_id IS NULL "
                            "AND t0.due_on = w.due_on)")
        else:
            gates.insert(0, f"NOT EXISTS (SELECT 1 FROM {task} t0 WHERE t0.step_id = %(step)s "
                            "AND t0.vehicle_id = v.id AND t0.due_on = w.due_on)")
        if step.channel == Channel.SMS:
            gates += ["c.sms_allowed", "c.mobile <> ''"]
        else:
            gates += ["c.call_allowed"]
        if step.only_until_came_in:
            # Skip cycles already closed: the customer booked or refused on an earlier
            # step, or (for programmes a visit ends) the car came in since the cycle began.
            gates.append(
                f"NOT EXISTS (SELECT 1 FROM {task} t2 WHERE t2.programme_id = %(programme)s "
                "AND t2.due_on = w.due_on AND t2.customer_id = c.id "
                "AND t2.vehicle_id IS NOT DISTINCT FROM v.id "
                f"AND t2.outcome_kind IN ({_v(Outcome.Kind.BOOKED)}, {_v(Outcome.Kind.REFUSED)}))")
            gates.append(
                f"NOT EXISTS (SELECT 1 FROM {appointment} a WHERE a.programme_id = %(programme)s "
                "AND a.due_on = w.due_on AND a.customer_id = c.id "
                "AND a.vehicle_id IS NOT DISTINCT FROM v.id "
                f"AND a.status <> {_v(Appointment.Status.CANCELLED)})")
            if programme.closes_on_visit and programme.closing_kinds:
                # Only a visit of a kind that closes the programme ends the cycle.
                gates.append(
                    f"NOT (v.last_visit_on IS NOT NULL AND v.last_visit_on >= w.due_on + "
                    f"%(first_offset)s AND EXISTS (SELECT 1 FROM {_t(ServiceVisit)} sv "
                    "WHERE sv.vehicle_id = v.id AND sv.date_in >= w.due_on + %(first_offset)s "
                    "AND sv.repair_type = ANY(%(closing_kinds)s)))")
            elif programme.closes_on_visit:
                gates.append("NOT (v.last_visit_on IS NOT NULL AND "
                             "v.last_visit_on >= w.due_on + %(first_offset)s)")
        if step.channel == Channel.SMS:
            status = (f"CASE WHEN w.expires_at <= %(now)s THEN {_v(Task.Status.EXPIRED)} "
                      f"ELSE {_v(Task.Status.DONE)} END")
            assignee = "NULL"
        elif programme.assign_to_owner:
            status = _v(Task.Status.PLANNED)
            assignee = f"(SELECT u.id FROM {_t(User)} u WHERE u.id = c.owner_id AND u.is_active)"
        else:
            status, assignee = _v(Task.Status.PLANNED), "NULL"
        deadline = ("w.planned_on + %(within)s" if step.channel == Channel.CALL and step.due_within_days
                    else "NULL")
        # The call's window (rules.expires_on): N + the step's window end, never before
        # its planned day. SMS are done or expired when written.
        expires = ("GREATEST(w.due_on + %(window_end)s, w.planned_on)"
                   if step.channel == Channel.CALL else "NULL")
        insert = f"""
            INSERT INTO {task} (store_id, programme_id, programme_code, step_id, customer_id,
                vehicle_id, campaign_id, care_class_id, due_on, offset_days, planned_on,
                deadline_on, expires_on, channel, status, assignee_id, outcome_kind, notes,
                attempts, cancel_reason, created_at, done_at)
            SELECT w.store_id, %(programme)s, %(code)s, %(step)s, c.id, v.id, {campaign_sql},
                {class_sql}, w.due_on, %(offset)s, w.planned_on, {deadline}, {expires}, %(channel)s,
                {status}, {assignee}, '', '', 0, '', %(now)s,
                CASE WHEN %(channel)s = {_v(Channel.SMS)} THEN %(now)s END
            FROM w {source}
            WHERE {" AND ".join(gates)}
            ON CONFLICT DO NOTHING
            RETURNING id, store_id, customer_id, vehicle_id, campaign_id, care_class_id,
                due_on, planned_on, status
        """
        window = """
            WITH w AS (SELECT * FROM unnest(%(w_store)s::bigint[], %(w_due)s::date[],
                %(w_planned)s::date[], %(w_nb)s::timestamptz[], %(w_ex)s::timestamptz[],
                %(w_key1)s::bigint[], %(w_key2)s::bigint[], %(w_since)s::timestamptz[])
                AS w(store_id, due_on, planned_on, not_before, expires_at, key1, key2, since))
        """
        params = {
            "w_store": [r[0] for r in rows], "w_due": [r[1] for r in rows],
            "w_planned": [r[2] for r in rows], "w_nb": [r[3] for r in rows],
            "w_ex": [r[4] for r in rows], "w_key1": [r[5] for r in rows],
            "w_key2": [r[6] for r in rows], "w_since": [r[7] for r in rows],
            "programme": programme.pk, "code": programme.code, "step": step.pk,
            "offset": step.offset_days, "channel": step.channel, "now": self.now,
            "within": step.due_within_days, "first_offset": self._first_offset(programme),
            "window_end": self._window_end(step),
            "closing_kinds": list(programme.closing_kinds),
            "due_min": min(r[1] for r in rows), "due_max": max(r[1] for r in rows),
        }
        if step.channel == Channel.SMS:
            json_sql, text_sql = self._text_sql(step)
            key = {
                Programme.Anchor.CAMPAIGN: ("w.key1", "ins.campaign_id"),
                Programme.Anchor.CARE_CLASS: ("w.key1", "ins.care_class_id"),
            }.get(programme.anchor, ("0", "0"))
            # One send window per (store, N, campaign or class): 28 February carries
            # two birthday keys with the same window.
            sql = f"""{window}, ins AS ({insert}),
                wd AS (SELECT DISTINCT w.store_id, w.due_on, COALESCE({key[0]}, 0) AS key,
                              w.not_before, w.expires_at FROM w),
                timed AS (SELECT ins.*, wd.not_before, wd.expires_at
                          FROM ins JOIN wd ON wd.store_id = ins.store_id AND wd.due_on = ins.due_on
                          AND wd.key = COALESCE({key[1]}, 0) WHERE ins.status = {_v(Task.Status.DONE)}),
                msg AS (
                INSERT INTO {_t(Message)} (store_id, recipient, sign_name, template_code, params,
                    text, purpose, status, not_before, expires_at, attempts, last_error,
                    provider_id, dedupe_key, content_type_id, object_id, created_at)
                SELECT ins.store_id, c.mobile,
                    COALESCE(NULLIF(s.sms_sign_name, ''), NULLIF(%(default_sign)s, ''), s.name),
                    %(template)s, {json_sql}, {text_sql}, %(purpose)s, {_v(Message.Status.READY)},
                    ins.not_before, ins.expires_at, 0, '', '',
                    'followups.task:' || ins.id, %(task_ct)s, ins.id, %(now)s
                FROM timed ins
                JOIN {_t(Customer)} c ON c.id = ins.customer_id
                JOIN {_t(Store)} s ON s.id = ins.store_id
                LEFT JOIN {_t(Vehicle)} v ON v.id = ins.vehicle_id
                ON CONFLICT DO NOTHING
                RETURNING 1)
                SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM msg)"""
            params.update({
                "default_sign": settings.SMS_SIGN_NAME, "template": step.sms_template_code,
                "purpose": f"{programme.code}:{step.code}", "task_ct": self.task_ct,
                "sms_text": step.sms_text,
            })
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                inserted, sent = cursor.fetchone()
            counts = self.counts.setdefault(f"{programme.code}:{step.code}", {"tasks": 0, "sms": 0})
            counts["tasks"] += inserted
            counts["sms"] += sent
            return inserted
        # Calls are staged and written once for all steps by insert_calls(), each with its
        # caller already decided, so no second write of every new row hands them out.
        staged = insert.replace(f"INSERT INTO {task} (", f"INSERT INTO {STAGE} (", 1)
        staged = staged[:staged.index("ON CONFLICT DO NOTHING")]
        with connection.cursor() as cursor:
            cursor.execute(f"{window} {staged}", params)
            staged_rows = cursor.rowcount
        self.counts.setdefault(f"{programme.code}:{step.code}", {"tasks": 0})
        return staged_rows

    def stage_calls(self):
        """An empty session table for the night's calls (PostgreSQL only)."""
        with connection.cursor() as cursor:
            cursor.execute(f"""
                CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (
                    seq bigserial, store_id bigint, programme_id bigint,
                    programme_code varchar(40), step_id bigint, customer_id bigint,
                    vehicle_id bigint, campaign_id bigint, care_class_id bigint, due_on date,
                    offset_days smallint, planned_on date, deadline_on date, expires_on date,
                    channel varchar(10), status varchar(10), assignee_id bigint,
                    outcome_kind varchar(20), notes text, attempts smallint,
                    cancel_reason varchar(20), created_at timestamptz, done_at timestamptz)""")
            cursor.execute(f"TRUNCATE {STAGE}")

    def insert_calls(self):
        """Write the staged calls of a programme in one INSERT ... ON CONFLICT DO
        NOTHING. A customer's owner keeps theirs; the others go to the store's callers so
        loads end even (rules.balance_counts), most urgent first, as tasks_assign_balanced
        would hand them out afterwards."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT store_id, count(*) FROM {STAGE} WHERE assignee_id IS NULL "
                           "GROUP BY store_id")
            unassigned = dict(cursor.fetchall())
        bounds = _balanced_bounds(list(unassigned), unassigned) if unassigned else []
        columns = ("store_id, programme_id, programme_code, step_id, customer_id, vehicle_id, "
                   "campaign_id, care_class_id, due_on, offset_days, planned_on, deadline_on, "
                   "expires_on, channel, status, assignee_id, outcome_kind, notes, attempts, cancel_reason, "
                   "created_at, done_at")
        picked = columns.replace("assignee_id", "COALESCE(p.assignee_id, b.user_id)").replace(
            "store_id, programme_id", "p.store_id, programme_id", 1)
        sql = f"""
            INSERT INTO {_t(Task)} ({columns})
            SELECT {picked}
            FROM (SELECT *, CASE WHEN assignee_id IS NULL THEN row_number() OVER (
                             PARTITION BY store_id, assignee_id IS NULL
                             ORDER BY planned_on, due_on, seq) END AS rn
                  FROM {STAGE}) p
            LEFT JOIN unnest(%(b_store)s::bigint[], %(b_user)s::bigint[], %(b_lo)s::int[],
                             %(b_hi)s::int[]) AS b(store_id, user_id, lo, hi)
              ON b.store_id = p.store_id AND p.rn BETWEEN b.lo AND b.hi
            ORDER BY p.seq
            ON CONFLICT DO NOTHING
            RETURNING step_id"""
        with connection.cursor() as cursor:
            cursor.execute(sql, {
                "b_store": [b[0] for b in bounds], "b_user": [b[1] for b in bounds],
                "b_lo": [b[2] for b in bounds], "b_hi": [b[3] for b in bounds]})
            per_step = {}
            for (step_id,) in cursor.fetchall():
                per_step[step_id] = per_step.get(step_id, 0) + 1
            cursor.execute(f"TRUNCATE {STAGE}")
        self.counts["assigned"] = self.counts.get("assigned", 0) + sum(
            hi - lo + 1 for _store, _user, lo, hi in bounds)
        return per_step

    # -- the other set-based jobs -----------------------------------------------------------

    def draw_campaigns(self, programmes):
        """Draw the audience of recall campaigns whose list day has come (set-based)."""
        drawn = 0
        for programme in programmes:
            if programme.anchor != Programme.Anchor.CAMPAIGN:
                continue
            list_steps = [s for s in programme.active_steps if s.channel == Channel.LIST]
            offset = min((s.offset_days for s in list_steps), default=None)
            if offset is None:
                continue
            due = Campaign.objects.filter(
                programme=programme, store__in=self.stores, status=Campaign.Status.PLANNED,
                date__lte=self.day - timedelta(days=offset))
            for campaign in due:
                drawn += campaign_draw(campaign=campaign, on=self.day, now=self.now)
        return drawn

    def close_cycles(self):
        """The nightly safety net behind the "visit recorded" hook: cars whose last visit
        falls in the nights this run covers."""
        since = self.day - timedelta(days=self.cfg.catch_up_days + 1)
        return cycles_close_on_visit(visited_since=since, now=self.now)

    def assign(self):
        """Open calls without an assignee go to the store's callers, balanced by load."""
        unassigned = dict(
            Task.objects.filter(store__in=self.stores, channel=Channel.CALL, status__in=OPEN,
                                assignee__isnull=True)
            .values_list("store").annotate(n=Count("id")).values_list("store", "n"))
        if not unassigned:
            return 0
        return tasks_assign_balanced(store_ids=list(unassigned), counts=unassigned)

    def run(self, programmes=None):
        programmes = list(programmes if programmes is not None else
                          Programme.objects.filter(is_active=True).prefetch_related(
                              _active_steps()))
        run = PlannerRun.objects.create(day=self.day, started_at=self.started_at,
                                        windows=self._windows_record())
        timings = {}

        def timed(name, func, *args):
            started = time.perf_counter()
            result = func(*args)
            timings[name] = round(time.perf_counter() - started, 3)
            return result

        if self.skipped:
            self.counts["skipped_stores"] = [store.code for store, _reason in self.skipped]
            stores_unplanned_report(skipped=self.skipped, day=self.day)
        self.counts["expired"] = timed("expire_tasks", lambda: tasks_expire(
            day=self.day, now=self.now, store_ids=[store.pk for store in self.stores]))
        self.counts["closed"] = timed("close", self.close_cycles)
        # Visits credit appointments first; what is still booked for a past day is missed.
        self.counts["credited"] = timed("credit", appointments_credit)
        self.counts["no_show"] = timed("no_show", lambda: appointments_mark_no_show(
            day=self.day, store_ids=[store.pk for store in self.stores]))
        self.counts["drawn"] = timed("draw", self.draw_campaigns, programmes)
        self.stage_calls()
        self.counts["changed"] = timed("changed", self.stage_changed)
        steps_changed_at = self._steps_changed_at(programmes)
        call_steps = {}
        for programme in programmes:
            for step in programme.active_steps:
                step.programme = programme
                if step.channel == Channel.LIST:
                    continue
                if programme.anchor == Programme.Anchor.CAMPAIGN:
                    rows = self._rows_for_campaigns(step)
                elif programme.anchor == Programme.Anchor.CARE_CLASS:
                    rows = self._rows_for_classes(step)
                else:
                    rows = self._rows_for_dates(step)
                fresh, covered = self.split_covered(step, rows, steps_changed_at[step.pk])
                timed(f"{programme.code}:{step.code}", self.plan_step, step, fresh)
                if covered and self.changed_rows:
                    timed(f"{programme.code}:{step.code}:changed", self.plan_step, step, covered,
                          True)
                if step.channel == Channel.CALL:
                    call_steps[step.pk] = f"{programme.code}:{step.code}"
            # Each programme's calls go in before the next programme is read.
            for step_id, n in timed(f"{programme.code}:calls", self.insert_calls).items():
                self.counts[call_steps[step_id]] = {"tasks": n}
        self.counts["assigned"] = self.counts.get("assigned", 0) + timed("assign", self.assign)
        self.counts["credited"] += timed("credit_again", appointments_credit)
        self.counts["messages_expired"] = timed("expire", lambda: messages_expire(now=self.now))
        self.counts["seconds"] = timings
        run.finished_at = timezone.now()
        run.counts = self.counts
        run.save(update_fields=["finished_at", "counts"])
        return self.counts


def _active_steps():
    from django.db.models import Prefetch

    return Prefetch("steps", queryset=Step.objects.filter(is_active=True).order_by("order", "offset_days"),
                    to_attr="active_steps")


def reminders_plan(*, day=None, now=None):
    """Plan `day` (default: today in Asia/Shanghai) for every active store."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    counts = Plan(day=day, now=now).run()
    logger.info("planned reminders for %s: %s", day, counts)
    return counts


def cycles_close_on_visit(*, vehicle_id=None, visited_since=None, now=None):
    """Cancel what is left of the cycles a car came in for (set-based): an open task of
    an only-until-came-in step of a programme a visit ends, when the car has a visit of
    a kind that closes it (Programme.closing_kinds; none listed: any kind) on or after
    the cycle's first step. `vehicle_id`: that car only; `visited_since`: visits in on
    or after that day (read through the visits' date index)."""
    now = now or timezone.now()
    firsts = {}
    for step in Step.objects.filter(is_active=True, programme__closes_on_visit=True):
        firsts[step.programme_id] = min(firsts.get(step.programme_id, step.offset_days),
                                        step.offset_days)
    if not firsts:
        return 0
    # Start from the visits (of the car, or of the nights covered), then read each car's
    # open tasks through the ledger's vehicle index: the cost follows the visits, not
    # the number of open tasks in the ledger.
    visits = []
    if vehicle_id:
        visits.append("sv.vehicle_id = %(vehicle)s")
    if visited_since:
        visits.append("sv.date_in >= %(since)s")
    sql = f"""
        UPDATE {_t(Task)} t SET status = {_v(Task.Status.CANCELLED)},
            cancel_reason = {_v(CancelReason.CAME_IN)}, closed_at = %(now)s
        FROM (SELECT DISTINCT x.id
              FROM {_t(ServiceVisit)} sv
              CROSS JOIN LATERAL (
                  SELECT t0.id FROM {_t(Task)} t0
                  JOIN unnest(%(programmes)s::bigint[], %(offsets)s::int[])
                       AS po(programme_id, first_offset) ON po.programme_id = t0.programme_id
                  JOIN {_t(Programme)} p ON p.id = t0.programme_id
                  JOIN {_t(Step)} s ON s.id = t0.step_id AND s.only_until_came_in
                  WHERE t0.vehicle_id = sv.vehicle_id AND t0.status IN {OPEN_SQL}
                    AND sv.date_in >= t0.due_on + po.first_offset
                    AND (cardinality(p.closing_kinds) = 0
                         OR sv.repair_type = ANY(p.closing_kinds))
                  OFFSET 0) x
              WHERE {" AND ".join(visits) or "TRUE"}) came
        WHERE t.id = came.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"programmes": list(firsts), "offsets": list(firsts.values()),
                             "now": now, "vehicle": vehicle_id, "since": visited_since})
        return cursor.rowcount


def tasks_expire(*, day, now=None, store_ids=None):
    """Open tasks whose window ended before `day` become expired, "not reached in time"
    (one UPDATE over the open-task expiry index, by date range). Returns the count."""
    now = now or timezone.now()
    only = "AND store_id = ANY(%(stores)s)" if store_ids is not None else ""
    sql = f"""
        UPDATE {_t(Task)} SET status = {_v(Task.Status.EXPIRED)},
            cancel_reason = {_v(CancelReason.NOT_IN_TIME)}, closed_at = %(now)s
        WHERE status IN {OPEN_SQL} AND expires_on < %(day)s {only}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"day": day, "now": now, "stores": list(store_ids or [])})
        return cursor.rowcount


CREDIT_REASON = "came in within the credit window"


KEPT = f"({_v(Appointment.Status.BOOKED)}, {_v(Appointment.Status.NO_SHOW)})"
NO_SHOW_REASON = "not kept by the end of its day"


def appointments_mark_no_show(*, day, store_ids=None):
    """Booked appointments for a day before `day` (not kept by the end of their day; the
    visits were credited first) are marked no-show, one UPDATE over the booked-by-day
    index, each with a history row. The "missed appointment" programme calls them."""
    only = "AND store_id = ANY(%(stores)s)" if store_ids is not None else ""
    sql = f"""
        UPDATE {_t(Appointment)} SET status = {_v(Appointment.Status.NO_SHOW)}
        WHERE status = {_v(Appointment.Status.BOOKED)} AND booked_for < %(day)s {only}
        RETURNING id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"day": day, "stores": list(store_ids or [])})
        missed = [row[0] for row in cursor.fetchall()]
    if missed:
        Appointment.history.bulk_history_create(
            Appointment.objects.filter(pk__in=missed), update=True,
            default_change_reason=NO_SHOW_REASON)
    return len(missed)


def appointments_credit(*, vehicle_id=None):
    """Booked appointments whose car came in within the credit window are credited
    (set-based; the nearest visit wins), each with a history row like any edit. An
    appointment already marked no-show is kept after all when the visit arrives later
    within the window."""
    days = FollowupSettings.current().appointment_credit_days
    where_vehicle = "AND a.vehicle_id = %(vehicle)s" if vehicle_id else ""
    sql = f"""
        UPDATE {_t(Appointment)} a SET status = {_v(Appointment.Status.CAME_IN)},
            came_in_on = x.date_in, visit_id = x.id
        FROM (
            SELECT DISTINCT ON (a2.id) a2.id AS appointment_id, sv.id, sv.date_in
            FROM {_t(Appointment)} a2 JOIN {_t(ServiceVisit)} sv ON sv.vehicle_id = a2.vehicle_id
              AND sv.date_in BETWEEN a2.booked_for - %(days)s AND a2.booked_for + %(days)s
            WHERE a2.status IN {KEPT} {where_vehicle.replace('a.', 'a2.')}
              AND (a2.status = {_v(Appointment.Status.BOOKED)} OR a2.booked_for >= %(since)s)
            ORDER BY a2.id, abs(sv.date_in - a2.booked_for), sv.id
        ) x
        WHERE a.id = x.appointment_id AND a.status IN {KEPT}
        RETURNING a.id
    """
    with connection.cursor() as cursor:
        # A no-show is read again only while a visit could still credit it.
        since = timezone.localdate() - timedelta(days=2 * days + 1)
        cursor.execute(sql, {"days": days, "vehicle": vehicle_id, "since": since})
        credited = [row[0] for row in cursor.fetchall()]
    if credited:
        Appointment.history.bulk_history_create(
            Appointment.objects.filter(pk__in=credited), update=True,
            default_change_reason=CREDIT_REASON)
    return len(credited)


def callers_of(store_ids):
    """{store id: [user id, ...]} of the active callers and CR specialists."""
    groups = Group.objects.filter(name__in=CALLER_ROLES)
    rows = (User.objects.filter(is_active=True, groups__in=groups, stores__in=store_ids)
            .values_list("stores", "id").distinct())
    result = {}
    for store_id, user_id in rows:
        if store_id in store_ids:
            result.setdefault(store_id, []).append(user_id)
    return result


def _balanced_bounds(store_ids, counts):
    """[(store, user, first row number, last row number)]: how `counts[store]` new calls,
    numbered from 1 in urgency order, are shared among the store's callers so their open
    calls end even (rules.balance_counts)."""
    callers = callers_of(store_ids)
    loads = {}
    for store_id, user_id, n in (
            Task.objects.filter(store__in=store_ids, channel=Channel.CALL, status__in=OPEN,
                                assignee__isnull=False)
            .values_list("store", "assignee").annotate(n=Count("id"))):
        loads[(store_id, user_id)] = n
    bounds = []
    for store_id in store_ids:
        users = callers.get(store_id, [])
        if not users:
            continue
        share = rules.balance_counts({u: loads.get((store_id, u), 0) for u in users},
                                     counts.get(store_id, 0))
        position = 1
        for user_id in sorted(share):
            if share[user_id]:
                bounds.append((store_id, user_id, position, position + share[user_id] - 1))
                position += share[user_id]
    return bounds


def tasks_assign_balanced(*, store_ids, counts, task_ids=None):
    """Give unassigned open calls to the store's callers so loads end even: the pure
    rules.balance_counts decides how many each caller gets, one UPDATE hands them out
    in urgency order."""
    bounds = _balanced_bounds(store_ids, counts)
    if not bounds:
        return 0
    only = "AND id = ANY(%(ids)s)" if task_ids is not None else ""
    sql = f"""
        UPDATE {_t(Task)} t SET assignee_id = b.user_id
        FROM (SELECT id, store_id, row_number() OVER (PARTITION BY store_id
                     ORDER BY planned_on, due_on, id) AS rn
              FROM {_t(Task)} WHERE assignee_id IS NULL AND channel = {_v(Channel.CALL)}
                AND status IN {OPEN_SQL} AND store_id = ANY(%(stores)s) {only}) u
        JOIN unnest(%(b_store)s::bigint[], %(b_user)s::bigint[], %(b_lo)s::int[], %(b_hi)s::int[])
             AS b(store_id, user_id, lo, hi)
          ON b.store_id = u.store_id AND u.rn BETWEEN b.lo AND b.hi
        WHERE t.id = u.id AND t.assignee_id IS NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {
            "stores": list(store_ids), "ids": list(task_ids or []),
            "b_store": [b[0] for b in bounds], "b_user": [b[1] for b in bounds],
            "b_lo": [b[2] for b in bounds], "b_hi": [b[3] for b in bounds],
        })
        return cursor.rowcount


@transaction.atomic
def campaign_draw(*, campaign, on=None, now=None):
    """Draw a recall campaign's audience once: the store's active vehicles with no visit
    for `lapsed_days` on the day of the draw (never visited: delivered that long ago)."""
    now = now or timezone.now()
    on = on or timezone.localdate(now)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.PLANNED:
        return 0
    cutoff = customer_rules.lapse_cutoff(on, campaign.lapsed_days)
    sql = f"""
        INSERT INTO {_t(CampaignMember)} (campaign_id, vehicle_id, customer_id, last_visit_on)
        SELECT %(campaign)s, v.id, v.customer_id, v.last_visit_on
        FROM {_t(Vehicle)} v JOIN {_t(Customer)} c ON c.id = v.customer_id
        WHERE v.store_id = %(store)s AND v.is_active AND c.is_active
          AND (v.last_visit_on <= %(cutoff)s
               OR (v.last_visit_on IS NULL AND v.delivered_on <= %(cutoff)s))
        ON CONFLICT DO NOTHING
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"campaign": campaign.pk, "store": campaign.store_id, "cutoff": cutoff})
        drawn = cursor.rowcount
    campaign.status, campaign.drawn_at = Campaign.Status.DRAWN, now
    campaign.save(update_fields=["status", "drawn_at"])
    return drawn


__all__ = ["Plan", "reminders_plan", "cycles_close_on_visit", "appointments_credit", "tasks_expire",
           "appointments_mark_no_show",
           "tasks_assign_balanced", "campaign_draw", "callers_of"]
