"""Time comes from an injected clock: UTC-aware, replaceable in tests and backtests."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Protocol

CLOSE_TIME = time(21, 0, tzinfo=UTC)
"""The US close in UTC: where a pinned day's clock stands, and when a day's bar is stamped."""


class Clock(Protocol):
    """Something that tells the time."""

    def __call__(self) -> datetime:
        """Now, UTC-aware."""
        ...


def system_clock() -> datetime:
    """The real time in UTC."""
    return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is put (tests, backtests)."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self.now = now

    def __call__(self) -> datetime:
        """The fixed time."""
        return self.now

    def advance(self, **delta: float) -> None:
        """Move forward by a timedelta given as keyword arguments."""
        self.now += timedelta(**delta)
