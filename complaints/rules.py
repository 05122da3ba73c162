"""Pure arithmetic of the complaint clock: no ORM, no clock, no I/O. Callers pass `now`,
the policy durations and (for working-hours policies) the store's calendar and time zone.

Conventions
- Every instant is timezone-aware; the clock counts whole seconds (callers truncate).
- A deadline is the last instant that is still in time: done at the deadline is in
  time, one second later is late. A clock still running is breached once `now` is past
  its deadline.
- A warning is due at `warning_percent` of a window, measured in the same kind of time
  as the window itself (wall-clock or working time).
- Only the resolution clock pauses; a pause moves its deadline (and a warning not yet
  reached) by exactly the paused time (paused working time for working-hours policies).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

REASON_LETTERS = "ABCDEFGH"
REASON_SET = frozenset(REASON_LETTERS)
SECOND = timedelta(seconds=1)


# Policy and time keeping ------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    """The SLA durations of one severity, as plain values."""

    response: timedelta = timedelta(minutes=30)
    resolution: timedelta = timedelta(hours=24)
    department_days: int = 3
    warning_percent: int = 80
    repeat_window: timedelta = timedelta(days=90)
    working_hours_only: bool = False


class Timekeeper:
    """Adds and measures durations, either on the wall clock or counting only the store's
    working hours. `calendar` is a crm_site.rules.StoreCalendar, `tz` a ZoneInfo;
    without a calendar every second counts."""

    def __init__(self, calendar=None, tz=None):
        if calendar is not None and tz is None:
            raise ValueError("a working-hours timekeeper needs the store's time zone")
        self.calendar = calendar
        self.tz = tz

    @property
    def counts_working_hours(self):
        return self.calendar is not None

    # Working intervals of one local day, as UTC instants.
    def _working_interval(self, day):
        hours = self.calendar.hours_on(day)
        if not hours:
            return None
        opens = datetime.combine(day, hours[0], tzinfo=self.tz).astimezone(UTC)
        closes = datetime.combine(day, hours[1], tzinfo=self.tz).astimezone(UTC)
        return opens, closes

    def add(self, start: datetime, duration: timedelta, *, limit_days=800) -> datetime:
        """The instant `duration` of counted time after `start`."""
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        if not self.counts_working_hours or duration == timedelta(0):
            return start + duration
        remaining = duration
        cursor = start.astimezone(UTC)
        day = start.astimezone(self.tz).date()
        for _step in range(limit_days):
            interval = self._working_interval(day)
            if interval:
                segment_start = max(cursor, interval[0])
                if segment_start < interval[1]:
                    available = interval[1] - segment_start
                    if remaining <= available:
                        return segment_start + remaining
                    remaining -= available
            day += timedelta(days=1)
            cursor = max(cursor, datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC))
        raise ValueError(f"no working time within {limit_days} days after {start}")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Counted time from `start` to `end` (negative when `end` is earlier)."""
        if end < start:
            return -self.between(end, start)
        if not self.counts_working_hours:
            return end - start
        total = timedelta(0)
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            interval = self._working_interval(day)
            if interval:
                lo, hi = max(start, interval[0]), min(end, interval[1])
                if lo < hi:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def add_days(self, start: datetime, days: int) -> datetime:
        """`days` days after `start`: 24-hour days on the wall clock; with working hours,
        the same local time on the `days`-th working day after start's day."""
        if not self.counts_working_hours:
            return start + timedelta(days=days)
        local = start.astimezone(self.tz)
        day = local.date()
        for _step in range(days):
            day = self.calendar.next_working_day(day)
        return datetime.combine(day, local.timetz().replace(tzinfo=None),
                                tzinfo=self.tz).astimezone(UTC)


