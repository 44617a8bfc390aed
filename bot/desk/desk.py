"""The desk: every use case once, transport-agnostic; the CLI and Telegram only parse and render.

Submit protocol (crash safety): under the database's submission lock, the proposal is moved to
SUBMITTING and committed, THEN the broker is called with client_order_id = proposal id, then the
order and fills are recorded. A crash anywhere leaves either no SUBMITTING row (nothing sent) or
one that ``bot/desk/reconcile.py`` resolves by asking the broker for that client_order_id.

Failure contract: a request the desk refuses raises ``DeskError`` with a one-line reason and
changes nothing; market-data, settings and policy failures happen before the first write of a
cycle; a broker rejection is recorded on its proposal (BROKER_REJECTED) and raised as an alert,
and the other proposals carry on; a fatal broker error, or any error whose outcome is unknown,
stops the cycle after an alert and leaves the proposal SUBMITTING for reconciliation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog

from agent.memory import Memory, NullMemory
from agent.policies.base import Policy
from agent.universe import Universe
from bot.clock import Clock
from bot.desk.market import MarketService, MarketSnapshot
from bot.desk.results import DeskError, StateChange
from broker.errors import FatalBrokerError, OrderRejectedError, RetryableBrokerError
from broker.models import Order, OrderRequest, Position
from broker.protocol import Broker
from risk.lifecycle import ProposalStatus
from risk.limits import RiskLimits
from risk.models import SleeveBook, TradeProposal, TradingState
from storage.instance_lock import book_lock, submission_lock
from storage.store import Store

if TYPE_CHECKING:
    from bot.sleeves.plan import SleevePlan

log = structlog.get_logger("paperdesk.desk")
S = ProposalStatus


@dataclass
class Desk:
    """The wired dependencies every use case works with."""

    store: Store
    broker: Broker
    market: MarketService
    policy: Policy
    universe: Universe
    limits: RiskLimits
    clock: Clock
    submit_attempts: int = 3
    retry_delay: float = 0.5
    memory: Memory = field(default_factory=NullMemory)
    lock_wait: float = 30.0
    as_of: date | None = None  # the date a command pinned with --as-of
    sleeves: SleevePlan | None = None  # the configured sleeves, when the desk is divided into them

    @property
    def today(self) -> date:
        """The desk's date, from its clock."""
        return self.clock().date()

    def portfolio_date(self) -> date:
        """The date the portfolio is looked at: the pinned --as-of date, else the store's ``portfolio_date``."""
        return self.as_of or self.store.portfolio_date(self.today)

    def snapshot(self) -> MarketSnapshot:
        """Market data for today (cached per date)."""
        return self.market.load(self.today)

    def sleeve_book(self) -> SleeveBook | None:
        """The sleeves in force for the risk engine (None: the desk is one implicit sleeve)."""
        return self.sleeves.book() if self.sleeves is not None else None

    def trading_state(self) -> TradingState:
        """The state in force."""
        return TradingState(self.store.trading_state().state)

    @contextlib.asynccontextmanager
    async def book(self, what: str) -> AsyncIterator[None]:
        """Hold the book lock (any process) while reading the book, classifying and executing against it."""
        lock = book_lock(self.store.engine)
        if not await lock.acquire(within=self.lock_wait):
            holder = lock.holder() or "another process"
            raise DeskError(f"{what}: the book is busy ({holder} is trading) for {self.lock_wait:g} s; try again")
        try:
            yield
        finally:
            lock.release()

    async def positions(self) -> list[Position]:
        """The desk's own holdings at the broker: what its recorded fills account for, no more.

        Shares the broker holds beyond the recorded fills (bought outside the desk) are not the
        desk's to sell or size against; reconcile reports them. A position without an open date
        (Alpaca's) gets the first fill of its current holding.
        """
        held = await self.broker.positions()
        recorded = self.store.fill_positions()
        starts = self.store.holding_starts() if any(p.opened_at is None for p in held) else {}
        own = []
        for p in held:
            mine = min(p.quantity, recorded.get(p.symbol, Decimal(0)))
            if mine <= 0:
                continue
            if mine < p.quantity:
                share = mine / p.quantity
                p = p.model_copy(update={"quantity": mine, "market_value_base": p.market_value_base * share,
                                         "cost_base": p.cost_base * share})
            if p.opened_at is None and p.symbol in starts:
                p = p.model_copy(update={"opened_at": starts[p.symbol]})
            own.append(p)
        return own

    async def execute(self, proposal: TradeProposal, expected: ProposalStatus) -> Order | None:
        """Submit one order crash-safely (client_order_id = proposal id) and record the outcome; None if rejected."""
        lock = submission_lock(self.store.engine)
        if not await lock.acquire(within=self.lock_wait):
            holder = lock.holder() or "unknown holder"
            self._record_rejection(proposal, expected,
                                   f"LOCKED: {holder} held the submission lock for {self.lock_wait:g} s")
            return None
        try:
            return await self._execute_locked(proposal, expected)
        finally:
            lock.release()

    async def _execute_locked(self, proposal: TradeProposal, expected: ProposalStatus) -> Order | None:
        """SUBMITTING committed first, then the broker call, then the outcome; a crash in between is reconciled."""
        note = f"client_order_id={proposal.id}"
        if not self.store.transition(proposal.id, expected, S.SUBMITTING, "system", note=note):
            raise DeskError(f"proposal {proposal.id} is no longer {expected}; nothing was submitted")
        request = OrderRequest(client_order_id=proposal.id, symbol=proposal.symbol, side=proposal.side,
                               quantity=proposal.quantity)
        try:
            order = await self._submit_with_retry(request)
        except OrderRejectedError as exc:
            self._record_rejection(proposal, S.SUBMITTING, f"{exc.code}: {exc}")
            return None
        except Exception as exc:
            kind, what = ("broker_fatal", "broker unusable") if isinstance(exc, FatalBrokerError) else (
                "submit_unknown", "order outcome unknown")
            self.store.add_alert(kind, "critical", f"{what}: {exc}; {proposal.id} stays SUBMITTING until reconciled",
                                 detail={"proposal_id": proposal.id})
            raise
        if not self.store.record_execution(proposal.id, S.SUBMITTING, order, self.broker.name):
            raise DeskError(f"proposal {proposal.id} changed status while its order was submitted")
        log.info("order_recorded", proposal_id=proposal.id, status=str(order.status),
                 quantity=str(order.filled_quantity), price=str(order.filled_avg_price))
        if order.reject_reason:
            self.store.add_alert("broker_rejected", "warning",
                                 f"{proposal.symbol} {proposal.side} rejected: {order.reject_reason}")
        return order

    async def _submit_with_retry(self, request: OrderRequest) -> Order:
        for attempt in range(1, self.submit_attempts + 1):
            try:
                return await self.broker.submit(request)
            except RetryableBrokerError as exc:
                log.warning("submit_retry", client_order_id=request.client_order_id, attempt=attempt, error=str(exc))
                existing = await self.broker.order_by_client_id(request.client_order_id)
                if existing is not None:
                    return existing
                if attempt == self.submit_attempts:
                    raise OrderRejectedError(f"gave up after {attempt} attempts: {exc}", code=exc.code) from exc
                await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _record_rejection(self, proposal: TradeProposal, expected: ProposalStatus, reason: str) -> None:
        self.store.transition(proposal.id, expected, S.BROKER_REJECTED, "broker", note=reason, decision_reason=reason)
        self.store.add_alert("broker_rejected", "warning", f"{proposal.symbol} {proposal.side} rejected: {reason}",
                             detail={"proposal_id": proposal.id})
        log.warning("order_rejected", proposal_id=proposal.id, reason=reason)

    def set_state(self, state: TradingState, actor: str, reason: str | None) -> StateChange:
        """Change the trading state (halt, reduce, resume) and raise an alert."""
        previous = self.trading_state()
        if previous is state:
            raise DeskError(f"trading is already {state}")
        self.store.set_trading_state(state, actor, reason)
        message = f"trading state {previous} -> {state} by {actor}" + (f": {reason}" if reason else "")
        self.store.add_alert("trading_state", "warning" if state is not TradingState.ACTIVE else "info", message)
        log.warning("trading_state_changed", previous=str(previous), state=str(state), actor=actor, reason=reason)
        return StateChange(state=str(state), previous=str(previous), actor=actor, reason=reason)
