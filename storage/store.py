"""The Store: one short transaction per call, status changes by compare-and-set.

Rows come back detached (``expire_on_commit=False``) so callers never hold a session. A status
change is ``UPDATE proposal SET status = :to WHERE id = :id AND status = :from``: when two
writers race, the database lets exactly one of them see its row and the other gets ``False``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from broker.models import Order
from broker.redaction import Redactor
from risk.lifecycle import TRANSITIONS, IllegalTransition, ProposalStatus, check_actor, check_transition
from risk.models import RiskVerdict, TradeProposal
from storage.portfolio import PortfolioStoreMixin
from storage.session import transaction
from storage.tables import (
    AlertRow,
    CycleRow,
    FillRow,
    OrderRow,
    ProposalRow,
    RiskHitRow,
    TransitionRow,
    VerdictRow,
)

S = ProposalStatus
OPEN_ORDER = frozenset({S.SUBMITTED, S.PARTIALLY_FILLED})
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class NewProposal:
    """A classified proposal ready to be stored."""

    proposal: TradeProposal
    verdict: RiskVerdict
    currency: str | None
    weight_before: float
    thesis: str
    idea: dict[str, Any]
    nonce: str
    expires_at: datetime | None


class Store(PortfolioStoreMixin):
    """Persistence for the desk; every public method is one transaction."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self._clock = clock

    def session(self) -> AbstractContextManager[Session]:
        """A session that commits on success and rolls back on error (``storage.session.transaction``)."""
        return transaction(self.engine)

    # cycles ---------------------------------------------------------------------------------

    def update_cycle(self, cycle_id: str, **fields: Any) -> None:
        """Set fields on a cycle."""
        with self.session() as s:
            s.execute(update(CycleRow).where(col(CycleRow.id) == cycle_id).values(**fields))

    def get_cycle(self, cycle_id: str) -> CycleRow | None:
        """One cycle by id."""
        with self.session() as s:
            return s.get(CycleRow, cycle_id)

    def first_cycle(self) -> CycleRow | None:
        """The earliest cycle (its equity_before is where the portfolio's P&L starts)."""
        with self.session() as s:
            return s.exec(select(CycleRow).order_by(col(CycleRow.started_at), col(CycleRow.id))).first()

    def cycles(self, limit: int = 20) -> list[CycleRow]:
        """Most recent cycles first."""
        with self.session() as s:
            stmt = select(CycleRow).order_by(col(CycleRow.started_at).desc()).limit(limit)
            return list(s.exec(stmt))

    def cycles_in(self, status: str) -> list[CycleRow]:
        """Cycles with this status, oldest first (``running`` ones found under the book lock were interrupted)."""
        with self.session() as s:
            return list(s.exec(select(CycleRow).where(CycleRow.status == status).order_by(col(CycleRow.started_at))))

    # proposals --------------------------------------------------------------------------------

    def record_cycle(self, cycle: CycleRow, items: Sequence[NewProposal]) -> tuple[list[ProposalRow], list[str]]:
        """Store a cycle and its classified proposals (verdicts, hits, first transitions) atomically.

        Approvals still pending from earlier cycles are expired in the same transaction: they were
        sized against an older portfolio, and the new cycle's targets replace them (approving both
        would buy a target twice). Returns the new rows and the ids superseded.
        """
        now = self._clock()
        cycle_id = cycle.id
        with self.session() as s:
            s.add(cycle)
            s.flush()
            superseded = [pid for pid in s.exec(select(ProposalRow.id).where(ProposalRow.status == S.AWAITING_APPROVAL))
                          if _cas(s, pid, S.AWAITING_APPROVAL, S.EXPIRED, "system", f"superseded by cycle {cycle_id}",
                                  now, {"decision_reason": f"superseded by cycle {cycle_id}"})]
            rows = [_add_proposal(s, cycle_id, item, now) for item in items]
        return rows, superseded

    def add_proposals(self, cycle_id: str, items: Sequence[NewProposal]) -> list[ProposalRow]:
        """Store classified proposals under an existing cycle, superseding nothing (the monitor's stop-losses)."""
        now = self._clock()
        with self.session() as s:
            return [_add_proposal(s, cycle_id, item, now) for item in items]

    def get_proposal(self, proposal_id: str) -> ProposalRow | None:
        """One proposal by id."""
        with self.session() as s:
            return s.get(ProposalRow, proposal_id)

    def proposals(self, statuses: Sequence[ProposalStatus] | None = None, cycle_id: str | None = None,
                  limit: int = 200, *, symbol: str | None = None, side: str | None = None) -> list[ProposalRow]:
        """Proposals, newest first, optionally filtered by status, cycle, symbol and side."""
        with self.session() as s:
            stmt = select(ProposalRow)
            if statuses:
                stmt = stmt.where(col(ProposalRow.status).in_([str(st) for st in statuses]))
            if cycle_id:
                stmt = stmt.where(ProposalRow.cycle_id == cycle_id)
            if symbol:
                stmt = stmt.where(ProposalRow.symbol == symbol)
            if side:
                stmt = stmt.where(ProposalRow.side == side)
            stmt = stmt.order_by(col(ProposalRow.created_at).desc(), col(ProposalRow.id)).limit(limit)
            return list(s.exec(stmt))

    def transition(self, proposal_id: str, expected: ProposalStatus, target: ProposalStatus, actor: str,
                   note: str | None = None, **fields: Any) -> bool:
        """Compare-and-set the status; False when the proposal is no longer in ``expected``."""
        check_transition(expected, target)
        check_actor(actor)
        now = self._clock()
        with self.session() as s:
            return _cas(s, proposal_id, expected, target, actor, note, now, fields)

    def transitions(self, proposal_id: str) -> list[TransitionRow]:
        """The lifecycle history of a proposal, oldest first."""
        with self.session() as s:
            stmt = select(TransitionRow).where(TransitionRow.proposal_id == proposal_id)
            return list(s.exec(stmt.order_by(col(TransitionRow.id))))

    def add_verdict(self, proposal_id: str, stage: str, verdict: RiskVerdict) -> None:
        """Store a verdict made after the cycle (at approval time)."""
        with self.session() as s:
            _add_verdict(s, proposal_id, stage, verdict, self._clock())

    def verdicts(self, proposal_id: str) -> list[tuple[VerdictRow, list[RiskHitRow]]]:
        """Every verdict on a proposal with its hits, oldest first."""
        with self.session() as s:
            stmt = select(VerdictRow).where(VerdictRow.proposal_id == proposal_id).order_by(col(VerdictRow.id))
            out = []
            for verdict in s.exec(stmt):
                hits = s.exec(select(RiskHitRow).where(RiskHitRow.verdict_id == verdict.id)
                              .order_by(col(RiskHitRow.position)))
                out.append((verdict, list(hits)))
            return out

    # execution --------------------------------------------------------------------------------

    def record_execution(self, proposal_id: str, expected: ProposalStatus, order: Order, broker: str) -> bool:
        """Store an order's outcome and move the proposal on; False when it is no longer in ``expected``.

        From SUBMITTING: ``SUBMITTING -> SUBMITTED -> final`` with the order and its fills, atomically.
        From SUBMITTED or PARTIALLY_FILLED (an order that was still open): the order row is refreshed,
        fills not stored yet are added and the status follows the order's.
        """
        now = self._clock()
        with self.session() as s:
            if expected is S.SUBMITTING:
                if not _cas(s, proposal_id, expected, S.SUBMITTED, "broker", f"order {order.id}", now, {}):
                    return False
                current = S.SUBMITTED
            else:
                if expected not in OPEN_ORDER:
                    raise IllegalTransition(f"{expected}: only SUBMITTING, SUBMITTED or PARTIALLY_FILLED take an order")
                row = s.get(ProposalRow, proposal_id)
                if row is None or row.status != expected:
                    return False
                current = expected
            _upsert_order(s, order, proposal_id, broker, now)
            _add_new_fills(s, order)
            final = _final_status(order)
            if final is not None and final in TRANSITIONS[current]:
                note = order.reject_reason if final is S.BROKER_REJECTED else None
                _cas(s, proposal_id, current, final, "broker", note, now, {"decision_reason": note} if note else {})
            return True

    def fill_positions(self) -> dict[str, Decimal]:
        """Net quantity per symbol implied by every recorded fill (buys minus sells), zeros left out."""
        net: dict[str, Decimal] = {}
        with self.session() as s:
            for symbol, side, quantity in s.exec(select(col(FillRow.symbol), col(FillRow.side), col(FillRow.quantity))):
                net[symbol] = net.get(symbol, Decimal(0)) + (quantity if side == "buy" else -quantity)
        return {symbol: quantity for symbol, quantity in sorted(net.items()) if quantity != 0}

    def holding_starts(self) -> dict[str, datetime]:
        """When each holding the fills imply was opened: its first fill since the net quantity was last zero."""
        net: dict[str, Decimal] = {}
        opened: dict[str, datetime] = {}
        with self.session() as s:
            rows = s.exec(select(col(FillRow.symbol), col(FillRow.side), col(FillRow.quantity), col(FillRow.at))
                          .order_by(col(FillRow.at), col(FillRow.id)))
            for symbol, side, quantity, at in rows:
                if net.get(symbol, Decimal(0)) == 0:
                    opened[symbol] = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite drops it
                net[symbol] = net.get(symbol, Decimal(0)) + (quantity if side == "buy" else -quantity)
        return {symbol: opened[symbol] for symbol, quantity in sorted(net.items()) if quantity != 0}

    def order_for(self, proposal_id: str) -> OrderRow | None:
        """The broker order placed for a proposal, if any."""
        with self.session() as s:
            return s.exec(select(OrderRow).where(OrderRow.client_order_id == proposal_id)).first()

    def fills(self, since: datetime | None = None) -> list[FillRow]:
        """Fills, oldest first."""
        with self.session() as s:
            stmt = select(FillRow)
            if since is not None:
                stmt = stmt.where(col(FillRow.at) >= since)
            return list(s.exec(stmt.order_by(col(FillRow.at), col(FillRow.id))))

    def activity(self, as_of: date) -> tuple[int, int, dict[str, date]]:
        """Trades on ``as_of``, trades in its ISO week up to that day, and the last sell date per symbol."""
        day_start = datetime.combine(as_of, datetime.min.time()).replace(tzinfo=self._clock().tzinfo)
        day_end = day_start + timedelta(days=1)
        week_start = day_start - timedelta(days=as_of.weekday())
        with self.session() as s:
            def count(since: datetime) -> int:
                stmt = select(func.count(func.distinct(FillRow.client_order_id))).where(
                    col(FillRow.at) >= since, col(FillRow.at) < day_end)
                return int(s.exec(stmt).one())

            sells = s.exec(select(FillRow.symbol, func.max(FillRow.at))
                           .where(FillRow.side == "sell", col(FillRow.at) < day_end).group_by(col(FillRow.symbol)))
            last_exit = {symbol: at.date() for symbol, at in sells}
            return count(day_start), count(week_start), last_exit

    # alerts -----------------------------------------------------------------------------------

    def add_alert(self, kind: str, severity: str, message: str, cycle_id: str | None = None,
                  detail: dict[str, Any] | None = None) -> AlertRow:
        """Record something a human should know (key-shaped text redacted: alerts quote broker and endpoint errors)."""
        redact = Redactor()
        row = AlertRow(at=self._clock(), kind=kind, severity=severity, message=redact.text(message), cycle_id=cycle_id,
                       detail=redact.value(detail) if detail is not None else None)
        with self.session() as s:
            s.add(row)
        return row

    def alerts(self, limit: int = 50, cycle_id: str | None = None) -> list[AlertRow]:
        """Most recent alerts first."""
        with self.session() as s:
            stmt = select(AlertRow)
            if cycle_id:
                stmt = stmt.where(AlertRow.cycle_id == cycle_id)
            return list(s.exec(stmt.order_by(col(AlertRow.id).desc()).limit(limit)))


