"""Pure arithmetic of inspections: scores, deadlines, round times. No ORM, no clock, no
I/O; callers pass plain values and `now`."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from crm_site.rules import percent

PASS, FAIL, NA = "pass", "fail", "na"


@dataclass(frozen=True)
class Score:
    """A round's result: weighted percentage (None when nothing counted) and counts."""

    percent: Decimal | None
    passed: int
    failed: int
    not_applicable: int
    unanswered: int


def score(results: Iterable[tuple[str, int]]) -> Score:
    """Weighted score of (outcome, weight) pairs, 0-100 with one decimal.

    Passed weight divided by the weight of every item answered pass or fail; items not
    applicable (and unanswered ones) are left out of both. All N/A: no score (None).
    """
    earned = possible = 0
    counts = {PASS: 0, FAIL: 0, NA: 0, "": 0}
    for outcome, weight in results:
        if weight < 0:
            raise ValueError("weight must not be negative")
        counts[outcome or ""] += 1
        if outcome == PASS:
            earned += weight
            possible += weight
        elif outcome == FAIL:
            possible += weight
    percent = None
    if possible:
        percent = (Decimal(100) * earned / possible).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return Score(percent, counts[PASS], counts[FAIL], counts[NA], counts[""])


def pass_rate(passed: int, failed: int) -> Decimal | None:
    """Share of answered items that passed, in percent with one decimal; None if none."""
    return percent(passed, passed + failed)


@dataclass(frozen=True)
class Policy:
    """A deadline rule row: store id (None: every store), area ("" for every area),
    severity and minutes."""

    store_id: int | None
    area: str
    severity: str
    minutes: int


def deadline_minutes(policies: Iterable[Policy], *, store_id: int, area: str, severity: str) -> int:
    """The minutes allowed to fix a failure: the most specific matching row wins
    (store before default, named area before every area). No row: one working day."""
    best, best_rank = None, None
    for policy in policies:
        if policy.severity != severity:
            continue
        if policy.store_id not in (None, store_id) or policy.area not in ("", area):
            continue
        rank = (policy.store_id is not None, policy.area != "")
        if best_rank is None or rank > best_rank:
            best, best_rank = policy, rank
    return best.minutes if best else 24 * 60


def due_at(notified_at: datetime, minutes: int) -> datetime:
    """The deadline: `minutes` after the notice. Overdue only strictly after it."""
    return notified_at + timedelta(minutes=minutes)



def rectification_late(*, due_at, fixed_at=None, overdue_at=None) -> bool:
    """A rectification counts against its person when the sweep marked it overdue, or
    when its fix came after the deadline (fixed exactly at the deadline is on time).
    The SQL twin is selectors.LATE; tests hold the two together."""
    return overdue_at is not None or (fixed_at is not None and fixed_at > due_at)


def round_time(day: date, time_of_day: time, tz_name: str) -> datetime:
    """The aware moment of a round planned at `time_of_day` (store wall clock) on `day`."""
    return datetime.combine(day, time_of_day, tzinfo=ZoneInfo(tz_name))


def week_start(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())
