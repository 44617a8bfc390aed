"""Backtest runs in the database: one ``backtest_run`` row per finished run or walk-forward fold.

Policy: a run is stored once, when it has finished (a replay writes nothing while it runs), all its
folds in one short transaction; rows come back detached. Failure contract: database errors propagate
unchanged (nothing is half-written: the insert is one transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlmodel import Session, col, delete, select

from storage.tables_backtest import BacktestRunRow


class BacktestStore:
    """Stores and reads backtest runs through the Store's ``session``."""

    def __init__(self, session: Callable[[], AbstractContextManager[Session]], clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def save_runs(self, rows: list[BacktestRunRow]) -> None:
        """Store a run's rows (one per walk-forward fold) in one transaction: all of them or none
        (``created_at`` from the clock when unset).

        A row whose id is already stored is replaced: a sweep's ids are its keys, so a run rerun
        after a crash that left part of its folds (as one transaction per fold once did) is
        stored whole instead of failing on the primary key.
        """
        for row in rows:
            if row.created_at is None:
                row.created_at = self._clock()
        with self._session() as s:
            s.execute(delete(BacktestRunRow).where(col(BacktestRunRow.id).in_([r.id for r in rows])))
            s.add_all(rows)

    def get_run(self, run_id: str) -> BacktestRunRow | None:
        """One run by id."""
        with self._session() as s:
            return s.get(BacktestRunRow, run_id)

    def runs(self, limit: int = 20) -> list[BacktestRunRow]:
        """The most recent runs first."""
        with self._session() as s:
            stmt = select(BacktestRunRow).order_by(col(BacktestRunRow.created_at).desc()).limit(limit)
            return list(s.exec(stmt).all())
