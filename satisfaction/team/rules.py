"""Pure arithmetic of the team records: training periods, incentives, the vote, talks
and greeting dates. No ORM, no clock: callers pass the day."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import chinese_calendar

from crm_site.rules import holiday_name
from satisfaction.rules import add_months, rate  # noqa: F401 - rate re-exported for the KPIs

REWARD, PENALTY = "reward", "penalty"


# Training periods -------------------------------------------------------------------------

def period_start(frequency: str, day: date) -> date:
    """The first day of the week (Monday) or month that `day` falls in."""
    if frequency == "weekly":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period(frequency: str, start: date) -> date:
    if frequency == "weekly":
        return start + timedelta(days=7)
    return add_months(start, 1)


def previous_period(frequency: str, start: date) -> date:
    if frequency == "weekly":
        return start - timedelta(days=7)
    return add_months(start, -1)


@dataclass(frozen=True)
class TrainingStatus:
    current_start: date
    current_done: bool
    previous_start: date
    overdue: bool  # the previous week / month passed without a session


def training_status(frequency: str, today: date, held_days, *, since: date | None = None) -> TrainingStatus:
    """Where a plan stands on `today`, from the days its sessions were held. The last
    completed week or month without any session makes it overdue (not before `since`,
    the day the plan started to apply)."""
    current = period_start(frequency, today)
    previous = previous_period(frequency, current)
    held = list(held_days)
    current_done = any(current <= day < next_period(frequency, current) for day in held)
    previous_done = any(previous <= day < current for day in held)
    overdue = not previous_done and (since is None or since < current)
    return TrainingStatus(current, current_done, previous, overdue)


# Incentives -----------------------------------------------------------------------------

def ms_incentive(score, *, reward_at=None, penalty_below=None):
    """REWARD at a score of `reward_at` or more, PENALTY below `penalty_below`, else None.
    (90.0 is rewarded, 89.9 not; 84.9 is penalised, 85.0 not.)"""
    if score is None:
        return None
    score = Decimal(str(score))
    if reward_at is not None and score >= Decimal(str(reward_at)):
        return REWARD
    if penalty_below is not None and score < Decimal(str(penalty_below)):
        return PENALTY
    return None



# The smile service star ---------------------------------------------------------------------

def vote_winners(counts: dict) -> list:
    """The nominees with the most votes (several when tied); empty without votes."""
    if not counts:
        return []
    top = max(counts.values())
    return sorted(nominee for nominee, count in counts.items() if count == top)


# One-to-one talks ---------------------------------------------------------------------------

def talk_short(minutes, minimum) -> bool:
    """A talk under the minimum (29 of 30 minutes is short, 30 is not)."""
    return int(minutes) < int(minimum)


# Greetings ----------------------------------------------------------------------------------

def birthday_on(birthday: date | None, day: date) -> bool:
    """Whether `day` is the birthday; 29 February is greeted on 28 February in other years."""
    if birthday is None:
        return False
    if (birthday.month, birthday.day) == (day.month, day.day):
        return True
    leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
    return (birthday.month, birthday.day) == (2, 29) and not leap and (day.month, day.day) == (2, 28)


def festival_starts(festival: str, day: date, national=None, entered_years=()) -> bool:
    """Whether `day` is the first day off of a statutory festival (e.g. "spring_festival"),
    from the national calendar: the days the group admin entered ({date: (is_working,
    name)}, `entered_years` entered in full), else the holiday library. Years neither
    knows: False."""
    value = getattr(chinese_calendar.Holiday, festival, None)
    if value is None:
        return False
    today = holiday_name(day, national, entered_years)
    return today == value.value and holiday_name(day - timedelta(days=1), national,
                                                 entered_years) != value.value


def greeting_due(occasion: str, day: date, *, month=None, day_of_month=None, festival="",
                 national=None, entered_years=()) -> bool:
    """Whether a holiday greeting row (fixed date or festival) falls on `day`."""
    if occasion == "date":
        return (month, day_of_month) == (day.month, day.day)
    if occasion == "festival":
        return festival_starts(festival, day, national, entered_years)
    return False
