"""One decision cycle: data → indicators → policy → sizing → risk → execution → storage.

Everything that can fail on bad input (market data, the policy, sizing, classification) runs before
the first write; the cycle, its proposals, verdicts and first transitions are then stored in one
transaction, and only after that are SAFE orders submitted, one by one, each recorded as it
completes. Before anything is read from the broker, orders left open by an earlier crash are
reconciled (``bot/desk/reconcile.py``), so the cycle sizes against the portfolio as it really is.
A circuit-breaker drop moves the desk to REDUCING before anything is classified.

The policy decides without any lock (an LLM may take minutes). Then the cycle takes the book lock
(``Desk.book``, shared with approvals, the stop-loss watch and reconcile in every process), reads
the account and positions again, and sizes, classifies, stores and executes against that book
before it lets go: an approval that filled while the policy thought is in the book the cycle
sizes against. A book still busy after ``lock_wait`` seconds is a ``DeskError`` and no cycle is
stored (the model's answer stays in its audit log, llm_call).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from agent.policies.base import PolicyAbstained, ScreenedDecision
from agent.schema import PolicyDecision
from bot.desk.abstain import abstain
from bot.desk.approvals import expire_due
from bot.desk.context import policy_context, risk_context
from bot.desk.desk import Desk
from bot.desk.lines import line_from_verdict
from bot.desk.market import MarketSnapshot
from bot.desk.reconcile import reconcile
from bot.desk.results import CycleReport, DeskError, ProposalLine, SkippedIdea, money
from bot.desk.sizing import SizingResult, size_decision
from bot.desk.watch import trip_circuit_breaker
from broker.errors import BrokerUnavailableError
from broker.models import Account, Order, Position
from risk import classify_batch
from risk.lifecycle import ProposalStatus
from risk.models import Level, RiskContext, RiskVerdict, TradingState
from storage.store import NewProposal
from storage.tables import CycleRow

log = structlog.get_logger("paperdesk.cycle")
S = ProposalStatus
STRICTNESS = [TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED]


async def run_cycle(desk: Desk) -> CycleReport:
    """Run one full decision cycle now and return its report."""
    started = time.perf_counter()
    cycle_id = "c" + uuid.uuid4().hex[:12]
    structlog.contextvars.bind_contextvars(cycle_id=cycle_id)
    try:
        return await _run(desk, cycle_id, started)
    finally:
        structlog.contextvars.unbind_contextvars("cycle_id")


async def _run(desk: Desk, cycle_id: str, started: float) -> CycleReport:
    start_time = desk.clock()
    _refuse_time_travel(desk)
    snapshot = desk.snapshot()
    await reconcile(desk)  # orders left open by a crash are settled before anything is sized against them
    account, positions = await desk.broker.account(), await desk.positions()
    ctx = _context(desk, snapshot, account, positions)
    alerts: list[str] = []
    ctx = _circuit_breaker(desk, ctx, alerts)
    expired = expire_due(desk)
    if expired:
        alerts.append(f"{expired} approval(s) expired")
    try:
        decision = await desk.policy.decide(policy_context(
            as_of=desk.today, account=account, positions=positions, snapshot=snapshot, universe=desk.universe,
            limits=desk.limits, drawdown=ctx.drawdown, store=desk.store, cycle_id=cycle_id))
    except PolicyAbstained as exc:
        return abstain(desk, cycle_id, snapshot, account, ctx, alerts, exc.reason, started)
    async with desk.book(f"cycle {cycle_id}"):
        # The policy may have taken minutes (an LLM); an approval may have filled meanwhile. Orders
        # are sized and classified against the book as it is now, and nothing changes it until they are executed.
        account, positions = await desk.broker.account(), await desk.positions()
        fresh = _context(desk, snapshot, account, positions)  # a /halt during the wait holds too
        ctx = replace(fresh, trading_state=max(fresh.trading_state, ctx.trading_state, key=STRICTNESS.index))
        return await _decide_and_execute(desk, cycle_id, snapshot, decision, account, positions, ctx, alerts,
                                         start_time, started)


async def _decide_and_execute(desk: Desk, cycle_id: str, snapshot: MarketSnapshot, decision: PolicyDecision,
                              account: Account, positions: list[Position], ctx: RiskContext, alerts: list[str],
                              start_time: datetime, started: float) -> CycleReport:
    """Size, classify, store, execute the SAFE orders and complete the cycle (under the book lock)."""
    sizing = size_decision(decision, account, positions, snapshot, desk.universe.by_symbol)
    if isinstance(decision, ScreenedDecision) and decision.dropped:
        sizing = replace(sizing, skipped=[SkippedIdea(symbol=d.symbol, reason=f"{d.code}: {d.detail}")
                                          for d in decision.dropped] + sizing.skipped)
    verdicts = classify_batch([s.proposal for s in sizing.proposals], ctx, desk.limits)
    log.info("cycle_classified", proposals=len(verdicts), levels=[str(v.level) for v in verdicts])
    _, superseded = desk.store.record_cycle(_cycle_row(desk, cycle_id, snapshot, decision, account),
                                            _new_proposals(desk, sizing, verdicts))
    if superseded:
        alerts.append(f"{len(superseded)} pending approval(s) superseded by this cycle: {', '.join(superseded)}")
    orders = await _execute_safe(desk, sizing, verdicts)
    after = await _account_after(desk)
    if after is not None:
        desk.store.snapshot(after[0], after[1], snapshot.as_of, cycle_id)
    account_after = after[0] if after is not None else account
    raised = [a.message for a in reversed(desk.store.alerts(limit=50)) if a.at >= start_time]
    alerts += [message for message in raised if message not in alerts]
    report = _report(desk, cycle_id, snapshot, decision, sizing, verdicts, orders, ctx, alerts,
                     account, account_after, time.perf_counter() - started)
    desk.store.update_cycle(cycle_id, status="completed", finished_at=desk.clock(), equity_after=account_after.equity,
                            report=report.model_dump(mode="json"))
    log.info("cycle_completed", filled=len(orders), equity=str(account_after.equity))
    return report


def _context(desk: Desk, snapshot: MarketSnapshot, account: Account, positions: list[Position]) -> RiskContext:
    return risk_context(as_of=desk.today, account=account, positions=positions, snapshot=snapshot,
                        universe=desk.universe, broker=desk.broker, store=desk.store, state=desk.trading_state(),
                        sleeves=desk.sleeve_book())


def _refuse_time_travel(desk: Desk) -> None:
    """A portfolio lives forward in time: replaying an earlier day on it would mix two histories."""
    latest = desk.store.cycles(limit=1)
    if latest and latest[0].as_of is not None and latest[0].as_of > desk.today:
        raise DeskError(f"this portfolio already has a cycle as of {latest[0].as_of}, after {desk.today}: it only "
                        "moves forward, so run cycles in date order, or use another PAPERDESK_HOME (or database) to "
                        "replay an earlier date")


def _circuit_breaker(desk: Desk, ctx: RiskContext, alerts: list[str]) -> RiskContext:
    breaker = trip_circuit_breaker(desk, ctx)
    if breaker is None:
        return ctx
    alerts.append(breaker)
    return replace(ctx, trading_state=TradingState.REDUCING)


def _cycle_row(desk: Desk, cycle_id: str, snapshot: MarketSnapshot, decision: PolicyDecision,
               account: Account) -> CycleRow:
    return CycleRow(id=cycle_id, started_at=desk.clock(), as_of=snapshot.as_of, policy=desk.policy.name,
                    data_source=snapshot.label, synthetic=snapshot.history.synthetic,
                    regime=str(snapshot.indicators.regime), market_view=decision.market_view, status="running",
                    equity_before=account.equity)


def _new_proposals(desk: Desk, sizing: SizingResult, verdicts: list[RiskVerdict]) -> list[NewProposal]:
    expires = desk.clock() + timedelta(hours=desk.limits.approval_ttl_hours)
    return [
        NewProposal(proposal=s.proposal, verdict=v, currency=s.currency, weight_before=s.weight_before,
                    thesis=s.idea.thesis, idea=s.idea.model_dump(mode="json"), nonce=uuid.uuid4().hex[:8],
                    expires_at=expires)
        for s, v in zip(sizing.proposals, verdicts, strict=True)
    ]


async def _execute_safe(desk: Desk, sizing: SizingResult, verdicts: list[RiskVerdict]) -> dict[str, Order]:
    orders: dict[str, Order] = {}
    for sized, verdict in zip(sizing.proposals, verdicts, strict=True):
        if verdict.level is Level.SAFE:
            try:
                order = await desk.execute(sized.proposal, S.SAFE)
            except BrokerUnavailableError as exc:
                # The desk stored the one alert; the SAFE proposals not reached stay SAFE until the next
                # reconcile cancels them (bot/desk/recovery.py): they are never sent on a stale book.
                log.error("broker_unavailable", proposal_id=sized.proposal.id, error=str(exc))
                break
            if order is not None:
                orders[sized.proposal.id] = order
    return orders


async def _account_after(desk: Desk) -> tuple[Account, list[Position]] | None:
    """The account after execution, or None while the broker is unreachable (the cycle still completes)."""
    try:
        return await desk.broker.account(), await desk.broker.positions()
    except BrokerUnavailableError as exc:
        log.error("broker_unavailable_after_execution", error=str(exc))
        return None


def _report(desk: Desk, cycle_id: str, snapshot: MarketSnapshot, decision: PolicyDecision, sizing: SizingResult,
            verdicts: list[RiskVerdict], orders: dict[str, Order], ctx: RiskContext, alerts: list[str],
            before: Account, after: Account, elapsed: float) -> CycleReport:
    statuses = {row.id: row for row in desk.store.proposals(cycle_id=cycle_id, limit=10_000)}
    lines: list[ProposalLine] = []
    for sized, verdict in zip(sizing.proposals, verdicts, strict=True):
        row = statuses[sized.proposal.id]
        lines.append(line_from_verdict(sized.proposal, verdict, row, orders.get(sized.proposal.id),
                                       currency=sized.currency, weight_before=sized.weight_before,
                                       thesis=sized.idea.thesis))
    return CycleReport(
        cycle_id=cycle_id, status="completed", as_of=snapshot.as_of, data_source=snapshot.label,
        synthetic=snapshot.history.synthetic, policy=desk.policy.name, regime=str(snapshot.indicators.regime),
        regime_inputs={k: round(float(v), 4) for k, v in snapshot.indicators.regime_inputs.items()},
        market_view=decision.market_view, trading_state=str(ctx.trading_state),
        base_currency=desk.universe.base_currency, proposals=lines, holds=sizing.holds, skipped=sizing.skipped,
        alerts=alerts, equity_before=money(before.equity), equity_after=money(after.equity),
        cash_after=money(after.cash), elapsed_seconds=round(elapsed, 3),
    )

