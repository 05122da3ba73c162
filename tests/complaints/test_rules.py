"""The complaint clock's pure arithmetic, probed on both sides of every edge."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complaints import rules
from complaints.rules import (
    Policy,
    SlaState,
    Status,
    Timekeeper,
    Window,
    resume_shift,
    sla_state,
)
from crm_site.rules import StoreCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = {d: (time(8, 30), time(17, 30)) for d in range(5)}
CALENDAR = StoreCalendar(hours=HOURS)
WALL = Timekeeper()
WORKING = Timekeeper(CALENDAR, SHANGHAI)
POLICY = Policy()
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def local(*args):
    return datetime(*args, tzinfo=SHANGHAI)


# Deadlines on the wall clock --------------------------------------------------------

def test_default_policy_is_the_domain_rule():
    assert POLICY.response == timedelta(minutes=30)
    assert POLICY.resolution == timedelta(hours=24)
    assert POLICY.department_days == 3
    assert POLICY.warning_percent == 80
    assert POLICY.repeat_window == timedelta(days=90)


def test_response_window_is_30_minutes_warning_at_24():
    window = rules.response_window(T0, POLICY, WALL)
    assert window.due_at == T0 + timedelta(minutes=30)
    assert window.warn_at == T0 + timedelta(minutes=24)


def test_resolution_window_is_24_hours_warning_at_19h12():
    window = rules.resolution_window(T0, POLICY, WALL)
    assert window.due_at == T0 + timedelta(hours=24)
    assert window.warn_at == T0 + timedelta(hours=19, minutes=12)


def test_department_window_is_3_days():
    window = rules.department_window(T0, POLICY, WALL)
    assert window.due_at == T0 + timedelta(days=3)
    assert window.warn_at == T0 + timedelta(hours=57, minutes=36)


def test_warning_is_floored_to_whole_seconds():
    policy = Policy(response=timedelta(seconds=7))
    window = rules.response_window(T0, policy, WALL)
    assert window.warn_at == T0 + timedelta(seconds=5)  # 5.6 s -> 5 s


@pytest.mark.parametrize(("done", "state"), [
    (timedelta(minutes=29, seconds=59), SlaState.IN_TIME),
    (timedelta(minutes=30), SlaState.IN_TIME),
    (timedelta(minutes=30, seconds=1), SlaState.BREACHED),
])
def test_response_done_around_the_deadline(done, state):
    window = rules.response_window(T0, POLICY, WALL)
    assert sla_state(window, now=T0 + timedelta(days=5), done_at=T0 + done) == state


@pytest.mark.parametrize(("elapsed", "state"), [
    (timedelta(0), SlaState.IN_TIME),
    (timedelta(minutes=23, seconds=59), SlaState.IN_TIME),
    (timedelta(minutes=24), SlaState.WARNING),
    (timedelta(minutes=30), SlaState.WARNING),
    (timedelta(minutes=30, seconds=1), SlaState.BREACHED),
])
def test_running_response_clock_states(elapsed, state):
    window = rules.response_window(T0, POLICY, WALL)
    assert sla_state(window, now=T0 + elapsed) == state


@pytest.mark.parametrize(("done", "state"), [
    (timedelta(hours=23, minutes=59, seconds=59), SlaState.IN_TIME),
    (timedelta(hours=24), SlaState.IN_TIME),
    (timedelta(hours=24, seconds=1), SlaState.BREACHED),
])
def test_resolution_done_around_24_hours(done, state):
    window = rules.resolution_window(T0, POLICY, WALL)
    assert sla_state(window, now=T0 + done, done_at=T0 + done) == state


def test_sweep_tests_match_the_state():
    window = rules.resolution_window(T0, POLICY, WALL)
    assert not rules.warning_due(window, now=window.warn_at - rules.SECOND)
    assert rules.warning_due(window, now=window.warn_at)
    assert not rules.breach_due(window, now=window.due_at)
    assert rules.breach_due(window, now=window.due_at + rules.SECOND)


def test_paused_clock_is_judged_at_its_pause():
    window = rules.resolution_window(T0, POLICY, WALL)
    paused = T0 + timedelta(hours=1)
    later = T0 + timedelta(days=3)
    assert sla_state(window, now=later, paused_at=paused) == SlaState.IN_TIME
    assert not rules.breach_due(window, now=later, paused_at=paused)
    assert not rules.warning_due(window, now=later, paused_at=paused)
    assert rules.remaining(window, now=later, paused_at=paused) == timedelta(hours=23)


def test_worst_state():
    assert rules.worst(SlaState.IN_TIME, None, SlaState.WARNING) == SlaState.WARNING
    assert rules.worst(SlaState.BREACHED, SlaState.WARNING) == SlaState.BREACHED
    assert rules.worst() == SlaState.IN_TIME


# Pause arithmetic ---------------------------------------------------------------------

def test_pause_moves_deadline_by_exactly_the_paused_time():
    window = rules.resolution_window(T0, POLICY, WALL)
    paused, resumed = T0 + timedelta(hours=2), T0 + timedelta(hours=5, minutes=17, seconds=3)
    shifted = resume_shift(window, paused_at=paused, resumed_at=resumed, keeper=WALL)
    assert shifted.due_at - window.due_at == resumed - paused
    assert shifted.warn_at - window.warn_at == resumed - paused


def test_pause_after_the_warning_leaves_the_warning_in_place():
    window = rules.resolution_window(T0, POLICY, WALL)
    paused = window.warn_at + timedelta(minutes=1)
    shifted = resume_shift(window, paused_at=paused, resumed_at=paused + timedelta(hours=1),
                           keeper=WALL)
    assert shifted.warn_at == window.warn_at
    assert shifted.due_at == window.due_at + timedelta(hours=1)


def test_zero_length_pause_changes_nothing():
    window = rules.resolution_window(T0, POLICY, WALL)
    moment = T0 + timedelta(hours=3)
    assert resume_shift(window, paused_at=moment, resumed_at=moment, keeper=WALL) == window


def test_pause_refused_past_the_deadline_or_twice():
    window = rules.resolution_window(T0, POLICY, WALL)
    rules.check_pause(paused_at=window.due_at, due_at=window.due_at)  # last second in time
    with pytest.raises(rules.PauseError):
        rules.check_pause(paused_at=window.due_at + rules.SECOND, due_at=window.due_at)
    with pytest.raises(rules.PauseError):
        rules.check_pause(paused_at=T0, due_at=window.due_at, already_paused_at=T0)
    with pytest.raises(rules.PauseError):
        resume_shift(window, paused_at=T0 + timedelta(hours=2), resumed_at=T0, keeper=WALL)



# Working hours ------------------------------------------------------------------------

def test_working_hours_response_late_friday_lands_monday_morning():
    friday = local(2026, 11, 20, 17, 20)
    window = rules.response_window(friday, POLICY, WORKING)
    assert window.due_at == local(2026, 11, 23, 8, 50)
    assert window.warn_at == local(2026, 11, 23, 8, 44)


def test_working_hours_received_before_opening_starts_at_opening():
    early = local(2026, 11, 23, 7, 0)
    assert rules.response_window(early, POLICY, WORKING).due_at == local(2026, 11, 23, 9, 0)


def test_working_hours_resolution_counts_nine_hour_days():
    start = local(2026, 11, 23, 10, 0)  # Monday: 7.5 h left; Tue 9 h; Wed 7.5 h from 8:30
    due = rules.resolution_window(start, POLICY, WORKING).due_at
    assert due == local(2026, 11, 25, 16, 0)
    assert WORKING.between(start, due) == timedelta(hours=24)


def test_working_hours_skip_the_national_day_holiday():
    start = local(2026, 9, 30, 17, 15)
    assert WORKING.add(start, timedelta(minutes=30)) == local(2026, 10, 8, 8, 45)


def test_working_hours_end_exactly_at_closing():
    start = local(2026, 11, 23, 17, 0)
    assert WORKING.add(start, timedelta(minutes=30)) == local(2026, 11, 23, 17, 30)


def test_working_days_for_the_department():
    friday = local(2026, 11, 20, 15, 0)
    policy = Policy(working_hours_only=True)
    assert rules.department_window(friday, policy, WORKING).due_at == local(2026, 11, 25, 15, 0)


def test_working_hours_pause_over_a_night_costs_nothing_extra():
    window = rules.resolution_window(local(2026, 11, 23, 9, 0), POLICY, WORKING)
    shifted = resume_shift(window, paused_at=local(2026, 11, 23, 17, 30),
                           resumed_at=local(2026, 11, 24, 8, 30), keeper=WORKING)
    assert shifted == window
    shifted = resume_shift(window, paused_at=local(2026, 11, 23, 16, 0),
                           resumed_at=local(2026, 11, 24, 10, 0), keeper=WORKING)
    assert WORKING.between(window.due_at, shifted.due_at) == timedelta(hours=3)


def test_between_is_antisymmetric_and_zero_outside_hours():
    a, b = local(2026, 11, 21, 10, 0), local(2026, 11, 22, 10, 0)  # a weekend
    assert WORKING.between(a, b) == timedelta(0)
    c = local(2026, 11, 23, 9, 0)
    assert WORKING.between(c, a) == -WORKING.between(a, c)


def test_working_timekeeper_needs_a_time_zone():
    with pytest.raises(ValueError, match="time zone"):
        Timekeeper(CALENDAR)
    with pytest.raises(ValueError):
        WALL.add(T0, timedelta(seconds=-1))


def test_working_timekeeper_with_no_hours_gives_up():
    closed = Timekeeper(StoreCalendar(hours={}, overrides={}), SHANGHAI)
    # StoreCalendar falls back to 9-17 on make-up days; a plain week has none.
    with pytest.raises(ValueError, match="no working time"):
        closed.add(local(2026, 3, 2, 9, 0), timedelta(hours=1), limit_days=20)


# Repeat and reasons --------------------------------------------------------------------

def test_repeat_window_is_90_days_inclusive():
    window = POLICY.repeat_window
    assert rules.is_repeat(T0, T0 - timedelta(days=90), window)
    assert not rules.is_repeat(T0, T0 - timedelta(days=90, seconds=1), window)
    assert rules.is_repeat(T0, T0, window)
    assert not rules.is_repeat(T0, T0 + rules.SECOND, window)


def test_repeated_repair_suggests_reason_g():
    assert rules.suggested_reasons(repeat_same_vehicle=True, category="technical") == {"G"}
    assert rules.suggested_reasons(repeat_same_vehicle=True, category="price") == set()
    assert rules.suggested_reasons(repeat_same_vehicle=False, category="technical") == set()


@pytest.mark.parametrize(("value", "parsed"), [
    ("c, a", "AC"), (["C", "a"], "AC"), ("CA", "AC"), ("h、b", "BH"), ("", ""), (None, ""),
    ("AA", "A"),
])
def test_parse_reasons(value, parsed):
    assert rules.parse_reasons(value) == parsed


@pytest.mark.parametrize("value", ["AZ", ["A", "X"], "I", ["AB"], "1"])
def test_unknown_reason_letters_are_named(value):
    with pytest.raises(rules.ReasonError) as info:
        rules.parse_reasons(value)
    assert info.value.unknown


# Workflow -------------------------------------------------------------------------------

def test_next_action_follows_the_round():
    assert [rules.next_action(s, paused=False) for s in Status] == [
        "respond", "hand_off", "department_feedback", "resolve", "callback", None]
    assert rules.next_action(Status.HANDED_OFF, paused=True) == "resume"


def test_allowed_actions():
    assert rules.allowed_actions(Status.NEW, paused=False) == ["respond"]
    assert rules.allowed_actions(Status.RESPONDED, paused=False) == ["hand_off", "resolve", "pause"]
    assert rules.allowed_actions(Status.RESPONDED, paused=True) == ["resume", "hand_off", "resolve"]
    assert rules.allowed_actions(Status.RESOLVED, paused=False) == ["callback", "reissue"]
    assert rules.allowed_actions(Status.CLOSED, paused=False) == []
    assert not rules.can(Status.NEW, "resolve", paused=False)
    assert rules.can(Status.FEEDBACK, "reissue", paused=False)


# Property: random event sequences ----------------------------------------------------------

def active_time(keeper, start, end, pauses):
    """Counted time from start to end with the pauses taken out (the oracle)."""
    total = keeper.between(start, end)
    for p_start, p_end in pauses:
        lo, hi = max(p_start, start), min(p_end, end)
        if lo < hi:
            total -= keeper.between(lo, hi)
    return total


seconds = st.integers(min_value=0, max_value=3 * 24 * 3600)


@settings(max_examples=300, deadline=None)
@given(
    received_offset=st.integers(min_value=0, max_value=14 * 24 * 3600),
    gaps=st.lists(st.tuples(seconds, seconds), max_size=6),
    probe=st.integers(min_value=0, max_value=10 * 24 * 3600),
    working=st.booleans(),
)
def test_random_pause_sequences_keep_the_clock_exact(received_offset, gaps, probe, working):
    """Pauses and resumes in any rhythm: the deadline is where exactly the window of
    counted, unpaused time has run; the warning where its 80% has run (unless paused
    after it); the state never goes back from breached to in time while time runs."""
    keeper = WORKING if working else WALL
    received = datetime(2026, 11, 2, tzinfo=UTC) + timedelta(seconds=received_offset)
    window = rules.resolution_window(received, POLICY, keeper)
    cursor, pauses = received, []
    warned_before_pause = False
    for run, length in gaps:
        paused = cursor + timedelta(seconds=run)
        try:
            rules.check_pause(paused_at=paused, due_at=window.due_at)
        except rules.PauseError:
            break
        warned_before_pause |= window.warn_at <= paused
        resumed = paused + timedelta(seconds=length)
        window = resume_shift(window, paused_at=paused, resumed_at=resumed, keeper=keeper)
        pauses.append((paused, resumed))
        cursor = resumed
        if not working:
            assert window.due_at - received - POLICY.resolution == \
                sum((e - s for s, e in pauses), timedelta(0))
    assert active_time(keeper, received, window.due_at, pauses) == POLICY.resolution
    if not warned_before_pause:
        assert active_time(keeper, received, window.warn_at, pauses) == \
            timedelta(hours=19, minutes=12)
    assert window.warn_at <= window.due_at
    # Monotone state after the last resume.
    now = cursor + timedelta(seconds=probe)
    later = now + timedelta(hours=1)
    order = rules.STATE_RANK
    assert order[sla_state(window, now=now)] <= order[sla_state(window, now=later)]
    assert (sla_state(window, now=now) == SlaState.BREACHED) == (now > window.due_at)
    assert rules.breach_due(window, now=now) == (now > window.due_at)


@settings(max_examples=200, deadline=None)
@given(start=st.integers(min_value=0, max_value=30 * 24 * 3600),
       duration=st.integers(min_value=0, max_value=5 * 24 * 3600))
def test_working_add_and_between_agree(start, duration):
    begin = datetime(2026, 9, 20, tzinfo=UTC) + timedelta(seconds=start)
    end = WORKING.add(begin, timedelta(seconds=duration))
    assert end >= begin
    assert WORKING.between(begin, end) == timedelta(seconds=duration)


def test_window_is_a_plain_value():
    window = Window(T0, T0 + timedelta(hours=1))
    assert window == Window(T0, T0 + timedelta(hours=1))