def floor_seconds(delta: timedelta) -> timedelta:
    return timedelta(seconds=int(delta.total_seconds() // 1))


def warning_at(start: datetime, due: datetime, percent: int, keeper: Timekeeper) -> datetime:
    """The instant `percent`% of the window from `start` to `due` has run (whole seconds)."""
    span = keeper.between(start, due)
    return keeper.add(start, floor_seconds(span * percent / 100))


# Deadlines --------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """One clock: the instant its warning is due and its deadline."""

    warn_at: datetime
    due_at: datetime


def response_window(received_at, policy: Policy, keeper: Timekeeper) -> Window:
    due = keeper.add(received_at, policy.response)
    return Window(warning_at(received_at, due, policy.warning_percent, keeper), due)


def resolution_window(received_at, policy: Policy, keeper: Timekeeper) -> Window:
    due = keeper.add(received_at, policy.resolution)
    return Window(warning_at(received_at, due, policy.warning_percent, keeper), due)


def department_window(handed_off_at, policy: Policy, keeper: Timekeeper) -> Window:
    due = keeper.add_days(handed_off_at, policy.department_days)
    return Window(warning_at(handed_off_at, due, policy.warning_percent, keeper), due)


class PauseError(ValueError):
    """A pause that the clock cannot take."""


def check_pause(*, paused_at, due_at, already_paused_at=None):
    """A running resolution clock that has not run out may pause."""
    if already_paused_at is not None:
        raise PauseError("already paused")
    if paused_at > due_at:
        raise PauseError("deadline passed")


def resume_shift(window: Window, *, paused_at, resumed_at, keeper: Timekeeper) -> Window:
    """The resolution window after a pause from `paused_at` to `resumed_at`: the deadline,
    and a warning not yet due at the pause, move by exactly the paused (counted) time."""
    if resumed_at < paused_at:
        raise PauseError("resumed before paused")
    if paused_at > window.due_at:
        raise PauseError("deadline passed")
    due = keeper.add(resumed_at, keeper.between(paused_at, window.due_at))
    warn = window.warn_at
    if paused_at < warn:
        warn = keeper.add(resumed_at, keeper.between(paused_at, warn))
    return Window(warn, due)



# State -------------------------------------------------------------------------------

class SlaState(StrEnum):
    IN_TIME = "in_time"
    WARNING = "warning"
    BREACHED = "breached"


STATE_RANK = {SlaState.IN_TIME: 0, SlaState.WARNING: 1, SlaState.BREACHED: 2}


def done_in_time(done_at, due_at) -> bool:
    """Whether a clock finished at `done_at` kept its deadline: done at the deadline is in
    time, one second later is late. The compliance figures count with this comparison
    (complaints.selectors.RESPONSE_IN_TIME and RESOLUTION_IN_TIME are its SQL form)."""
    return done_at <= due_at


def sla_state(window: Window, *, now, done_at=None, paused_at=None) -> SlaState:
    """The state of one clock at `now`. A finished clock is judged at its finish; a paused
    one at the moment it paused."""
    moment = done_at or paused_at or now
    if not done_in_time(moment, window.due_at):
        return SlaState.BREACHED
    if done_at is not None:
        return SlaState.IN_TIME
    if moment >= window.warn_at:
        return SlaState.WARNING
    return SlaState.IN_TIME


def worst(*states) -> SlaState:
    states = [s for s in states if s is not None]
    if not states:
        return SlaState.IN_TIME
    return max(states, key=STATE_RANK.__getitem__)


def remaining(window: Window, *, now, paused_at=None) -> timedelta:
    """Wall-clock time left to the deadline (negative once past); frozen while paused."""
    return window.due_at - (paused_at or now)


def warning_due(window: Window, *, now, paused_at=None) -> bool:
    """Whether the sweep must record the warning at `now` (the same test as its SQL)."""
    moment = paused_at or now
    return window.warn_at <= moment


def breach_due(window: Window, *, now, paused_at=None) -> bool:
    """Whether the sweep must record the breach at `now` (the same test as its SQL)."""
    moment = paused_at or now
    return window.due_at < moment


# Repeat complaints and important reasons ----------------------------------------------

def repeat_window_start(received_at, window: timedelta):
    """Earlier complaints received at or after this instant make a new one a repeat."""
    return received_at - window


def is_repeat(received_at, earlier_received_at, window: timedelta) -> bool:
    return repeat_window_start(received_at, window) <= earlier_received_at <= received_at


REPAIR_CATEGORIES = frozenset({"product", "technical", "parts", "service_quality"})


def suggested_reasons(*, repeat_same_vehicle: bool, category: str) -> set:
    """A repeat on the same vehicle about the car or its repair suggests reason G
    (repeated repair)."""
    return {"G"} if repeat_same_vehicle and category in REPAIR_CATEGORIES else set()


SEPARATORS = frozenset(" ,，、;；")


class ReasonError(ValueError):
    def __init__(self, unknown):
        super().__init__(", ".join(unknown))
        self.unknown = unknown


def parse_reasons(value) -> str:
    """'c, a' / ['C', 'A'] / 'CA' -> 'AC'. Unknown letters raise ReasonError."""
    if value is None:
        return ""
    if isinstance(value, str):
        letters = [ch.upper() for ch in value if ch not in SEPARATORS]
    else:
        letters = [str(item).strip().upper() for item in value]
    unknown = sorted({letter for letter in letters if letter not in REASON_SET})
    if unknown:
        raise ReasonError(unknown)
    return "".join(sorted(set(letters)))


# Workflow ---------------------------------------------------------------------------

class Status(StrEnum):
    NEW = "new"
    RESPONDED = "responded"
    HANDED_OFF = "handed_off"
    FEEDBACK = "feedback"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(Status) - {Status.CLOSED}

# action -> statuses it may start from
ALLOWED_FROM = {
    "respond": {Status.NEW},
    "hand_off": {Status.RESPONDED},
    "department_feedback": {Status.HANDED_OFF},
    "resolve": {Status.RESPONDED, Status.FEEDBACK},
    "callback": {Status.RESOLVED},
    "reissue": {Status.FEEDBACK, Status.RESOLVED},
    "pause": {Status.RESPONDED, Status.HANDED_OFF, Status.FEEDBACK},
    "resume": {Status.RESPONDED, Status.HANDED_OFF, Status.FEEDBACK},
}

NEXT_ACTION = {
    Status.NEW: "respond",
    Status.RESPONDED: "hand_off",
    Status.HANDED_OFF: "department_feedback",
    Status.FEEDBACK: "resolve",
    Status.RESOLVED: "callback",
}


def allowed_actions(status, *, paused: bool) -> list:
    """Actions a complaint may take now, the next one first."""
    status = Status(status)
    excluded = "pause" if paused else "resume"
    actions = [a for a, starts in ALLOWED_FROM.items() if status in starts and a != excluded]
    first = next_action(status, paused=paused)
    return ([first] if first else []) + [a for a in actions if a != first]


def next_action(status, *, paused: bool):
    if paused:
        return "resume"
    return NEXT_ACTION.get(Status(status))


def can(status, action, *, paused: bool) -> bool:
    return action in allowed_actions(status, paused=paused)