def _proposal_row(cycle_id: str, item: NewProposal, now: datetime) -> ProposalRow:
    p = item.proposal
    return ProposalRow(
        id=p.id, cycle_id=cycle_id, created_at=now, updated_at=now, symbol=p.symbol, side=str(p.side),
        quantity=p.quantity, price=p.price, currency=item.currency, fx_rate=p.fx_rate,
        weight_before=item.weight_before, target_weight=p.target_weight, confidence=p.confidence,
        thesis=item.thesis, idea=item.idea, status=str(_initial_path(item.verdict)[-1][1]),
        verdict_level=str(item.verdict.level), nonce=item.nonce,
        expires_at=item.expires_at if item.verdict.level == "BORDERLINE" else None,
    )


def _add_proposal(s: Session, cycle_id: str, item: NewProposal, now: datetime) -> ProposalRow:
    row = _proposal_row(cycle_id, item, now)
    s.add(row)
    for before, after, actor in _initial_path(item.verdict):
        s.add(TransitionRow(proposal_id=row.id, at=now, actor=actor, from_status=before,
                            to_status=after, note=", ".join(item.verdict.codes) or None))
    s.flush()
    _add_verdict(s, row.id, "cycle", item.verdict, now)
    return row


def _initial_path(verdict: RiskVerdict) -> list[tuple[str | None, str, str]]:
    level = ProposalStatus(verdict.level)
    path: list[tuple[str | None, str, str]] = [(None, S.PROPOSED, "agent"), (S.PROPOSED, level, "risk")]
    if level is S.BORDERLINE:
        path.append((S.BORDERLINE, S.AWAITING_APPROVAL, "system"))
    elif level is S.UNSAFE:
        path.append((S.UNSAFE, S.REJECTED_BY_RISK, "risk"))
    return path


