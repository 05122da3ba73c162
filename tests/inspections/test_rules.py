"""The pure arithmetic: weighted scores with N/A left out, deadlines, round times."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspections import rules
from inspections.rules import FAIL, NA, PASS, Policy


def test_score_weighs_items():
    # 3 + 1 passed of 3 + 1 + 2 answered: 4 / 6.
    result = rules.score([(PASS, 3), (PASS, 1), (FAIL, 2)])
    assert result.percent == Decimal("66.7")
    assert (result.passed, result.failed, result.not_applicable) == (2, 1, 0)


def test_not_applicable_is_left_out_of_both_sides():
    with_na = rules.score([(PASS, 3), (FAIL, 1), (NA, 10)])
    without = rules.score([(PASS, 3), (FAIL, 1)])
    assert with_na.percent == without.percent == Decimal("75.0")
    assert with_na.not_applicable == 1


def test_heavy_failure_costs_more_than_light_one():
    assert rules.score([(PASS, 1), (FAIL, 3)]).percent == Decimal("25.0")
    assert rules.score([(PASS, 3), (FAIL, 1)]).percent == Decimal("75.0")


def test_all_not_applicable_has_no_score():
    result = rules.score([(NA, 2), (NA, 1)])
    assert result.percent is None
    assert rules.score([]).percent is None


def test_all_pass_and_all_fail():
    assert rules.score([(PASS, 2), (PASS, 5)]).percent == Decimal("100.0")
    assert rules.score([(FAIL, 2), (FAIL, 5)]).percent == Decimal("0.0")


def test_unanswered_items_are_counted_apart():
    result = rules.score([(PASS, 1), ("", 5)])
    assert result.percent == Decimal("100.0")
    assert result.unanswered == 1


def test_rounding_half_up():
    assert rules.score([(PASS, 1), (FAIL, 1), (FAIL, 1)]).percent == Decimal("33.3")
    assert rules.score([(PASS, 2), (FAIL, 1)]).percent == Decimal("66.7")


def test_negative_weight_is_refused():
    with pytest.raises(ValueError):
        rules.score([(PASS, -1)])


@given(st.lists(st.tuples(st.sampled_from([PASS, FAIL, NA]), st.integers(min_value=1, max_value=100)),
                max_size=30))
def test_score_is_between_0_and_100_and_ignores_na(pairs):
    result = rules.score(pairs)
    counted = [p for p in pairs if p[0] != NA]
    if not counted:
        assert result.percent is None
    else:
        assert Decimal(0) <= result.percent <= Decimal(100)
        assert result.percent == rules.score(counted).percent


def test_pass_rate():
    assert rules.pass_rate(9, 1) == Decimal("90.0")
    assert rules.pass_rate(0, 0) is None


POLICIES = [
    Policy(None, "", "minor", 240),
    Policy(None, "", "major", 60),
    Policy(None, "display_cars", "minor", 10),
    Policy(None, "display_cars", "major", 10),
    Policy(7, "", "minor", 120),
    Policy(7, "bar", "minor", 15),
]


@pytest.mark.parametrize(("store", "area", "severity", "minutes"), [
    (1, "showroom", "minor", 240),
    (1, "showroom", "major", 60),
    (1, "display_cars", "minor", 10),
    (1, "display_cars", "major", 10),
    (7, "showroom", "minor", 120),     # the store's own row wins over the default
    (7, "bar", "minor", 15),           # its area row wins over its every-area row
    (7, "display_cars", "minor", 120),  # a store row beats a default even for a named area
    (7, "display_cars", "major", 10),
])
def test_deadline_minutes_most_specific_row_wins(store, area, severity, minutes):
    assert rules.deadline_minutes(POLICIES, store_id=store, area=area, severity=severity) == minutes


def test_deadline_without_any_row_is_one_day():
    assert rules.deadline_minutes([], store_id=1, area="bar", severity="minor") == 24 * 60


def test_due_and_overdue_edge():
    notified = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    due = rules.due_at(notified, 10)
    assert due == notified + timedelta(minutes=10)


def test_round_time_is_store_wall_clock():
    moment = rules.round_time(date(2026, 11, 23), time(14, 15), "Asia/Shanghai")
    assert moment.astimezone(UTC) == datetime(2026, 11, 23, 6, 15, tzinfo=UTC)


def test_week_start_is_monday():
    assert rules.week_start(date(2026, 11, 29)) == date(2026, 11, 23)
    assert rules.week_start(date(2026, 11, 23)) == date(2026, 11, 23)


DUE = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 Beijing


@pytest.mark.parametrize(("fixed", "overdue", "late"), [
    (DUE, None, False),                                # fixed at 10:00: on time
    (DUE + timedelta(minutes=1), None, True),          # fixed at 10:01: late
    (None, DUE + timedelta(minutes=1), True),          # marked overdue by the sweep
    (DUE - timedelta(minutes=5), None, False),
])
def test_rectification_late(fixed, overdue, late):
    assert rules.rectification_late(due_at=DUE, fixed_at=fixed, overdue_at=overdue) is late
