"""Due-date arithmetic."""

from datetime import date

from customers import rules


def test_add_months_clamps_to_month_end():
    assert rules.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rules.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert rules.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert rules.add_months(date(2026, 8, 10), -6) == date(2026, 2, 10)
    assert rules.add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_first_service_due_from_delivery():
    assert rules.first_service_due(date(2026, 8, 10), 3) == date(2026, 11, 10)


def test_next_service_prefers_stated_date():
    assert rules.next_service_due(date(2026, 5, 1), date(2026, 9, 1), 6) == date(2026, 9, 1)
    assert rules.next_service_due(date(2026, 5, 1), None, 6) == date(2026, 11, 1)


def test_an_older_visit_does_not_move_the_dates():
    assert rules.visit_moves_due(None, None, date(2026, 1, 1))
    assert rules.visit_moves_due(date(2026, 6, 1), date(2026, 1, 1), date(2026, 1, 1))
    assert not rules.visit_moves_due(date(2026, 6, 1), date(2026, 1, 2), date(2026, 1, 1))


def test_similar_names():
    assert rules.similar_names("王伟", "王 伟")
    assert rules.similar_names("王伟", "王伟先生")
    assert not rules.similar_names("王", "王伟")
    assert not rules.similar_names("王伟", "李伟")
    assert not rules.similar_names("", "李伟")
