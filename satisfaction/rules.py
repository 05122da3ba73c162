"""Pure arithmetic of satisfaction: periods, rates, scores against targets, weak items and
plan recovery. No ORM, no clock, no I/O: callers pass plain values (and `now` or a time
zone where a moment matters).

A rate whose denominator is zero is None, shown as "not applicable": nothing is ever
divided by zero and an empty month is not a 0 % month.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from crm_site.rules import percent

# Statuses of a figure against its target.
MET = "met"            # at or better than the plan
BELOW_PLAN = "below"   # short of the plan but not below the threshold
MISSED = "missed"      # below the threshold (or below the plan when there is none)

LOCAL_TZ = "Asia/Shanghai"
# Months before the system or past any plan are typing mistakes (and 9999-12 has no next
# month to end on).
LAST_YEAR = 2099
_PERIOD_RE = re.compile(r"^\s*(\d{4})\s*(?:[-/.年]\s*)?(\d{1,2})\s*月?\s*$")


# Periods ------------------------------------------------------------------------------

def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(period: date, months: int) -> date:
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_back(period: date, count: int) -> list[date]:
    """The `count` months ending with `period`, oldest first."""
    return [add_months(period, -offset) for offset in range(count - 1, -1, -1)]


def parse_period(value) -> date:
    """A month from what people type or spreadsheets hold: 2026-05, 2026/5, 202605,
    2026年5月, or a date / datetime (any day of the month). ValueError otherwise."""
    if isinstance(value, datetime):
        return value.date().replace(day=1)
    if isinstance(value, date):
        return value.replace(day=1)
    text = str(value if value is not None else "").strip()
    match = _PERIOD_RE.match(text)
    try:
        if match:
            period = date(int(match.group(1)), int(match.group(2)), 1)
        else:
            period = date.fromisoformat(text[:10]).replace(day=1)
    except ValueError:
        raise ValueError(text) from None
    if not 2000 <= period.year <= LAST_YEAR:
        raise ValueError(text)
    return period


def period_bounds(period: date, tz_name: str = "Asia/Shanghai") -> tuple[datetime, datetime]:
    """[start, end) of a month as aware datetimes: midnight local time on the first day
    of the month and of the next month."""
    tz = ZoneInfo(tz_name)
    start = datetime.combine(month_start(period), time.min, tzinfo=tz)
    end = datetime.combine(add_months(month_start(period), 1), time.min, tzinfo=tz)
    return start, end


def period_of(moment: datetime, tz_name: str = "Asia/Shanghai") -> date:
    """The month a moment falls in, on the local wall clock."""
    return moment.astimezone(ZoneInfo(tz_name)).date().replace(day=1)


# Rates and scores ----------------------------------------------------------------------

def _dec(value) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


rate = percent  # the site's one percent (crm_site.rules.percent)


def followup_rate(reached, due) -> Decimal | None:
    """Follow-up rate: calls that reached the customer over calls due."""
    return rate(reached, due)


def satisfied_share(satisfied, answered) -> Decimal | None:
    """Satisfied share: answers of satisfied or very satisfied over all answers."""
    return rate(satisfied, answered)


def points_score(results) -> Decimal | None:
    """A checklist score in percent from [(points, max_points), ...]; None if nothing
    could be scored (no items, or every item worth 0)."""
    got = sum((_dec(points) or Decimal(0) for points, _max in results), Decimal(0))
    possible = sum((_dec(maximum) or Decimal(0) for _points, maximum in results), Decimal(0))
    return rate(got, possible, places=2)


def average(values, places: int = 2) -> Decimal | None:
    values = [_dec(v) for v in values if v is not None]
    if not values:
        return None
    quantum = Decimal(1).scaleb(-places)
    return (sum(values, Decimal(0)) / len(values)).quantize(quantum, rounding=ROUND_HALF_UP)


def change(current, previous) -> Decimal | None:
    """Difference to the previous figure; None when either is missing."""
    if current is None or previous is None:
        return None
    return _dec(current) - _dec(previous)


# Targets ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TargetValue:
    """A target as plain values: the plan, an optional floor, grades."""

    value: Decimal
    threshold: Decimal | None = None
    secure_grade: str = ""
    strive_grade: str = ""


def pick_target(rows, store_id, period: date):
    """The most specific of `rows` for a store and month. Each row is a mapping with
    store_id and period (None = any). Store and period beat store, store beats period,
    period beats the default. None when no row applies."""
    best, best_rank = None, -1
    for row in rows:
        if row["store_id"] not in (None, store_id) or row["period"] not in (None, period):
            continue
        rank = (2 if row["store_id"] is not None else 0) + (1 if row["period"] is not None else 0)
        if rank > best_rank:
            best, best_rank = row, rank
    return best


def target_status(value, target: TargetValue | None, *, lower_is_better: bool = False):
    """MET, BELOW_PLAN or MISSED; None when there is no figure or no target."""
    if value is None or target is None:
        return None
    value, plan = _dec(value), _dec(target.value)
    floor = _dec(target.threshold)
    if lower_is_better:
        if value <= plan:
            return MET
        return BELOW_PLAN if floor is not None and value <= floor else MISSED
    if value >= plan:
        return MET
    return BELOW_PLAN if floor is not None and value >= floor else MISSED


def grade_rank(grade: str) -> int | None:
    """A < B < C ...: 0 for A. Unknown or empty: None. A trailing +/- is ignored."""
    letter = (grade or "").strip().upper()[:1]
    if not letter.isalpha():
        return None
    return ord(letter) - ord("A")


def grade_status(grade: str, secure: str, strive: str):
    """'strive' when the strive-for grade is reached, 'secure' when the grade to secure
    is, 'missed' when neither; None when the grade or the targets are unknown."""
    got = grade_rank(grade)
    if got is None:
        return None
    if strive and grade_rank(strive) is not None and got <= grade_rank(strive):
        return "strive"
    if secure and grade_rank(secure) is not None:
        return "secure" if got <= grade_rank(secure) else "missed"
    return None


# Weak items -------------------------------------------------------------------------------

BELOW_TARGET, BOTTOM, BOTH = "below_target", "bottom", "both"


def find_weak_items(items, target_value=None, bottom_n: int = 0):
    """Weak items of one report: each item below `target_value`, and the `bottom_n`
    lowest items (ties at the cut included). `items` is [(code, score), ...].
    Returns [(code, reason), ...] lowest score first, reason BELOW_TARGET, BOTTOM or BOTH."""
    scored = sorted(((code, _dec(score)) for code, score in items if score is not None),
                    key=lambda pair: (pair[1], pair[0]))
    bottom = set()
    if bottom_n and scored:
        cut = scored[min(bottom_n, len(scored)) - 1][1]
        bottom = {code for code, score in scored if score <= cut}
    target = _dec(target_value)
    found = []
    for code, score in scored:
        below = target is not None and score < target
        low = code in bottom
        if below and low:
            found.append((code, BOTH))
        elif below:
            found.append((code, BELOW_TARGET))
        elif low:
            found.append((code, BOTTOM))
    return found


def item_recovered(score, target_value, weak_score=None) -> bool | None:
    """Has an item recovered? At or above its target; without a target, above the
    score it had when found weak. None when there is no new score to judge by."""
    if score is None:
        return None
    if target_value is not None:
        return _dec(score) >= _dec(target_value)
    if weak_score is not None:
        return _dec(score) > _dec(weak_score)
    return None


def meeting_due_on(report_day: date, days: int) -> date:
    """The analysis meeting is due `days` calendar days after the report arrived."""
    return report_day + timedelta(days=days)


# Rankings ----------------------------------------------------------------------------------

def rank(rows, key, *, reverse=True):
    """Competition ranking (1, 2, 2, 4) of `rows` by `key(row)`, best first; rows whose
    key is None come last without a rank. Returns [(rank or None, row), ...]."""
    present = [row for row in rows if key(row) is not None]
    missing = [row for row in rows if key(row) is None]
    present.sort(key=key, reverse=reverse)
    ranked, previous, position = [], object(), 0
    for index, row in enumerate(present, start=1):
        value = key(row)
        if value != previous:
            position, previous = index, value
        ranked.append((position, row))
    return ranked + [(None, row) for row in missing]


# Customer analysis ---------------------------------------------------------------------------

_SPAN_RE = re.compile(r"^\s*(\d{4})\s*(?:-?\s*[Qq]\s*([1-4]))?\s*$")
INTEREST_SEPARATORS = re.compile(r"[,，、;；/|\s]+")


@dataclass(frozen=True)
class Span:
    """A period of the customer analysis: a month, a quarter or a year. `end` is the day
    after the last day; `kind` is month, quarter or year; `text` as typed back in a link."""

    start: date
    end: date
    kind: str
    text: str

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def parse_span(value) -> Span:
    """A month (2026-05, as parse_period reads it), a quarter (2026-Q2) or a year (2026).
    ValueError otherwise."""
    text = str(value if value is not None else "").strip()
    match = _SPAN_RE.match(text)
    if match and (len(text) == 4 or match.group(2)):
        year = int(match.group(1))
        if not 2000 <= year <= LAST_YEAR:
            raise ValueError(text)
        if match.group(2):
            quarter = int(match.group(2))
            start = date(year, 3 * (quarter - 1) + 1, 1)
            return Span(start, add_months(start, 3), "quarter", f"{year}-Q{quarter}")
        return Span(date(year, 1, 1), date(year + 1, 1, 1), "year", f"{year}")
    start = parse_period(text)
    return Span(start, add_months(start, 1), "month", f"{start:%Y-%m}")


def span_shift(span: Span, steps: int) -> Span:
    """The span `steps` months, quarters or years before (negative) or after."""
    months = {"month": 1, "quarter": 3, "year": 12}[span.kind] * steps
    start = add_months(span.start, months)
    if span.kind == "year":
        return parse_span(f"{start.year}")
    if span.kind == "quarter":
        return parse_span(f"{start.year}-Q{(start.month - 1) // 3 + 1}")
    return parse_span(f"{start:%Y-%m}")


def analysis_day(span: Span, today: date) -> date:
    """The day ages and lapses are counted at: the period's last day, or today while the
    period is still running."""
    return min(span.last_day, today)


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)



def birth_range(lower: int, upper: int | None, day: date) -> tuple[date | None, date]:
    """Birth dates of the people aged `lower` to `upper` (both included; None: no upper)
    on `day`, as (born after, born on or before): age >= lower means born on or before
    `day` minus lower years; age <= upper means born after `day` minus (upper + 1) years."""
    latest = years_before(day, lower)
    earliest = years_before(day, upper + 1) if upper is not None else None
    return earliest, latest





def interests(text: str) -> list[str]:
    """The interests in a free-text hobbies field (钓鱼、摄影 / 钓鱼,摄影), each once."""
    seen = []
    for part in INTEREST_SEPARATORS.split(text or ""):
        part = part.strip()
        if part and part not in seen:
            seen.append(part)
    return seen


def shares(rows, key="count"):
    """Each row's share of the total in percent (one decimal), in place; returns rows."""
    total = sum(row[key] for row in rows)
    for row in rows:
        row["share"] = rate(row[key], total)
    return rows