def _add_verdict(s: Session, proposal_id: str, stage: str, verdict: RiskVerdict, now: datetime) -> None:
    clamp = verdict.clamp
    row = VerdictRow(proposal_id=proposal_id, stage=stage, level=str(verdict.level), created_at=now,
                     quantity_before=clamp.quantity_before if clamp else None,
                     quantity_after=clamp.quantity_after if clamp else None,
                     weight_before=clamp.weight_before if clamp else None,
                     weight_after=clamp.weight_after if clamp else None)
    s.add(row)
    s.flush()
    assert row.id is not None  # noqa: S101  (set by flush)
    for position, hit in enumerate(verdict.hits):
        s.add(RiskHitRow(verdict_id=row.id, position=position, code=hit.code, level=str(hit.level),
                         detail=dict(hit.detail)))


def _cas(s: Session, proposal_id: str, expected: ProposalStatus, target: ProposalStatus, actor: str,
         note: str | None, now: datetime, fields: dict[str, Any]) -> bool:
    stmt = (update(ProposalRow)
            .where(col(ProposalRow.id) == proposal_id, col(ProposalRow.status) == str(expected))
            .values(status=str(target), updated_at=now, **fields))
    if s.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        return False
    s.add(TransitionRow(proposal_id=proposal_id, at=now, actor=actor, from_status=str(expected),
                        to_status=str(target), note=note))
    return True


