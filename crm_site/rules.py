"""Pure arithmetic of the business calendar and the outbox. No ORM, no clock, no I/O:
callers pass `now`, the store's hours and the hand-set overrides."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import chinese_calendar


def statutory_status(day: date):
    """What the statutory calendar says of `day`: 'holiday', 'makeup_workday' or None
    (an ordinary day, or a year the holiday library does not know yet)."""
    try:
        on_holiday, holiday_name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if on_holiday and holiday_name is not None:
        return "holiday"
    if not on_holiday and day.weekday() >= 5:
        return "makeup_workday"
    return None


def percent(numerator, denominator, places: int = 1) -> Decimal | None:
    """numerator / denominator in percent, rounded half up to one decimal (scores on a
    100-point scale ask for two); None ("not applicable") when nothing was counted. The
    one percent of the site."""
    if not denominator:
        return None
    value = Decimal(str(numerator or 0)) * 100 / Decimal(str(denominator))
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class StoreCalendar:
    """A store's working days and hours.

    hours: {weekday (0 = Monday): (opens, closes)}; a weekday without hours is closed.
    overrides: {date: is_working} set by hand; they win over everything.
    """

    hours: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        status = statutory_status(day)
        if status == "holiday":
            return False
        if status == "makeup_workday":
            return True
        return day.weekday() in self.hours

    def hours_on(self, day: date):
        """(opens, closes) on a working day; a make-up weekend day keeps Monday's hours."""
        if not self.is_working_day(day):
            return None
        if day.weekday() in self.hours:
            return self.hours[day.weekday()]
        return min(self.hours.items())[1] if self.hours else (time(9), time(17))

    def is_working_time(self, local_dt: datetime) -> bool:
        """`local_dt` is a wall-clock time in the store's time zone."""
        hours = self.hours_on(local_dt.date())
        return bool(hours) and hours[0] <= local_dt.time() < hours[1]

    def next_working_day(self, day: date, *, include_today=False, limit=60) -> date:
        candidate = day if include_today else day + timedelta(days=1)
        for _step in range(limit):
            if self.is_working_day(candidate):
                return candidate
            candidate += timedelta(days=1)
        raise ValueError(f"no working day within {limit} days after {day}")

    def previous_working_day(self, day: date, *, include_today=False, limit=60) -> date:
        candidate = day if include_today else day - timedelta(days=1)
        for _step in range(limit):
            if self.is_working_day(candidate):
                return candidate
            candidate -= timedelta(days=1)
        raise ValueError(f"no working day within {limit} days before {day}")


def send_window_start(local_dt: datetime, window_start: time, window_end: time) -> datetime:
    """The first moment at or after `local_dt` inside the daily SMS window."""
    if local_dt.time() < window_start:
        return local_dt.replace(hour=window_start.hour, minute=window_start.minute,
                                second=0, microsecond=0)
    if local_dt.time() >= window_end:
        next_day = local_dt + timedelta(days=1)
        return next_day.replace(hour=window_start.hour, minute=window_start.minute,
                                second=0, microsecond=0)
    return local_dt


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the `attempts`-th failed send: 1, 2, 4, 8 ... minutes, at most 1 hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


# Replies that withdraw a customer's consent to SMS: 退订 ("unsubscribe"), TD, T.
OPT_OUT_WORDS = {"退订", "TD", "T"}


def is_opt_out(text: str) -> bool:
    """A reply of 退订 / TD / T (any case, spaces and punctuation around it ignored), or
    any reply that says 退订."""
    word = "".join(ch for ch in text if ch.isalnum()).upper()
    return word in OPT_OUT_WORDS or "退订" in text


def recipient_wait(sent: list[datetime], now: datetime, *, interval: timedelta,
                   hourly: int, daily: int) -> timedelta | None:
    """How long a message to a number that was sent messages at `sent` must wait so
    that the provider's limits per number (one per `interval`, `hourly` an hour, `daily`
    a day) hold; None when it may go now."""
    waits = []
    recent = sorted(t for t in sent if t > now - timedelta(days=1))
    if recent and recent[-1] > now - interval:
        waits.append(recent[-1] + interval - now)
    last_hour = [t for t in recent if t > now - timedelta(hours=1)]
    if len(last_hour) >= hourly:
        waits.append(last_hour[-hourly] + timedelta(hours=1) - now)
    if len(recent) >= daily:
        waits.append(recent[-daily] + timedelta(days=1) - now)
    return max(waits) if waits else None


def quiet_until(local_now: datetime, start: time | None, end: time | None) -> datetime | None:
    """When the quiet hours [start, end) that hold at `local_now` end (they may run over
    midnight: 22:00-07:00); None outside them or without quiet hours."""
    if start is None or end is None or start == end:
        return None
    clock = local_now.time()
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    ends = local_now.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return ends if ends > local_now else ends + timedelta(days=1)
