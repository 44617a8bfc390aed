"""The memory queue in the database (``memory_queue``): memories waiting for the process that holds the store.

Policy: one short transaction per call, on the Store's session factory; the rows of one memory store
(its directory), oldest first. ``attempt`` is committed before the store is written and ``done``
deletes the row after, so whatever the moment of a crash the memory is either still queued or stored
with the row's token (which the next drain looks up before writing again: ``agent.memory.queue``).

Failure contract: database errors propagate (SQLAlchemy's); nothing is half-written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from storage.tables_memory import MemoryQueueRow

SessionFactory = Callable[[], AbstractContextManager[Session]]
Clock = Callable[[], datetime]
MAX_ERROR = 500


class MemoryQueueStore:
    """Reads and writes ``memory_queue`` rows; every public method is one transaction."""

    def __init__(self, session: SessionFactory, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    def add(self, store: str, text: str, kind: str, meta: Mapping[str, Any]) -> int:
        """Queue one memory for the store at ``store``; returns its row id."""
        row = MemoryQueueRow(created_at=self._clock(), store=store, token=uuid.uuid4().hex, kind=kind, text=text,
                             meta=dict(meta))
        with self._session() as s:
            s.add(row)
            s.flush()
            assert row.id is not None  # noqa: S101  (set by flush)
            return row.id

    def waiting(self, store: str, limit: int = 100) -> list[MemoryQueueRow]:
        """The queued memories of ``store``, oldest first."""
        with self._session() as s:
            stmt = (select(MemoryQueueRow).where(MemoryQueueRow.store == store)
                    .order_by(col(MemoryQueueRow.id)).limit(limit))
            return list(s.exec(stmt))

    def count(self, store: str) -> int:
        """How many memories of ``store`` wait."""
        with self._session() as s:
            return int(s.exec(select(func.count()).select_from(MemoryQueueRow)
                              .where(MemoryQueueRow.store == store)).one())

    def attempt(self, row_id: int) -> None:
        """Count one more write attempt (committed before the write)."""
        with self._session() as s:
            s.execute(update(MemoryQueueRow).where(col(MemoryQueueRow.id) == row_id)
                      .values(attempts=MemoryQueueRow.attempts + 1))

    def failed(self, row_id: int, error: str) -> None:
        """Keep why the last write failed."""
        with self._session() as s:
            s.execute(update(MemoryQueueRow).where(col(MemoryQueueRow.id) == row_id)
                      .values(last_error=error[:MAX_ERROR]))

    def done(self, row_id: int) -> None:
        """Delete a row whose memory the store accepted."""
        with self._session() as s:
            s.execute(delete(MemoryQueueRow).where(col(MemoryQueueRow.id) == row_id))
