"""Human decisions on BORDERLINE proposals: approve (re-check, then execute) or reject (with a reason).

An approval holds the book lock (``Desk.book``: one per database, shared with cycles and the
stop-loss watch, in every process) from its re-read to its recorded order, so it is classified
against the book it executes on: two approvals at once are decided one after the other, and a
cycle never sizes against a book an approval is about to change. Under the lock it re-reads the
proposal (the loser of a race finds it decided and writes nothing), checks its expiry, re-prices
it (refusing beyond ``approval_max_drift``), re-runs the risk engine on the live portfolio
(refusing an UNSAFE verdict), then compare-and-sets AWAITING_APPROVAL -> APPROVED. The broker's
client_order_id is the proposal id, so two taps, two users or two processes produce one decision
and at most one order. Every refusal is a ``DeskError`` whose
message says why; refusals that end the proposal (expired, drifted, now UNSAFE) are stored.
"""

from __future__ import annotations

from decimal import Decimal

import structlog

from bot.desk.context import risk_context
from bot.desk.desk import Desk
from bot.desk.lines import line_from_row
from bot.desk.memories import remember_decision
from bot.desk.results import DecisionResult, DeskError
from broker.models import Side
from risk import classify
from risk.lifecycle import ProposalStatus
from risk.models import Level, TradeProposal
from storage.tables import ProposalRow

log = structlog.get_logger("paperdesk.approvals")
S = ProposalStatus


def _pending_row(desk: Desk, proposal_id: str) -> ProposalRow:
    row = desk.store.get_proposal(proposal_id)
    if row is None:
        raise DeskError(f"no proposal {proposal_id!r}: `paperdesk pending` lists the ones awaiting approval")
    if row.status != S.AWAITING_APPROVAL:
        raise DeskError(_why_not_pending(desk, row))
    return row


def _why_not_pending(desk: Desk, row: ProposalRow) -> str:
    if row.status in {S.REJECTED_BY_RISK, S.UNSAFE}:
        codes = ", ".join(line_from_row(desk.store, row).codes)
        return f"proposal {row.id} was rejected by the risk engine ({codes}); UNSAFE proposals can never be approved"
    by = f" by {row.decided_by}" if row.decided_by else ""
    return f"proposal {row.id} is already {row.status}{by}; only AWAITING_APPROVAL proposals can be decided"


def _refuse(desk: Desk, row: ProposalRow, actor: str, reason: str) -> DeskError:
    if not desk.store.transition(row.id, S.AWAITING_APPROVAL, S.REJECTED_AT_APPROVAL, "risk", note=reason,
                                 decided_by=actor, decision_reason=reason):
        fresh = desk.store.get_proposal(row.id)
        return DeskError(_why_not_pending(desk, fresh) if fresh else f"proposal {row.id} vanished")
    desk.store.add_alert("approval_refused", "warning", f"approval of {row.id} ({row.symbol}) refused: {reason}")
    log.warning("approval_refused", proposal_id=row.id, actor=actor, reason=reason)
    remember_decision(desk, row.id)
    return DeskError(f"approval of {row.id} refused: {reason}")


async def approve(desk: Desk, proposal_id: str, actor: str) -> DecisionResult:
    """Approve a pending proposal: re-check it and, if still acceptable, execute it once."""
    _pending_row(desk, proposal_id)  # a plain refusal needs no lock
    async with desk.book(f"approval of {proposal_id}"):
        return await _approve_locked(desk, proposal_id, actor)


async def _approve_locked(desk: Desk, proposal_id: str, actor: str) -> DecisionResult:
    row = _pending_row(desk, proposal_id)  # again: it may have been decided while we waited for the book
    now = desk.clock()
    if row.expires_at is not None and now >= row.expires_at:
        desk.store.transition(row.id, S.AWAITING_APPROVAL, S.EXPIRED, "system", note="expired before approval")
        raise DeskError(f"proposal {row.id} expired at {row.expires_at:%Y-%m-%d %H:%M} UTC")
    proposal = await _recheck(desk, row, actor)
    if not desk.store.transition(row.id, S.AWAITING_APPROVAL, S.APPROVED, actor, decided_by=actor):
        fresh = desk.store.get_proposal(row.id)
        raise DeskError(_why_not_pending(desk, fresh) if fresh else f"proposal {row.id} vanished")
    log.info("proposal_approved", proposal_id=row.id, actor=actor, quantity=str(proposal.quantity))
    order = await desk.execute(proposal, S.APPROVED)
    final = desk.store.get_proposal(row.id)
    assert final is not None  # noqa: S101
    remember_decision(desk, row.id)
    line = line_from_row(desk.store, final)
    if order is None or order.filled_avg_price is None:
        return DecisionResult(proposal=line, message=f"{row.id} approved but the broker rejected it: {line.note}")
    side, quantity = str(proposal.side).upper(), f"{order.filled_quantity.normalize():f}"
    return DecisionResult(proposal=line, message=(
        f"{row.id} approved by {actor}: {side} {quantity} {row.symbol} "
        f"filled at {order.filled_avg_price:.4f} {row.currency or ''}".rstrip()))


