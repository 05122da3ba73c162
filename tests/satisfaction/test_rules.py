"""The pure arithmetic: rates, periods, targets, grades, weak items, recovery, ranking."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from satisfaction import rules
from satisfaction.rules import BELOW_PLAN, BELOW_TARGET, BOTH, BOTTOM, MET, MISSED, TargetValue


class TestRates:
    def test_rate_in_percent_rounded_half_up(self):
        assert rules.rate(2, 3) == Decimal("66.7")
        assert rules.rate(1, 8) == Decimal("12.5")
        assert rules.rate(8, 8) == Decimal("100.0")

    def test_nothing_due_is_not_applicable_not_zero(self):
        assert rules.followup_rate(0, 0) is None
        assert rules.satisfied_share(0, 0) is None
        assert rules.rate(5, None) is None

    def test_nothing_reached_is_zero(self):
        assert rules.followup_rate(0, 10) == Decimal("0.0")

    def test_followup_rate_and_satisfied_share(self):
        assert rules.followup_rate(8, 10) == Decimal("80.0")
        assert rules.satisfied_share(49, 50) == Decimal("98.0")

    def test_points_score(self):
        assert rules.points_score([(10, 10), (5, 10)]) == Decimal("75.00")
        assert rules.points_score([]) is None
        assert rules.points_score([(0, 0)]) is None

    def test_average_and_change(self):
        assert rules.average([90, 85]) == Decimal("87.50")
        assert rules.average([]) is None
        assert rules.change(Decimal("950"), Decimal("940")) == Decimal("10")
        assert rules.change(None, 1) is None


class TestPeriods:
    @pytest.mark.parametrize("text", ["2026-05", "2026/5", "202605", "2026年5月", "2026-05-17",
                                      date(2026, 5, 31), datetime(2026, 5, 2, 13, 0)])
    def test_parse_period(self, text):
        assert rules.parse_period(text) == date(2026, 5, 1)

    @pytest.mark.parametrize("text", ["", "2026-13", "May", "1999-01", None, "2026-00"])
    def test_parse_period_rejects(self, text):
        with pytest.raises(ValueError):
            rules.parse_period(text)

    def test_add_months_across_years(self):
        assert rules.add_months(date(2026, 12, 1), 1) == date(2027, 1, 1)
        assert rules.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
        assert rules.months_back(date(2026, 2, 1), 3) == [date(2025, 12, 1), date(2026, 1, 1),
                                                          date(2026, 2, 1)]

    def test_period_bounds_are_midnight_in_shanghai(self):
        start, end = rules.period_bounds(date(2026, 6, 1))
        assert start.astimezone(UTC) == datetime(2026, 5, 31, 16, 0, tzinfo=UTC)
        assert end.astimezone(UTC) == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)

    def test_period_of_a_moment_follows_the_local_clock(self):
        assert rules.period_of(datetime(2026, 5, 31, 15, 59, 59, tzinfo=UTC)) == date(2026, 5, 1)
        assert rules.period_of(datetime(2026, 5, 31, 16, 0, 0, tzinfo=UTC)) == date(2026, 6, 1)


class TestTargets:
    def test_higher_is_better_with_threshold(self):
        ms = TargetValue(Decimal(90), Decimal(85))
        assert rules.target_status(Decimal(90), ms) == MET
        assert rules.target_status(Decimal("89.99"), ms) == BELOW_PLAN
        assert rules.target_status(Decimal(85), ms) == BELOW_PLAN
        assert rules.target_status(Decimal("84.99"), ms) == MISSED

    def test_without_threshold_short_of_plan_is_missed(self):
        rate = TargetValue(Decimal(80))
        assert rules.target_status(Decimal("79.9"), rate) == MISSED
        assert rules.target_status(Decimal(80), rate) == MET

    def test_rank_lower_is_better(self):
        top40 = TargetValue(Decimal(40))
        assert rules.target_status(1, top40, lower_is_better=True) == MET
        assert rules.target_status(40, top40, lower_is_better=True) == MET
        assert rules.target_status(41, top40, lower_is_better=True) == MISSED

    def test_no_figure_or_no_target(self):
        assert rules.target_status(None, TargetValue(Decimal(80))) is None
        assert rules.target_status(Decimal(80), None) is None

    def test_grades(self):
        assert rules.grade_status("A", "B", "A") == "strive"
        assert rules.grade_status("B", "B", "A") == "secure"
        assert rules.grade_status("C", "B", "A") == "missed"
        assert rules.grade_status("b+", "B", "A") == "secure"
        assert rules.grade_status("", "B", "A") is None
        assert rules.grade_status("B", "", "") is None

    def test_pick_the_most_specific_target(self):
        may, june = date(2026, 5, 1), date(2026, 6, 1)
        rows = [
            {"store_id": None, "period": None, "value": 1},
            {"store_id": None, "period": may, "value": 2},
            {"store_id": 7, "period": None, "value": 3},
            {"store_id": 7, "period": may, "value": 4},
            {"store_id": 8, "period": may, "value": 5},
        ]
        assert rules.pick_target(rows, 7, may)["value"] == 4
        assert rules.pick_target(rows, 7, june)["value"] == 3
        assert rules.pick_target(rows, 9, may)["value"] == 2
        assert rules.pick_target(rows, 9, june)["value"] == 1
        assert rules.pick_target([], 9, june) is None


class TestWeakItems:
    def test_below_target_and_bottom_n(self):
        items = [("a", 960), ("b", 930), ("c", 955), ("d", 970), ("e", 900)]
        found = rules.find_weak_items(items, target_value=950, bottom_n=2)
        assert found == [("e", BOTH), ("b", BOTH)]

    def test_bottom_items_meeting_target_are_still_weak(self):
        items = [("a", 990), ("b", 980), ("c", 970)]
        assert rules.find_weak_items(items, target_value=950, bottom_n=1) == [("c", BOTTOM)]

    def test_below_target_beyond_bottom_n(self):
        items = [("a", 900), ("b", 910), ("c", 920)]
        assert rules.find_weak_items(items, 950, 1) == [("a", BOTH), ("b", BELOW_TARGET),
                                                        ("c", BELOW_TARGET)]

    def test_ties_at_the_cut_are_all_weak(self):
        items = [("a", 990), ("b", 960), ("c", 960)]
        assert {code for code, _r in rules.find_weak_items(items, None, 1)} == {"b", "c"}

    def test_nothing_to_judge(self):
        assert rules.find_weak_items([], 950, 3) == []
        assert rules.find_weak_items([("a", 990)], None, 0) == []

    def test_recovery(self):
        assert rules.item_recovered(Decimal(950), Decimal(950)) is True
        assert rules.item_recovered(Decimal(949), Decimal(950)) is False
        assert rules.item_recovered(Decimal(930), None, weak_score=Decimal(920)) is True
        assert rules.item_recovered(None, Decimal(950)) is None
        assert rules.item_recovered(Decimal(930), None) is None

    def test_meeting_due(self):
        assert rules.meeting_due_on(date(2026, 5, 30), 3) == date(2026, 6, 2)


def test_competition_ranking():
    rows = [{"n": "a", "v": 90}, {"n": "b", "v": 95}, {"n": "c", "v": 90}, {"n": "d", "v": None}]
    ranked = rules.rank(rows, key=lambda r: r["v"])
    assert [(pos, r["n"]) for pos, r in ranked] == [(1, "b"), (2, "a"), (2, "c"), (None, "d")]
    ascending = rules.rank(rows, key=lambda r: r["v"], reverse=False)
    assert ascending[0][1]["v"] == 90
