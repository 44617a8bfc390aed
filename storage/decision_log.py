"""The decision log's query: stored proposals filtered by symbol, verdict level and deciding actor.

Policy: filters run in the database (the ``proposal`` table holds every proposal ever made), newest
first, at most ``limit`` rows; an actor is matched by prefix (``web:`` finds every web decision),
its wildcard characters escaped. Failure contract: database errors propagate; nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.tables import ProposalRow

SessionFactory = Callable[[], AbstractContextManager[Session]]


class DecisionLog:
    """Reads proposals for the dashboard's decision log through the Store's ``session``."""

    def __init__(self, session: SessionFactory) -> None:
        self._session = session

    def proposals(self, *, symbol: str | None = None, verdict: str | None = None, actor: str | None = None,
                  limit: int = 50) -> list[ProposalRow]:
        """The newest proposals matching every filter given."""
        stmt = select(ProposalRow)
        if symbol:
            stmt = stmt.where(func.upper(ProposalRow.symbol) == symbol.upper())
        if verdict:
            stmt = stmt.where(ProposalRow.verdict_level == verdict.upper())
        if actor:
            stmt = stmt.where(col(ProposalRow.decided_by).startswith(actor, autoescape=True))
        stmt = stmt.order_by(col(ProposalRow.created_at).desc(), col(ProposalRow.id)).limit(limit)
        with self._session() as s:
            return list(s.exec(stmt))