async def _recheck(desk: Desk, row: ProposalRow, actor: str) -> TradeProposal:
    snapshot = desk.snapshot()
    quote = snapshot.quotes.get(row.symbol)
    fx = snapshot.fx.get(quote.currency) if quote else None
    if quote is None or fx is None or row.price is None:
        raise _refuse(desk, row, actor, f"no current price for {row.symbol}")
    drift = abs(quote.price / row.price - 1)
    if drift > Decimal(str(desk.limits.approval_max_drift)):
        raise _refuse(desk, row, actor, (f"price moved {drift:.2%} since the proposal ({row.price} -> {quote.price}), "
                                         f"more than the {desk.limits.approval_max_drift:.2%} allowed"))
    proposal = TradeProposal(id=row.id, symbol=row.symbol, side=Side(row.side), quantity=_approved_quantity(desk, row),
                             price=quote.price, fx_rate=fx, target_weight=row.target_weight,
                             confidence=row.confidence, stop_loss_pct=(row.idea or {}).get("stop_loss_pct"))
    account, positions = await desk.broker.account(), await desk.positions()
    ctx = risk_context(as_of=desk.today, account=account, positions=positions, snapshot=snapshot,
                       universe=desk.universe, broker=desk.broker, store=desk.store, state=desk.trading_state(),
                       sleeves=desk.sleeve_book())
    verdict = classify(proposal, ctx, desk.limits)
    fresh = desk.store.get_proposal(row.id)
    if fresh is None or fresh.status != S.AWAITING_APPROVAL:  # decided elsewhere meanwhile: record nothing
        raise DeskError(_why_not_pending(desk, fresh) if fresh else f"proposal {row.id} vanished")
    desk.store.add_verdict(row.id, "approval", verdict)
    if verdict.level is Level.UNSAFE:
        raise _refuse(desk, row, actor, "the risk engine now says UNSAFE: " + ", ".join(verdict.codes))
    return verdict.clamped if verdict.clamped is not None else proposal


def _approved_quantity(desk: Desk, row: ProposalRow) -> Decimal:
    """The size the human saw: the clamped one when the cycle offered a clamp."""
    verdicts = desk.store.verdicts(row.id)
    first = verdicts[0][0] if verdicts else None
    if first is not None and first.quantity_after is not None:
        return first.quantity_after
    return row.quantity


def reject(desk: Desk, proposal_id: str, actor: str, reason: str | None) -> DecisionResult:
    """Reject a pending proposal, recording who and why."""
    row = _pending_row(desk, proposal_id)
    reason = (reason or "").strip() or None
    if not desk.store.transition(row.id, S.AWAITING_APPROVAL, S.REJECTED_BY_HUMAN, actor, note=reason,
                                 decided_by=actor, decision_reason=reason):
        fresh = desk.store.get_proposal(row.id)
        raise DeskError(_why_not_pending(desk, fresh) if fresh else f"proposal {row.id} vanished")
    log.info("proposal_rejected", proposal_id=row.id, actor=actor, reason=reason)
    remember_decision(desk, row.id)
    final = desk.store.get_proposal(row.id)
    assert final is not None  # noqa: S101
    why = f": {reason}" if reason else ""
    return DecisionResult(proposal=line_from_row(desk.store, final), message=f"{row.id} rejected by {actor}{why}")


def expire_due(desk: Desk) -> int:
    """Expire every approval whose time is up; returns how many."""
    now = desk.clock()
    count = 0
    for row in desk.store.proposals([S.AWAITING_APPROVAL]):
        if row.expires_at is None or row.expires_at > now:
            continue
        note = f"not decided by {row.expires_at:%Y-%m-%d %H:%M} UTC"
        count += desk.store.transition(row.id, S.AWAITING_APPROVAL, S.EXPIRED, "system", note=note)
    return count