def _add_new_fills(s: Session, order: Order) -> None:
    """Add the order's fills beyond those already stored (brokers report fills in order)."""
    stored = s.exec(select(func.count()).select_from(FillRow).where(FillRow.order_id == order.id)).one()
    for fill in order.fills[int(stored):]:
        s.add(FillRow(order_id=fill.order_id, client_order_id=fill.client_order_id, symbol=fill.symbol,
                      side=str(fill.side), quantity=fill.quantity, price=fill.price, currency=fill.currency,
                      fx_rate=fill.fx_rate, commission_base=fill.commission_base, at=fill.at))


def _final_status(order: Order) -> ProposalStatus | None:
    return {
        "filled": S.FILLED, "partially_filled": S.PARTIALLY_FILLED, "rejected": S.BROKER_REJECTED,
        "canceled": S.CANCELED, "expired": S.CANCELED,
    }.get(str(order.status))


def _upsert_order(s: Session, order: Order, proposal_id: str, broker: str, now: datetime) -> None:
    row = s.get(OrderRow, order.id) or OrderRow(
        id=order.id, client_order_id=order.client_order_id, proposal_id=proposal_id, broker=broker,
        symbol=order.symbol, side=str(order.side), quantity=order.quantity, status=str(order.status),
        submitted_at=order.submitted_at, updated_at=now)
    row.status = str(order.status)
    row.filled_quantity = order.filled_quantity
    row.filled_avg_price = order.filled_avg_price
    row.reject_reason = order.reject_reason
    row.updated_at = now
    s.add(row)

