"""Bulk reads for evaluation reports: every proposal with its cycle date, risk-code counts, human decisions.

Policy: read-only, one short transaction per call, detached values (plain tuples and dicts, so
the evaluation code never touches a session). Failure contract: database errors propagate.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.tables import CycleRow, ProposalRow, RiskHitRow, TransitionRow, VerdictRow


@dataclass(frozen=True)
class ProposalFacts:
    """A stored proposal and what happened to it."""

    id: str
    as_of: date | None
    symbol: str
    side: str
    quantity: float
    price: float | None
    fx_rate: float | None
    confidence: float
    status: str
    verdict_level: str | None
    idea: dict[str, object]
    decided_by: str | None
    awaited_human: bool


class EvaluationStore:
    """What decision-quality reports read."""

    def __init__(self, session: Callable[[], AbstractContextManager[Session]]) -> None:
        self._session = session

    def proposal_facts(self) -> list[ProposalFacts]:
        """Every proposal, oldest first, with its cycle's as-of date."""
        with self._session() as s:
            rows = s.exec(select(ProposalRow, CycleRow).join(CycleRow, col(CycleRow.id) == ProposalRow.cycle_id)
                          .order_by(col(ProposalRow.created_at), col(ProposalRow.id))).all()
            awaited = set(s.exec(select(TransitionRow.proposal_id)
                                 .where(TransitionRow.to_status == "AWAITING_APPROVAL")).all())
        return [ProposalFacts(
            id=p.id, as_of=cycle.as_of, symbol=p.symbol, side=p.side, quantity=float(p.quantity),
            price=float(p.price) if p.price is not None else None,
            fx_rate=float(p.fx_rate) if p.fx_rate is not None else None, confidence=p.confidence, status=p.status,
            verdict_level=p.verdict_level, idea=dict(p.idea or {}), decided_by=p.decided_by,
            awaited_human=p.id in awaited) for p, cycle in rows]

    def risk_code_counts(self) -> dict[str, int]:
        """How often each BORDERLINE or UNSAFE risk code fired, at classification and at approval."""
        with self._session() as s:
            stmt = (select(RiskHitRow.code, func.count())
                    .join(VerdictRow, col(VerdictRow.id) == RiskHitRow.verdict_id)
                    .where(RiskHitRow.level != "SAFE").group_by(col(RiskHitRow.code)))
            rows = s.exec(stmt).all()
        return {code: int(n) for code, n in rows}
