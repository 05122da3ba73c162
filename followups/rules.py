"""Pure arithmetic of the reminder programmes: planned dates, the planning window of a
night, SMS send windows and expiry, retries of unreachable calls and balanced
assignment. No ORM, no clock, no I/O: callers pass the day, `now`, the store calendar
(crm_site.rules.StoreCalendar) and the settings values."""

import heapq
from datetime import date, datetime, time, timedelta

from crm_site.rules import percent

CALL = "call"
SMS = "sms"


def nominal_date(due_on: date, offset_days: int) -> date:
    """The day a step falls on before the calendar is applied: N + offset."""
    return due_on + timedelta(days=offset_days)


def call_day(nominal: date, calendar) -> date:
    """A call that falls on a non-working day moves to the previous working day."""
    return calendar.previous_working_day(nominal, include_today=True)


def planned_day(channel: str, nominal: date, calendar) -> date:
    """The day a step is worked: calls on working days, SMS on their own day (the send
    window takes care of the hour)."""
    if channel == CALL:
        return call_day(nominal, calendar)
    return nominal


def planning_window(run_day: date, catch_up_days: int, channel: str, calendar,
                    lookahead_days: int = 0):
    """The nominal dates a run on `run_day` plans for one channel, as {nominal: planned}.

    Every night plans its own day and catches up the `catch_up_days` before it (a night
    the job did not run). Calls also look `lookahead_days` ahead, and at least to the day
    before the next working day: a call whose nominal day is a holiday is planned on the
    working day before it, which may be today. Looking ahead spreads the calls of a
    weekend, which are all made on Friday, over the nights before it (Thursday's night
    writes Saturday's, Friday's night Sunday's) instead of writing three days of calls in
    one night; a call written ahead waits in the ledger for its planned day.
    """
    if catch_up_days < 0 or lookahead_days < 0:
        raise ValueError("catch_up_days and lookahead_days must not be negative")
    first = run_day - timedelta(days=catch_up_days)
    last = run_day
    if channel == CALL:
        last = max(run_day + timedelta(days=lookahead_days),
                   calendar.next_working_day(run_day) - timedelta(days=1))
    window = {}
    day = first
    while day <= last:
        window[day] = planned_day(channel, day, calendar)
        day += timedelta(days=1)
    return window


def due_dates_for(window: dict, offset_days: int) -> dict:
    """{due_on (N): (nominal, planned)} for a step with this offset over a window."""
    return {
        nominal - timedelta(days=offset_days): (nominal, planned)
        for nominal, planned in window.items()
    }


def birthday_on(birth: date, year: int) -> date:
    """The day a birthday is kept in `year`; 29 February is kept on 28 February in a
    common year."""
    try:
        return birth.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def birthday_keys(day: date) -> list:
    """The (month, day) pairs of birth dates whose birthday is kept on `day`."""
    keys = [(day.month, day.day)]
    if day.month == 2 and day.day == 28 and birthday_on(date(2000, 2, 29), day.year) == day:
        keys.append((2, 29))
    return keys


def sms_send_window(planned: date, window_start: time, window_end: time, *, valid_days=0):
    """(not_before, expires_at) as store-local naive datetimes: the SMS goes out inside
    the window on its day and expires at the end of the window `valid_days` later, so a
    stale SMS is never sent late."""
    not_before = datetime.combine(planned, window_start)
    expires_at = datetime.combine(planned + timedelta(days=valid_days), window_end)
    return not_before, expires_at


def timed_sms_window(event_start: datetime, offset_minutes: int, window_start: time,
                     window_end: time):
    """(not_before, expires_at) for an SMS a fixed time before an event ("2 hours before
    the class"): sent at that moment, or at the window start if earlier that day; it
    expires when the event starts. Store-local naive datetimes."""
    send_at = event_start + timedelta(minutes=offset_minutes)
    if send_at.time() < window_start:
        send_at = datetime.combine(send_at.date(), window_start)
    elif send_at.time() >= window_end:
        send_at = datetime.combine(send_at.date(), window_end) - timedelta(minutes=30)
    return send_at, event_start



def retry_on(today: date, attempts: int, max_attempts: int, within_days: int, calendar):
    """The day to call again after an unreachable attempt, or None when the attempts are
    used up. `attempts` counts the attempts made so far, this one included.

    The retry is the first working day after today within `within_days`; when every
    day within reach is closed, the next working day after them.
    """
    if attempts >= max_attempts:
        return None
    for step in range(1, max(within_days, 1) + 1):
        candidate = today + timedelta(days=step)
        if calendar.is_working_day(candidate):
            return candidate
    return calendar.next_working_day(today + timedelta(days=max(within_days, 1)))





def balance_counts(loads: dict, new_tasks: int) -> dict:
    """How many of `new_tasks` each caller receives so that loads end as even as
    possible: each task goes to the least-loaded caller, ties to the smaller key.
    `loads` is {caller: open tasks}. Returns {caller: count} for every caller."""
    if not loads:
        return {}
    counts = dict.fromkeys(loads, 0)
    heap = [(load, key) for key, load in loads.items()]
    heapq.heapify(heap)
    for _task in range(new_tasks):
        load, key = heapq.heappop(heap)
        counts[key] += 1
        heapq.heappush(heap, (load + 1, key))
    return counts



# The owners' club ---------------------------------------------------------------------------

# A recalled customer counts as back when the car comes in by this many days after the
# campaign's date (services.vehicle_came_in, selectors.recall_rate).
RECALL_WINDOW_DAYS = 60

share = percent  # the site's one percent (crm_site.rules.percent)


def attendance_rate(attended: int, signed_up: int):
    """Activity attendance rate: who came among those who signed up; None with no
    sign-ups (not applicable, never 0 % or 100 %)."""
    return share(attended, signed_up)


def return_window(today: date, days: int) -> tuple:
    """The first and last day of the return-visit window ending today: the last `days`
    days including today. With 180 days a visit 179 days ago counts, 180 days ago not."""
    return today - timedelta(days=max(days, 1) - 1), today


def month_starts(today: date, months: int) -> list:
    """The first days of the last `months` months, oldest first, ending with today's."""
    year, month = today.year, today.month
    starts = []
    for _n in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


# The end of a task (its window) ------------------------------------------------------------

LAST_STEP_WINDOW_DAYS = 7


def default_window_end(offset_days: int, later_offsets) -> int:
    """The last day (from N) a step's task may still be worked, when the step does not
    say: the day before the programme's next step, the last step until N+7 (never
    before the step's own day)."""
    later = [o for o in later_offsets if o > offset_days]
    end = min(later) - 1 if later else LAST_STEP_WINDOW_DAYS
    return max(end, offset_days)


def expires_on(due_on: date, window_end_days: int, planned_on: date) -> date:
    """The last day a task stays on the worklist: N + the step's window end, and never
    before the day it is planned for (a call moved off a closed day keeps that day)."""
    return max(due_on + timedelta(days=window_end_days), planned_on)
