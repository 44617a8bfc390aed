"""Persistence of the LLM audit trail (``llm_call``): record, find a replayable answer, month spend.

Policy: one short transaction per call, on the Store's session factory. A replayable answer is the
newest row of that cache key that holds a model answer (text or refusal), whether it was called
or itself replayed. The negotiated output mode of an endpoint and model is the mode of the newest
call there that the server answered (not a replay). Month spend is the sum of ``cost_usd`` of rows
whose ``at`` falls in the month.

Failure contract: database errors propagate (SQLAlchemy's), nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, or_
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.tables_llm import LlmCallRow

SessionFactory = Callable[[], AbstractContextManager[Session]]
ANSWERED = ("ok", "invalid", "refused", "truncated")


def _holding_answers(stmt: SelectOfScalar[LlmCallRow]) -> SelectOfScalar[LlmCallRow]:
    """``stmt`` restricted to rows that hold a model answer (text, or a refusal)."""
    return (stmt.where(col(LlmCallRow.outcome).in_(ANSWERED))
            .where(or_(col(LlmCallRow.raw_answer).is_not(None), col(LlmCallRow.outcome) == "refused")))


class LlmStore:
    """Reads and writes ``llm_call`` rows."""

    def __init__(self, session: SessionFactory) -> None:
        self._session = session

    def add(self, row: LlmCallRow) -> LlmCallRow:
        """Store one call."""
        with self._session() as s:
            s.add(row)
            s.flush()
            return row

    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """Store several calls (their columns) in one transaction and one bulk insert (a replay's buffered
        audit rows: building and flushing an ORM object per row cost more than the replay's prompts)."""
        if not rows:
            return
        with self._session() as s:
            s.execute(insert(LlmCallRow), rows)

    def answered(self, cache_key: str) -> LlmCallRow | None:
        """The newest row of this key that holds a model answer."""
        with self._session() as s:
            stmt = _holding_answers(select(LlmCallRow).where(LlmCallRow.cache_key == cache_key))
            return s.exec(stmt.order_by(col(LlmCallRow.id).desc()).limit(1)).first()

    def answered_by_key(self, model: str) -> dict[str, LlmCallRow]:
        """``answered`` of every key of ``model`` at once (a replay reads one a day), in one query.

        Only the columns of the answer are read: decoding every row's JSON (the prompt, the parsed
        document) was a twentieth of a ten-year llm replay, for nothing.
        """
        answer = (LlmCallRow.cache_key, LlmCallRow.raw_answer, LlmCallRow.error, LlmCallRow.outcome,
                  LlmCallRow.finish_reason, LlmCallRow.prompt_tokens, LlmCallRow.completion_tokens)
        with self._session() as s:
            query = select(LlmCallRow).options(load_only(*answer))  # type: ignore[arg-type]
            rows = s.exec(_holding_answers(query.where(LlmCallRow.model == model)).order_by(col(LlmCallRow.id)))
            return {row.cache_key: row for row in rows}  # ascending ids: the newest of a key wins

    def spend_between(self, start: datetime, end: datetime) -> Decimal:
        """Total cost of calls in [start, end)."""
        with self._session() as s:
            stmt = select(func.coalesce(func.sum(LlmCallRow.cost_usd), 0)).where(
                LlmCallRow.at >= start, LlmCallRow.at < end)
            return Decimal(str(s.exec(stmt).one()))

    def negotiated_mode(self, endpoint_host: str, model: str) -> str | None:
        """The output mode of the newest call to ``model`` at ``endpoint_host`` that the server answered."""
        with self._session() as s:
            stmt = (select(LlmCallRow.output_mode).where(LlmCallRow.endpoint_host == endpoint_host)
                    .where(LlmCallRow.model == model).where(col(LlmCallRow.outcome).in_(ANSWERED))
                    .where(col(LlmCallRow.output_mode).is_not(None)).where(col(LlmCallRow.from_cache).is_(False))
                    .order_by(col(LlmCallRow.id).desc()).limit(1))
            return s.exec(stmt).first()

    def calls(self, limit: int = 20) -> list[LlmCallRow]:
        """The most recent calls first."""
        with self._session() as s:
            return list(s.exec(select(LlmCallRow).order_by(col(LlmCallRow.id).desc()).limit(limit)))


def month_bounds(day: date) -> tuple[datetime, datetime]:
    """The first instant of ``day``'s calendar month and of the next one (UTC)."""
    start = datetime(day.year, day.month, 1, tzinfo=UTC)
    end = datetime(day.year + (day.month == 12), day.month % 12 + 1, 1, tzinfo=UTC)
    return start, end
