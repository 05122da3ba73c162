"""Pure arithmetic of the business calendar and the outbox. No ORM, no clock, no I/O:
callers pass `now`, the store's hours and the hand-set overrides."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import chinese_calendar


def library_year_known(year: int) -> bool:
    """Whether the holiday library has the State Council notice of `year`."""
    try:
        chinese_calendar.get_holiday_detail(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def library_year(year: int) -> dict:
    """{date: is_working} of `year`'s holidays (False) and make-up workdays (True) as the
    holiday library has them; empty for a year it does not know."""
    if not library_year_known(year):
        return {}
    days, day = {}, date(year, 1, 1)
    while day.year == year:
        status = statutory_status(day)
        if status:
            days[day] = status == "makeup_workday"
        day += timedelta(days=1)
    return days


def statutory_status(day: date, national=None, entered_years=()):
    """What the national calendar says of `day`: 'holiday', 'makeup_workday' or None
    (an ordinary day, or a year neither entered nor known to the holiday library).

    `national`: {date: is_working} entered by hand (CalendarOverride rows without a
    store); `entered_years`: the years entered in full (CalendarYear), whose days not
    listed are ordinary days whatever the library says."""
    if national and day in national:
        return "makeup_workday" if national[day] else "holiday"
    if day.year in entered_years:
        return None
    try:
        on_holiday, holiday_name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if on_holiday and holiday_name is not None:
        return "holiday"
    if not on_holiday and day.weekday() >= 5:
        return "makeup_workday"
    return None


# The library's festival names (chinese_calendar.Holiday values) and how staff write them.
FESTIVAL_LABELS = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
}


def festival_of(name: str):
    """The library's festival name for a name written by hand ("春节", "春节假期",
    "中秋", "Spring Festival"); None when it names no festival."""
    name = (name or "").strip()
    for value, label in FESTIVAL_LABELS.items():
        short = label[:-1] if label.endswith("节") and len(label) > 2 else label
        if name == value or name.startswith(short):
            return value
    return None


def holiday_name(day: date, national_names=None, entered_years=()):
    """The festival (a chinese_calendar.Holiday value) whose holiday `day` is: from the
    days entered by hand ({date: (is_working, name)}) when the day is one of them or its
    year was entered in full, else from the library; None when the day is no holiday."""
    if national_names and day in national_names:
        is_working, name = national_names[day]
        return None if is_working else festival_of(name)
    if day.year in entered_years:
        return None
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return name if on_holiday else None


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
    """A store's working days and hours for one activity.

    hours: {weekday (0 = Monday): (opens, closes)}; a weekday without hours is closed.
    holiday_weekdays: the weekdays whose hours hold on statutory holidays too.
    overrides: {date: is_working} the store set by hand; they win over everything.
    national: {date: is_working} of the national calendar entered by hand (holidays and
    make-up workdays); entered_years: the years entered in full.
    """

    hours: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    holiday_weekdays: frozenset = frozenset()
    national: dict = field(default_factory=dict)
    entered_years: frozenset = frozenset()

    @property
    def is_usable(self) -> bool:
        """A calendar with no opening hours at all has no working day to plan on."""
        return bool(self.hours)

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        status = statutory_status(day, self.national, self.entered_years)
        if status == "holiday":
            return day.weekday() in self.holiday_weekdays and day.weekday() in self.hours
        if status == "makeup_workday":
            return bool(self.hours)
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
