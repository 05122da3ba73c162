"""Pure arithmetic of the customer records: due dates of the first and periodic service,
and similarity of names for duplicate detection. No ORM, no clock."""

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """Same day `months` later; the 31st becomes the last day of a shorter month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def first_service_due(delivered_on: date, months: int) -> date:
    """First service (首保) falls `months` after delivery (the brand rule)."""
    return add_months(delivered_on, months)


def next_service_due(visit_on: date, stated_next_on: date | None, interval_months: int) -> date:
    """Periodic service (定保): the date the advisor stated on the last visit, else
    `interval_months` after the visit."""
    if stated_next_on is not None:
        return stated_next_on
    return add_months(visit_on, interval_months)


def visit_moves_due(current_due: date | None, current_last_visit: date | None,
                    visit_on: date) -> bool:
    """A visit moves the due dates unless an already recorded visit is later than it (an
    old visit entered late must not push the reminder back)."""
    return current_last_visit is None or visit_on >= current_last_visit


def similar_names(a: str, b: str) -> bool:
    """Names that are probably the same person: equal after removing spaces, or one name
    inside the other when both have at least two characters (王伟 / 王伟先生)."""
    a, b = "".join(a.split()), "".join(b.split())
    if not a or not b:
        return False
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 2 and short in long


def lapse_cutoff(day: date, lapsed_after_days: int) -> date:
    """A car (or customer) whose last visit, or without one its delivery, was on the
    returned day or earlier is lapsed on `day`: no visit within `lapsed_after_days`
    (with 180, a visit 180 days ago is lapsed and one 179 days ago is not)."""
    return day - timedelta(days=lapsed_after_days)


# A policy counts as renewed when the car's next policy starts by this many days after it
# expires (a later start is a new customer won back, not a renewal): selectors.renewal_rate.
RENEWAL_GRACE_DAYS = 30
