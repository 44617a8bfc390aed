"""Reads for ``paperdesk explain``: a cycle's LLM calls and a proposal's orders and fills.

Policy: read-only, one short transaction per call, rows come back detached, oldest first (the
order a story is told in). The proposal, its verdicts and its transitions are read with the
``Store``; this adds only what the Store has no query for.

Failure contract: database errors propagate (SQLAlchemy's).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlmodel import Session, col, select

from storage.tables import FillRow, OrderRow
from storage.tables_llm import LlmCallRow

SessionFactory = Callable[[], AbstractContextManager[Session]]


class ExplainStore:
    """What the whole story of one decision reads besides the Store's own queries."""

    def __init__(self, session: SessionFactory) -> None:
        self._session = session

    def llm_calls(self, cycle_id: str) -> list[LlmCallRow]:
        """Every LLM call made for a cycle (first attempts, repairs, failures), oldest first."""
        with self._session() as s:
            stmt = select(LlmCallRow).where(LlmCallRow.cycle_id == cycle_id).order_by(col(LlmCallRow.id))
            return list(s.exec(stmt))

    def orders(self, proposal_id: str) -> list[OrderRow]:
        """The broker orders placed for a proposal (its client_order_id is the proposal id)."""
        with self._session() as s:
            stmt = (select(OrderRow).where((col(OrderRow.client_order_id) == proposal_id)
                                           | (col(OrderRow.proposal_id) == proposal_id))
                    .order_by(col(OrderRow.submitted_at), col(OrderRow.id)))
            return list(s.exec(stmt))

    def fills(self, proposal_id: str) -> list[FillRow]:
        """The executions of a proposal's orders, oldest first."""
        with self._session() as s:
            stmt = (select(FillRow).where(FillRow.client_order_id == proposal_id)
                    .order_by(col(FillRow.at), col(FillRow.id)))
            return list(s.exec(stmt))
