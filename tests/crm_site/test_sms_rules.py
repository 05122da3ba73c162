"""The pure rules of outbound SMS: which replies opt out, and how long a number waits
under the providers' limits (at the edges)."""

from datetime import UTC, datetime, timedelta

import pytest

from crm_site.rules import is_opt_out, recipient_wait

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LIMITS = {"interval": timedelta(seconds=60), "hourly": 5, "daily": 10}


@pytest.mark.parametrize("text", ["TD", "td", " T ", "退订", "T。", "回复退订", "TD!"])
def test_opt_out_replies(text):
    assert is_opt_out(text)


@pytest.mark.parametrize("text", ["好的", "TDK", "谢谢，明天到店", "OK", ""])
def test_other_replies_are_not_opt_outs(text):
    assert not is_opt_out(text)


def test_a_number_not_sent_to_may_go_now():
    assert recipient_wait([], NOW, **LIMITS) is None


def test_one_a_minute_at_the_edge():
    assert recipient_wait([NOW - timedelta(seconds=59)], NOW, **LIMITS) == timedelta(seconds=1)
    assert recipient_wait([NOW - timedelta(seconds=60)], NOW, **LIMITS) is None


def test_five_an_hour_waits_for_the_oldest_of_the_five_to_age_out():
    sent = [NOW - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]
    assert recipient_wait(sent, NOW, **LIMITS) == timedelta(minutes=10)
    assert recipient_wait(sent[1:], NOW, **LIMITS) is None


def test_ten_a_day():
    sent = [NOW - timedelta(hours=h) for h in range(2, 12)]
    assert recipient_wait(sent, NOW, **LIMITS) == timedelta(hours=13)  # oldest: 11 h ago
    assert recipient_wait(sent[:9], NOW, **LIMITS) is None
