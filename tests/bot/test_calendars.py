"""Exchange calendars and the calendar triggers: trading days only, early closes, holidays, catch-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.daemon.calendars import NYSE, PARIS, Calendars
from bot.daemon.scheduler import missed_run
from bot.daemon.triggers import MarketHoursTrigger, SessionCloseTrigger


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fires(trigger: SessionCloseTrigger | MarketHoursTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Fire times from ``start`` until ``end``, asked the way APScheduler asks (previous fire, now)."""
    out: list[datetime] = []
    now, previous = start, None
    while (when := trigger.get_next_fire_time(previous, now)) is not None and when < end:
        out.append(when)
        previous, now = when, when
    return out


@pytest.fixture(scope="module")
def calendars() -> Calendars:
    return Calendars(FixedClock(utc(2026, 11, 20, 21, 0)))


def test_sessions_follow_the_exchange(calendars: Calendars) -> None:
    assert not calendars.is_trading_day(NYSE, date(2026, 11, 26))  # Thanksgiving
    assert calendars.is_trading_day(PARIS, date(2026, 11, 26))
    early = calendars.session(NYSE, date(2026, 11, 27))
    assert early is not None and early.close == utc(2026, 11, 27, 18, 0)  # the day after closes at 13:00 New York
    paris = calendars.session(PARIS, date(2026, 12, 1))
    assert paris is not None and (paris.open, paris.close) == (utc(2026, 12, 1, 8, 0), utc(2026, 12, 1, 16, 30))
    assert calendars.is_open(NYSE, utc(2026, 12, 1, 15, 0)) and not calendars.is_open(NYSE, utc(2026, 12, 1, 21, 0))
    assert not calendars.is_trading_day(NYSE, date(2026, 11, 28))  # a Saturday
    with pytest.raises(ValueError, match="unknown exchange calendar 'XXXX'"):
        calendars.is_trading_day("XXXX", date(2026, 12, 1))


def test_the_cycle_fires_after_the_close_on_trading_days_only(calendars: Calendars) -> None:
    trigger = SessionCloseTrigger(calendars, NYSE, timedelta(minutes=30))
    got = fires(trigger, utc(2026, 11, 23, 0, 0), utc(2026, 12, 1, 0, 0))
    assert got == [utc(2026, 11, 23, 21, 30), utc(2026, 11, 24, 21, 30), utc(2026, 11, 25, 21, 30),
                   utc(2026, 11, 27, 18, 30), utc(2026, 11, 30, 21, 30)]  # no Thanksgiving, early close, no weekend
    assert trigger.get_next_fire_time(None, utc(2026, 11, 23, 21, 30)) == utc(2026, 11, 23, 21, 30)


def test_the_weekly_report_fires_after_the_last_session_of_each_week(calendars: Calendars) -> None:
    trigger = SessionCloseTrigger(calendars, NYSE, timedelta(minutes=60), weekly=True)
    got = fires(trigger, utc(2026, 3, 23, 0, 0), utc(2026, 4, 13, 0, 0))
    # Good Friday (3 April 2026) closes NYSE: that week's report goes out on Thursday.
    assert got == [utc(2026, 3, 27, 21, 0), utc(2026, 4, 2, 21, 0), utc(2026, 4, 10, 21, 0)]


def test_the_monitor_fires_every_two_hours_while_a_market_is_open(calendars: Calendars) -> None:
    trigger = MarketHoursTrigger(calendars, (NYSE, PARIS), timedelta(hours=2))
    tuesday = fires(trigger, utc(2026, 12, 1, 0, 0), utc(2026, 12, 2, 0, 0))
    assert [t.hour for t in tuesday] == [8, 10, 12, 14, 16, 18, 20]  # Paris from 08:00, New York until 21:00
    assert fires(trigger, utc(2026, 12, 5, 0, 0), utc(2026, 12, 7, 0, 0)) == []  # the weekend
    assert fires(trigger, utc(2026, 12, 25, 0, 0), utc(2026, 12, 26, 0, 0)) == []  # both closed at Christmas
    assert trigger.get_next_fire_time(None, utc(2026, 12, 4, 20, 30)) == utc(2026, 12, 7, 8, 0)
    with pytest.raises(ValueError, match="positive"):
        MarketHoursTrigger(calendars, (NYSE,), timedelta(0))


def test_a_missed_cycle_counts_trading_days_only(calendars: Calendars) -> None:
    trigger = SessionCloseTrigger(calendars, NYSE, timedelta(minutes=30))
    wednesday = utc(2026, 11, 25, 21, 30, 5)
    assert not missed_run(trigger, wednesday, utc(2026, 11, 27, 17, 0))  # Thanksgiving had no cycle to miss
    assert missed_run(trigger, wednesday, utc(2026, 11, 27, 19, 0))  # the early-close cycle was missed
    friday = utc(2026, 11, 20, 21, 30, 5)
    assert not missed_run(trigger, friday, utc(2026, 11, 23, 20, 0))  # a weekend misses nothing
