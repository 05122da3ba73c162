"""The pure arithmetic of the reminder programmes."""

from datetime import date, datetime, time

import pytest

from crm_site.rules import StoreCalendar
from followups import rules

WEEKDAYS = {d: (time(8, 30), time(17, 30)) for d in range(5)}
cal = StoreCalendar(hours=WEEKDAYS)
MON = date(2026, 11, 23)


def test_nominal_date_adds_the_offset():
    assert rules.nominal_date(date(2026, 12, 15), -15) == date(2026, 11, 30)
    assert rules.nominal_date(date(2026, 12, 15), 1) == date(2026, 12, 16)
    assert rules.nominal_date(date(2026, 3, 1), -1) == date(2026, 2, 28)


def test_call_on_a_weekend_moves_to_friday():
    assert rules.call_day(date(2026, 11, 22), cal) == date(2026, 11, 20)  # Sunday
    assert rules.call_day(date(2026, 11, 21), cal) == date(2026, 11, 20)  # Saturday
    assert rules.call_day(MON, cal) == MON


def test_call_on_a_holiday_moves_to_the_previous_working_day():
    # National Day week 2026: 1-7 October off; 30 September a working day.
    assert rules.call_day(date(2026, 10, 5), cal) == date(2026, 9, 30)
    # A make-up Saturday is a working day.
    assert rules.call_day(date(2026, 2, 28), cal) == date(2026, 2, 28)


def test_sms_keeps_its_day_even_on_holidays():
    assert rules.planned_day("sms", date(2026, 10, 5), cal) == date(2026, 10, 5)
    assert rules.planned_day("call", date(2026, 10, 5), cal) == date(2026, 9, 30)


def test_planning_window_catches_up_and_looks_ahead_for_calls():
    friday = date(2026, 11, 20)
    window = rules.planning_window(friday, 2, "call", cal)
    assert min(window) == date(2026, 11, 18)
    assert max(window) == date(2026, 11, 22)  # Sunday's calls are made on Friday
    assert window[date(2026, 11, 22)] == friday
    assert window[date(2026, 11, 18)] == date(2026, 11, 18)
    sms = rules.planning_window(friday, 2, "sms", cal)
    assert sorted(sms) == [date(2026, 11, 18), date(2026, 11, 19), friday]


def test_planning_window_before_national_day_covers_the_whole_holiday():
    window = rules.planning_window(date(2026, 9, 30), 0, "call", cal)
    assert max(window) == date(2026, 10, 7)
    assert set(window.values()) == {date(2026, 9, 30)}


def test_looking_ahead_spreads_a_weekend_of_calls_over_the_nights_before():
    thursday, friday, saturday = date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)
    new = {}
    for night in (date(2026, 11, 18), thursday, friday, saturday, date(2026, 11, 22)):
        window = rules.planning_window(night, 0, "call", cal, lookahead_days=2)
        new[night] = max(window)
        assert all(planned >= night or planned == rules.call_day(night, cal)
                   for planned in window.values())
    # Each night writes one more nominal day: Thursday's night Saturday's calls, Friday's
    # night Sunday's, all planned on Friday; Saturday's night Monday's.
    assert new[thursday] == saturday
    assert rules.planning_window(thursday, 0, "call", cal, 2)[saturday] == friday
    assert new[friday] == date(2026, 11, 22)
    assert new[saturday] == MON
    assert rules.planning_window(saturday, 0, "call", cal, 2)[MON] == MON


def test_looking_ahead_still_covers_a_whole_holiday_on_its_eve():
    window = rules.planning_window(date(2026, 9, 30), 0, "call", cal, lookahead_days=2)
    assert max(window) == date(2026, 10, 7)
    assert set(window.values()) == {date(2026, 9, 30)}


def test_looking_ahead_leaves_sms_on_their_day():
    sms = rules.planning_window(MON, 0, "sms", cal, lookahead_days=2)
    assert sorted(sms) == [MON]


def test_planning_window_refuses_negative_catch_up():
    with pytest.raises(ValueError):
        rules.planning_window(MON, -1, "sms", cal)
    with pytest.raises(ValueError):
        rules.planning_window(MON, 0, "call", cal, lookahead_days=-1)


def test_due_dates_for_an_offset():
    window = {date(2026, 11, 23): date(2026, 11, 23)}
    assert rules.due_dates_for(window, -15) == {date(2026, 12, 8): (MON, MON)}
    assert rules.due_dates_for(window, 1) == {date(2026, 11, 22): (MON, MON)}


def test_birthday_on_29_february():
    assert rules.birthday_on(date(1992, 2, 29), 2026) == date(2026, 2, 28)
    assert rules.birthday_on(date(1992, 2, 29), 2028) == date(2028, 2, 29)
    assert rules.birthday_keys(date(2026, 2, 28)) == [(2, 28), (2, 29)]
    assert rules.birthday_keys(date(2028, 2, 28)) == [(2, 28)]
    assert rules.birthday_keys(date(2028, 2, 29)) == [(2, 29)]


def test_sms_send_window_and_expiry():
    nb, ex = rules.sms_send_window(MON, time(9), time(20))
    assert nb == datetime(2026, 11, 23, 9) and ex == datetime(2026, 11, 23, 20)
    nb, ex = rules.sms_send_window(MON, time(9), time(20), valid_days=1)
    assert ex == datetime(2026, 11, 24, 20)



def test_timed_sms_two_hours_before_a_class():
    start = datetime(2026, 11, 28, 14, 0)
    assert rules.timed_sms_window(start, -120, time(9), time(20)) == (datetime(2026, 11, 28, 12), start)
    early = datetime(2026, 11, 28, 10, 0)
    assert rules.timed_sms_window(early, -120, time(9), time(20))[0] == datetime(2026, 11, 28, 9)
    late = datetime(2026, 11, 28, 23, 0)
    assert rules.timed_sms_window(late, -120, time(9), time(20))[0] == datetime(2026, 11, 28, 19, 30)


@pytest.mark.parametrize(("today", "attempts", "expected"), [
    (MON, 1, date(2026, 11, 24)),                       # next day
    (MON, 2, date(2026, 11, 24)),
    (MON, 3, None),                                     # attempts used up
    (date(2026, 11, 20), 1, date(2026, 11, 23)),        # Friday -> Monday (beyond 2 days)
    (date(2026, 11, 19), 1, date(2026, 11, 20)),        # Thursday -> Friday
    (date(2026, 9, 30), 1, date(2026, 10, 8)),          # before National Day
])
def test_retry_on(today, attempts, expected):
    assert rules.retry_on(today, attempts, 3, 2, cal) == expected


def test_retry_on_with_more_attempts_allowed():
    assert rules.retry_on(MON, 3, 5, 2, cal) == date(2026, 11, 24)
    assert rules.retry_on(MON, 5, 5, 2, cal) is None




def test_balance_fills_the_least_loaded_first():
    assert rules.balance_counts({"a": 5, "b": 0, "c": 2}, 4) == {"a": 0, "b": 3, "c": 1}
    assert rules.balance_counts({"a": 0, "b": 0}, 5) == {"a": 3, "b": 2}
    assert rules.balance_counts({}, 5) == {}
    assert rules.balance_counts({"a": 1}, 0) == {"a": 0}


def test_balance_ends_even():
    loads = {1: 10, 2: 3, 3: 7, 4: 0}
    counts = rules.balance_counts(loads, 30)
    final = [loads[k] + counts[k] for k in loads]
    assert sum(counts.values()) == 30
    assert max(final) - min(final) <= 1
