"""APScheduler triggers that follow exchange calendars instead of the weekday.

``SessionCloseTrigger`` fires a fixed delay after an exchange's close on its trading days only
(early closes move the time with them; holidays and weekends never fire); with ``weekly`` it
fires only after the last session of each week. ``MarketHoursTrigger`` fires on a UTC grid
(every ``interval`` from midnight) at the points where at least one exchange is in session.
Both answer "next fire time after now" from the calendar alone, so the same question asked with
an injected ``now`` (tests, catch-up after downtime) gets the answer the scheduler would act on.
A trigger that finds nothing within ``HORIZON_DAYS`` returns None (the job stops being scheduled).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from apscheduler.triggers.base import BaseTrigger

from bot.daemon.calendars import Calendars

HORIZON_DAYS = 21


def _after(candidate: datetime, previous: datetime | None, now: datetime) -> bool:
    return candidate > previous if previous is not None and previous >= now else candidate >= now


class SessionCloseTrigger(BaseTrigger):  # type: ignore[misc]
    """``delay`` after the exchange's close, on trading days (or only the week's last one)."""

    def __init__(self, calendars: Calendars, exchange: str, delay: timedelta, *, weekly: bool = False) -> None:
        self.calendars, self.exchange, self.delay, self.weekly = calendars, exchange, delay, weekly

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The first session close + delay not before ``now`` (and after the previous fire)."""
        now = now.astimezone(UTC)
        start = (now - self.delay).date() - timedelta(days=1)
        for session in self.calendars.sessions(self.exchange, start, HORIZON_DAYS):
            if self.weekly and not self.calendars.last_session_of_week(self.exchange, session.day):
                continue
            candidate = session.close + self.delay
            if _after(candidate, previous_fire_time, now):
                return candidate
        return None

    def __str__(self) -> str:
        kind = "last session of the week" if self.weekly else "each session"
        return f"{self.exchange} close + {self.delay} ({kind})"


class MarketHoursTrigger(BaseTrigger):  # type: ignore[misc]
    """Every ``interval`` on a UTC grid from midnight, while any of ``exchanges`` is in session."""

    def __init__(self, calendars: Calendars, exchanges: Sequence[str], interval: timedelta) -> None:
        if interval <= timedelta(0):
            raise ValueError("the market-hours interval must be positive")
        self.calendars, self.exchanges, self.interval = calendars, tuple(exchanges), interval

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The first grid point not before ``now`` at which an exchange is open."""
        now = now.astimezone(UTC)
        midnight = datetime.combine(now.date(), time(0), tzinfo=UTC)
        for day in range(HORIZON_DAYS):
            start = midnight + timedelta(days=day)
            point = start
            while point < start + timedelta(days=1):
                if _after(point, previous_fire_time, now) and self.is_open(point):
                    return point
                point += self.interval
        return None

    def is_open(self, at: datetime) -> bool:
        """Is any of the exchanges in session at ``at``?"""
        return any(self.calendars.is_open(exchange, at) for exchange in self.exchanges)

    def __str__(self) -> str:
        return f"every {self.interval} while {'/'.join(self.exchanges)} is open"
