"""The pure arithmetic of the team records, at its edges."""

from datetime import date
from decimal import Decimal

import pytest

from satisfaction.team import rules


@pytest.mark.parametrize(("score", "expected"), [
    ("84.9", rules.PENALTY), ("85.0", None), ("89.9", None), ("90.0", rules.REWARD), ("100", rules.REWARD),
    ("0", rules.PENALTY),
])
def test_ms_incentive_edges(score, expected):
    assert rules.ms_incentive(Decimal(score), reward_at=Decimal(90), penalty_below=Decimal(85)) == expected


def test_ms_incentive_without_rules_or_score():
    assert rules.ms_incentive(Decimal("50")) is None
    assert rules.ms_incentive(None, reward_at=90, penalty_below=85) is None



@pytest.mark.parametrize(("minutes", "short"), [(29, True), (30, False), (31, False), (1, True)])
def test_talk_short(minutes, short):
    assert rules.talk_short(minutes, 30) is short


def test_vote_winners_and_ties():
    assert rules.vote_winners({}) == []
    assert rules.vote_winners({1: 3, 2: 5, 3: 1}) == [2]
    assert rules.vote_winners({1: 4, 2: 4, 3: 1}) == [1, 2]


def test_birthday_including_29_february():
    assert rules.birthday_on(date(1990, 12, 2), date(2026, 12, 2))
    assert not rules.birthday_on(date(1990, 12, 2), date(2026, 12, 3))
    assert not rules.birthday_on(None, date(2026, 12, 2))
    assert rules.birthday_on(date(1992, 2, 29), date(2027, 2, 28))
    assert not rules.birthday_on(date(1992, 2, 29), date(2028, 2, 28))
    assert rules.birthday_on(date(1992, 2, 29), date(2028, 2, 29))


def test_festival_first_day_from_the_statutory_calendar():
    assert rules.festival_starts("spring_festival", date(2026, 2, 15))
    assert not rules.festival_starts("spring_festival", date(2026, 2, 16))
    assert not rules.festival_starts("spring_festival", date(2026, 2, 14))
    assert rules.festival_starts("national_day", date(2026, 10, 1))
    assert not rules.festival_starts("no_such_day", date(2026, 10, 1))
    assert not rules.festival_starts("national_day", date(2099, 10, 1))  # year not known yet
    assert rules.greeting_due("date", date(2026, 3, 8), month=3, day_of_month=8)
    assert not rules.greeting_due("date", date(2026, 3, 9), month=3, day_of_month=8)


def test_training_periods():
    monday = date(2026, 11, 30)
    assert rules.period_start("weekly", date(2026, 12, 6)) == monday
    assert rules.period_start("monthly", date(2026, 12, 6)) == date(2026, 12, 1)
    status = rules.training_status("weekly", date(2026, 12, 2), [date(2026, 11, 25)])
    assert (status.current_done, status.overdue) == (False, False)
    status = rules.training_status("weekly", date(2026, 12, 2), [date(2026, 11, 22), date(2026, 12, 1)])
    assert (status.current_done, status.overdue) == (True, True)  # last week had none
    status = rules.training_status("monthly", date(2026, 12, 2), [date(2026, 11, 30)])
    assert (status.current_done, status.overdue) == (False, False)
    status = rules.training_status("monthly", date(2026, 12, 2), [date(2026, 10, 30)])
    assert status.overdue
    # A store that started training this period is not overdue for the one before.
    assert not rules.training_status("weekly", date(2026, 12, 2), [], since=date(2026, 12, 1)).overdue
