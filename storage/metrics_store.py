"""Aggregate reads for the Prometheus exposition: counts and sums computed by the database.

Policy: read-only, one short transaction per call, every answer a handful of rows whatever the
size of the history (GROUP BY, SUM, MAX), detached plain values. Times come back UTC-aware
(SQLite drops the zone). Failure contract: database errors propagate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, case, cast, extract, func, or_
from sqlalchemy import select as select_rows
from sqlmodel import Session, col, select

from risk.lifecycle import ProposalStatus
from storage.tables import CycleRow, EquitySnapshotRow, FillRow, OrderRow, ProposalRow, TransitionRow
from storage.tables_llm import LlmCallRow
from storage.tables_telegram import NotificationRow
from storage.telegram_store import GAVE_UP

SessionFactory = Callable[[], AbstractContextManager[Session]]
S = ProposalStatus
OPEN_ORDER_STATUSES = ("new", "accepted", "partially_filled")


@dataclass(frozen=True)
class LatencyBuckets:
    """Approval decisions of one outcome status: how many, their summed latency, cumulative bucket counts."""

    status: str
    count: int
    seconds_sum: float
    cumulative: tuple[int, ...]  # decisions taking at most each bound, in the order of the bounds


@dataclass(frozen=True)
class LlmUsage:
    """Stored LLM calls of one model, outcome and source (called or replayed from the cache)."""

    model: str
    outcome: str
    from_cache: bool
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal


@dataclass(frozen=True)
class Outbox:
    """Notifications still to deliver, the oldest of them, and those given up on."""

    backlog: int
    oldest: datetime | None
    abandoned: int


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class MetricsStore:
    """What a metrics scrape reads."""

    def __init__(self, session: SessionFactory) -> None:
        self._session = session

    def cycle_counts(self) -> dict[str, int]:
        """Cycles per stored status."""
        with self._session() as s:
            rows = s.exec(select(CycleRow.status, func.count()).group_by(col(CycleRow.status)))
            return {status: int(n) for status, n in rows}

    def last_cycle_times(self) -> tuple[datetime | None, datetime | None]:
        """When the last completed cycle finished, and when the first cycle of any status started."""
        with self._session() as s:
            done = s.exec(select(func.max(CycleRow.finished_at)).where(CycleRow.status == "completed")).one()
            first = s.exec(select(func.min(CycleRow.started_at))).one()
        return _utc(done), _utc(first)

    def proposal_counts(self) -> list[tuple[str | None, str, int]]:
        """(verdict level, status, count) of every stored proposal."""
        with self._session() as s:
            stmt = (select(ProposalRow.verdict_level, ProposalRow.status, func.count())
                    .group_by(col(ProposalRow.verdict_level), col(ProposalRow.status)))
            return [(level, status, int(n)) for level, status, n in s.exec(stmt)]

    def approval_latencies(self, bounds: Sequence[float]) -> list[LatencyBuckets]:
        """Decisions on proposals awaiting approval, per outcome status, with created → decided latency."""
        with self._session() as s:
            seconds = _seconds_between(s, col(ProposalRow.created_at), col(TransitionRow.at))
            decided = (select_rows(col(TransitionRow.to_status).label("status"), seconds.label("seconds"))
                       .join(ProposalRow, col(ProposalRow.id) == col(TransitionRow.proposal_id))
                       .where(col(TransitionRow.from_status) == str(S.AWAITING_APPROVAL))
                       .subquery())
            buckets = [func.sum(case((decided.c.seconds <= bound, 1), else_=0)) for bound in bounds]
            stmt = (select_rows(decided.c.status, func.count(), func.sum(decided.c.seconds), *buckets)
                    .group_by(decided.c.status))
            return [LatencyBuckets(status=row[0], count=int(row[1]), seconds_sum=max(float(row[2] or 0), 0.0),
                                   cumulative=tuple(int(n or 0) for n in row[3:])) for row in s.execute(stmt)]

    def order_counts(self) -> tuple[dict[str, int], int]:
        """Orders per side, and how many are still open at the broker."""
        with self._session() as s:
            stmt = select(OrderRow.side, func.count()).group_by(col(OrderRow.side))
            sides = {side: int(n) for side, n in s.exec(stmt)}
            open_orders = s.exec(select(func.count()).select_from(OrderRow)
                                 .where(col(OrderRow.status).in_(OPEN_ORDER_STATUSES))).one()
        return sides, int(open_orders)

    def fill_counts(self) -> dict[str, int]:
        """Fills per side."""
        with self._session() as s:
            return {side: int(n) for side, n in s.exec(select(FillRow.side, func.count()).group_by(col(FillRow.side)))}

    def latest_equity(self) -> tuple[EquitySnapshotRow | None, float | None]:
        """The newest equity snapshot and the highest equity ever recorded (compared as numbers on every backend)."""
        with self._session() as s:
            latest = s.exec(select(EquitySnapshotRow).order_by(col(EquitySnapshotRow.at).desc(),
                                                               col(EquitySnapshotRow.id).desc()).limit(1)).first()
            peak = s.exec(select(func.max(cast(col(EquitySnapshotRow.equity), Float)))).one()
        if latest is not None:
            latest.at = _utc(latest.at) or latest.at
        return latest, None if peak is None else float(peak)

    def llm_usage(self) -> list[LlmUsage]:
        """Calls, tokens and cost per model, outcome and source."""
        with self._session() as s:
            stmt = (select_rows(col(LlmCallRow.model), col(LlmCallRow.outcome), col(LlmCallRow.from_cache),
                                func.count(), func.coalesce(func.sum(LlmCallRow.prompt_tokens), 0),
                                func.coalesce(func.sum(LlmCallRow.completion_tokens), 0),
                                func.coalesce(func.sum(LlmCallRow.cost_usd), 0))
                    .group_by(col(LlmCallRow.model), col(LlmCallRow.outcome), col(LlmCallRow.from_cache)))
            return [LlmUsage(model=model, outcome=outcome, from_cache=bool(cached), calls=int(n),
                             prompt_tokens=int(tokens_in), completion_tokens=int(tokens_out),
                             cost_usd=Decimal(str(cost)))
                    for model, outcome, cached, n, tokens_in, tokens_out, cost in s.execute(stmt)]

    def outbox(self) -> Outbox:
        """The notification backlog (undelivered and still retried), its oldest row, and those given up on."""
        gave_up = col(NotificationRow.last_error).startswith(GAVE_UP)
        undelivered = col(NotificationRow.delivered_at).is_(None)
        with self._session() as s:
            retried = or_(col(NotificationRow.last_error).is_(None), ~gave_up)
            backlog, oldest = s.exec(select(func.count(), func.min(NotificationRow.created_at))
                                     .where(undelivered, retried)).one()
            abandoned = s.exec(select(func.count()).select_from(NotificationRow).where(undelivered, gave_up)).one()
        return Outbox(backlog=int(backlog), oldest=_utc(oldest), abandoned=int(abandoned))


def _seconds_between(s: Session, start: Any, end: Any) -> Any:
    """``end - start`` in seconds, as SQL (SQLite has no interval type; its Julian days are rounded to the ms)."""
    if s.get_bind().dialect.name == "sqlite":
        return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)
    return extract("epoch", end - start)
