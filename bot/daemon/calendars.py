"""Exchange calendars: which days an exchange trades, and its session hours in UTC.

Policy: the sessions come from ``exchange-calendars`` (its holiday rules ship inside the
package, so nothing is fetched), loaded on first use per exchange and kept as a plain
``date -> Session`` table, from ``history_days`` before the injected clock's date (a short range
keeps the daemon's start-up fast) to one year after the wall clock. Early closes (the day after
Thanksgiving, Christmas Eve) are real sessions with an earlier close. Failure contract: an
unknown exchange code is a ``ValueError`` naming it; a date outside the loaded range is treated
as not a trading day, so a schedule never fires on a guess.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.clock import Clock, system_clock

NYSE = "XNYS"
PARIS = "XPAR"
EXCHANGES = (NYSE, PARIS)


@dataclass(frozen=True)
class Session:
    """One trading session, UTC-aware."""

    day: date
    open: datetime
    close: datetime

    def contains(self, at: datetime) -> bool:
        """Is ``at`` within the session (open inclusive, close exclusive)?"""
        return self.open <= at < self.close


class Calendars:
    """Trading days and hours of the exchanges the desk trades on."""

    def __init__(self, clock: Clock = system_clock, history_days: int = 400) -> None:
        self.clock, self.history_days = clock, history_days
        self._tables: dict[str, dict[date, Session]] = {}

    def _table(self, exchange: str) -> dict[date, Session]:
        table = self._tables.get(exchange)
        if table is None:
            import exchange_calendars  # about 0.3 s to import: only when a schedule needs it
            import pandas as pd

            start = pd.Timestamp(self.clock().date() - timedelta(days=self.history_days))
            with warnings.catch_warnings():  # the library's own pandas deprecations are not ours to act on
                warnings.simplefilter("ignore")
                try:
                    schedule = exchange_calendars.get_calendar(exchange, start=start).schedule
                except exchange_calendars.errors.InvalidCalendarName:
                    raise ValueError(f"unknown exchange calendar {exchange!r}: use one of "
                                     f"{', '.join(EXCHANGES)}") from None
            table = {
                day.date(): Session(day=day.date(), open=opened.to_pydatetime().astimezone(UTC),
                                    close=closed.to_pydatetime().astimezone(UTC))
                for day, opened, closed in zip(schedule.index, schedule["open"], schedule["close"], strict=True)
            }
            self._tables[exchange] = table
        return table

    def session(self, exchange: str, day: date) -> Session | None:
        """The session on ``day``, or None when the exchange is closed that day."""
        return self._table(exchange).get(day)

    def is_trading_day(self, exchange: str, day: date) -> bool:
        """Does the exchange trade on ``day``?"""
        return self.session(exchange, day) is not None

    def is_open(self, exchange: str, at: datetime) -> bool:
        """Is the exchange in session at ``at``?"""
        session = self.session(exchange, at.astimezone(UTC).date())
        return session is not None and session.contains(at)

    def sessions(self, exchange: str, start: date, days: int) -> list[Session]:
        """The sessions from ``start`` over the next ``days`` calendar days, in order."""
        table = self._table(exchange)
        found = (table.get(start + timedelta(days=offset)) for offset in range(days))
        return [session for session in found if session is not None]

    def last_session_of_week(self, exchange: str, day: date) -> bool:
        """Is ``day`` the exchange's last trading day of its ISO week (Friday, or earlier before a holiday)?"""
        if not self.is_trading_day(exchange, day):
            return False
        rest = range(1, 7 - day.weekday())
        return not any(self.is_trading_day(exchange, day + timedelta(days=offset)) for offset in rest)
