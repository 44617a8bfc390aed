"""The sleeves' records in the database (``sleeve_allocation``, ``sleeve_day``).

Policy: one short transaction per call, on the Store's session factory. Recording a day replaces
the rows of that date (a cycle re-run on the same date), in one transaction.

Failure contract: database errors propagate (SQLAlchemy's); nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import date

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.tables_sleeves import SleeveAllocationRow, SleeveDayRow

SessionFactory = Callable[[], AbstractContextManager[Session]]


class SleeveStore:
    """Reads and writes the sleeves' rows; every public method is one transaction."""

    def __init__(self, session: SessionFactory) -> None:
        self._session = session

    def add_allocation(self, row: SleeveAllocationRow) -> None:
        """Keep one allocation."""
        with self._session() as s:
            s.add(row)

    def latest_allocation(self) -> SleeveAllocationRow | None:
        """The allocation in force (the last decided), if any."""
        with self._session() as s:
            return s.exec(select(SleeveAllocationRow).order_by(col(SleeveAllocationRow.as_of).desc(),
                                                               col(SleeveAllocationRow.id).desc()).limit(1)).first()

    def allocations(self, limit: int = 1000) -> list[SleeveAllocationRow]:
        """The last ``limit`` allocations, oldest first."""
        with self._session() as s:
            rows = s.exec(select(SleeveAllocationRow).order_by(col(SleeveAllocationRow.as_of).desc(),
                                                               col(SleeveAllocationRow.id).desc()).limit(limit))
            return list(reversed(list(rows)))

    def record_days(self, rows: Sequence[SleeveDayRow]) -> None:
        """Keep one decision day of the sleeves, replacing that date's rows."""
        if not rows:
            return
        with self._session() as s:
            s.execute(delete(SleeveDayRow).where(col(SleeveDayRow.as_of).in_({r.as_of for r in rows})))
            s.add_all(rows)

    def day_returns(self, sleeve: str, limit: int) -> list[float]:
        """The sleeve's last ``limit`` day returns, oldest first."""
        with self._session() as s:
            stmt = (select(SleeveDayRow.day_return).where(SleeveDayRow.sleeve == sleeve)
                    .order_by(col(SleeveDayRow.as_of).desc()).limit(limit))
            return list(reversed([float(v) for v in s.exec(stmt)]))

    def days(self, since: date | None = None) -> list[SleeveDayRow]:
        """Every sleeve's days (from ``since``), by date, each day in the sleeves' order."""
        with self._session() as s:
            stmt = select(SleeveDayRow)
            if since is not None:
                stmt = stmt.where(SleeveDayRow.as_of >= since)
            return list(s.exec(stmt.order_by(col(SleeveDayRow.as_of), col(SleeveDayRow.id))))
