"""The backtest loop: the desk pipeline replayed day by day, in memory, without look-ahead.

Each day ``t`` of the period (rows of the history between start and end):

1. the orders decided on day ``t-1`` are submitted to the real ``SimulatedBroker`` (slippage and
   commission as configured) at day ``t``'s open when the history has one for the symbol (CSV
   files with an ``open`` column), else at day ``t``'s close;
   a broker rejection (e.g. the price rose and cash no longer suffices) is counted, not fatal;
2. the portfolio is valued at day ``t``'s close and its equity recorded;
3. unless ``t`` is the last day, the policy decides from ``indicators_at(panels, t)`` (data up to
   ``t`` only), ``size_decision`` sizes the ideas against the account, and ``classify_batch``
   classifies them against a ``RiskContext`` built from the replayed portfolio. SAFE proposals
   become tomorrow's orders; BORDERLINE ones have no human: they are not executed unless
   ``approve_borderline`` (then the engine's clamped size when it offered one); UNSAFE never.

Replay conventions that differ from the live desk, because no human is there: the circuit
breaker puts the day's decisions in REDUCING for that day only (live, it stays until someone
resumes); trades-per-day counts 0 at decision time (the orders execute tomorrow) and the weekly
count is the fills of the execution day's ISO week so far. Proposal ids are deterministic
(``b<row>-<n>``) so two runs can be compared decision by decision.

Failure contract: ``ValueError`` when the period holds fewer than two days of data.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TypeVar

from agent.indicator_panels import IndicatorPanels, indicators_at
from agent.indicators import IndicatorSet
from agent.market.base import PriceHistory
from agent.policies.base import Policy, PolicyContext
from agent.schema import Action
from agent.universe import Universe
from bot.backtest.feed import ArchivingLedgerStore, ReplayFeed
from bot.desk.context import day_return, policy_context
from bot.desk.sizing import size_decision
from bot.market import MarketSnapshot
from broker.errors import BrokerError
from broker.models import Account, OrderRequest, Position, Side
from broker.simulated import SimConfig, SimulatedBroker
from risk import classify_batch
from risk.limits import RiskLimits
from risk.models import Holding, Level, RiskContext, RiskVerdict, TradeProposal, TradingState

T = TypeVar("T")


@dataclass(frozen=True)
class DecisionRecord:
    """One classified proposal of a backtest day."""

    day: date
    id: str
    symbol: str
    side: str
    quantity: str
    level: str
    codes: tuple[str, ...]
    executed: bool


@dataclass(frozen=True)
class FillRecord:
    """One order outcome of a backtest day."""

    day: date
    client_order_id: str
    symbol: str
    side: str
    quantity: str
    price: str
    notional_base: str
    status: str


Records = list[T] | Callable[[], list[T]]


@dataclass(repr=False)
class ReplayResult:
    """Everything a replay produced; decisions and fills are kept by day, built when first read."""

    dates: list[date] = field(default_factory=list)
    equity: list[Decimal] = field(default_factory=list)
    traded: list[Decimal] = field(default_factory=list)
    decision_chunks: list[Records[DecisionRecord]] = field(default_factory=list)
    fill_chunks: list[Records[FillRecord]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run formats its result's repr (twice, on Python 3.11), which
        # for a ten-year replay's records took longer than the replay.
        return f"ReplayResult(days={len(self.dates)}, counts={dict(self.counts)})"

    @property
    def decisions(self) -> list[DecisionRecord]:
        """Every classified proposal, day by day."""
        return _flat(self.decision_chunks)

    @property
    def fills(self) -> list[FillRecord]:
        """Every order outcome, day by day."""
        return _flat(self.fill_chunks)


def _flat(chunks: list[Records[T]]) -> list[T]:
    return [record for chunk in chunks for record in (chunk() if callable(chunk) else chunk)]


@dataclass
class Replay:
    """The inputs of one replay."""

    history: PriceHistory
    panels: IndicatorPanels
    rows: range
    universe: Universe
    policy: Policy
    limits: RiskLimits
    sim: SimConfig
    approve_borderline: bool = False
    on_day: Callable[[int], None] | None = None


async def replay(spec: Replay) -> ReplayResult:
    """Run the pipeline over ``spec.rows`` and return equity, decisions and fills."""
    if len(spec.rows) < 2:
        raise ValueError("the backtest period needs at least two days of data")
    feed = ReplayFeed(spec.history)
    ledger = ArchivingLedgerStore()
    broker = SimulatedBroker(spec.universe.by_symbol, feed, ledger, spec.sim, feed.now)
    state = ReplayState()
    out = ReplayResult()
    pending: list[TradeProposal] = []
    for t in spec.rows:
        feed.move_to(t)
        feed.at_open()
        traded = await _execute(broker, ledger, pending, feed.today, out, state)
        feed.at_close()
        account, positions = await broker.account(), await broker.positions()
        out.dates.append(feed.today)
        out.equity.append(account.equity)
        out.traded.append(traded)
        state.peak = max(state.peak or account.equity, account.equity)
        pending = [] if t == spec.rows[-1] else await _decide(spec, feed, t, account, positions, state, out)
        if spec.on_day is not None:
            spec.on_day(t)
    return out


@dataclass
class ReplayState:
    """What the replayed desk remembers between days: the equity peak, fills per ISO week, exits."""

    peak: Decimal | None = None
    fills_by_week: Counter[tuple[int, int]] = field(default_factory=Counter)
    last_exit: dict[str, date] = field(default_factory=dict)


async def _execute(broker: SimulatedBroker, ledger: ArchivingLedgerStore, pending: list[TradeProposal], today: date,
                   out: ReplayResult, state: ReplayState) -> Decimal:
    """Submit yesterday's orders at today's price; the traded notional in base currency (each order's to cents)."""
    for p in pending:
        try:
            await broker.submit(OrderRequest(client_order_id=p.id, symbol=p.symbol, side=p.side, quantity=p.quantity))
        except BrokerError as exc:
            out.counts["broker_rejected"] += 1
            out.codes[f"BROKER:{getattr(exc, 'code', 'ERROR')}"] += 1
    traded = Decimal(0)
    records: list[FillRecord] = []
    for order in ledger.archive():
        filled = order.fills
        notional = round(sum((f.quantity * f.price * f.fx_rate for f in filled), Decimal(0)), 2)
        traded += notional
        if filled:
            out.counts["filled"] += 1
            state.fills_by_week[today.isocalendar()[:2]] += 1
            if order.side is Side.SELL:
                state.last_exit[order.symbol] = today
        records.append(FillRecord(day=today, client_order_id=order.client_order_id, symbol=order.symbol,
                                    side=str(order.side), quantity=str(order.quantity),
                                    price=str(order.filled_avg_price or ""), notional_base=str(notional),
                                    status=str(order.status)))
    if records:
        out.fill_chunks.append(records)
    return traded


async def _decide(spec: Replay, feed: ReplayFeed, t: int, account: Account, positions: list[Position],
                  state: ReplayState, out: ReplayResult) -> list[TradeProposal]:
    """Day ``t``'s decision: policy, sizing, risk; the proposals to execute tomorrow."""
    indicators = indicators_at(spec.panels, t)
    today = indicators.as_of
    ctx = replay_risk_context(spec, t, indicators, account, positions, state)
    decision = await spec.policy.decide(_policy_context(spec, today, account, positions, indicators, ctx))
    snapshot = replay_snapshot(spec, feed, indicators, [i.symbol for i in decision.proposals], positions)
    ctx = replace(ctx, market=snapshot.facts())
    # Sized in the order size_decision returns them (sells first, stable), so the n-th proposal
    # made is the n-th returned and gets its id ``b<t>-<n>`` directly (no copy per proposal).
    sells_first = decision.model_copy(update={"proposals": sorted(decision.proposals,
                                                                  key=lambda i: i.action is Action.BUY)})
    ids = (f"b{t}-{n}" for n in itertools.count())
    sizing = size_decision(sells_first, account, positions, snapshot, spec.universe.by_symbol, lambda: next(ids))
    proposals = [s.proposal for s in sizing.proposals]
    verdicts = classify_batch(proposals, ctx, spec.limits)
    return _select(spec, today, proposals, verdicts, out)


def _select(spec: Replay, today: date, proposals: list[TradeProposal], verdicts: list[RiskVerdict],
            out: ReplayResult) -> list[TradeProposal]:
    chosen: list[TradeProposal] = []
    records: list[DecisionRecord] = []
    for p, v in zip(proposals, verdicts, strict=True):
        out.counts[f"proposals_{v.level.lower()}"] += 1
        out.codes.update(h.code for h in v.hits if h.level is not Level.SAFE)
        take = v.level is Level.SAFE or (v.level is Level.BORDERLINE and spec.approve_borderline)
        order = (v.clamped or p) if v.level is Level.BORDERLINE else p
        if take and order.quantity > 0:
            chosen.append(order)
        records.append(DecisionRecord(day=today, id=p.id, symbol=p.symbol, side=str(p.side),
                                            quantity=str(order.quantity), level=str(v.level),
                                            codes=tuple(v.codes), executed=take))
    if records:
        out.decision_chunks.append(records)
    return chosen


def replay_risk_context(spec: Replay, t: int, indicators: IndicatorSet, account: Account,
                        positions: list[Position], state: ReplayState) -> RiskContext:
    """The risk context of day ``t`` before its market facts (``replay_snapshot(...).facts()``)."""
    dates = spec.history.close.index
    next_day = dates[min(t + 1, len(dates) - 1)].date()
    week = next_day.isocalendar()[:2]
    ctx = RiskContext(
        as_of=indicators.as_of, equity=account.equity, cash=account.cash, instruments=spec.universe.by_symbol,
        market={}, holdings=replay_holdings(positions), returns=indicators.returns,
        correlations=indicators.correlations,
        trading_state=TradingState.ACTIVE, peak_equity=state.peak, trades_today=0,
        trades_this_week=state.fills_by_week[week],
        last_exit=dict(state.last_exit), tradable=frozenset(i.symbol for i in spec.universe.instruments if i.tradable),
    )
    snapshot_view = MarketSnapshot(history=spec.history, indicators=indicators, quotes={}, fx={})
    drop = day_return(positions, account, snapshot_view)
    breaker = drop <= -spec.limits.intraday_drop_halt
    return replace(ctx, day_return=drop, trading_state=TradingState.REDUCING if breaker else TradingState.ACTIVE)


def replay_holdings(positions: list[Position]) -> dict[str, Holding]:
    """``bot.desk.context.holdings_of`` without validating again what the broker's ``Position`` validated."""
    # Every field is copied from a validated Position of the same types, so the models are equal;
    # validation was a pydantic round per position per day (7 ms a day at 500 positions).
    return {
        p.symbol: Holding.model_construct(symbol=p.symbol, quantity=p.quantity, market_value_base=p.market_value_base,
                                          cost_base=p.cost_base, opened_on=p.opened_at.date() if p.opened_at else None)
        for p in positions
    }


def _policy_context(spec: Replay, today: date, account: Account, positions: list[Position], indicators: IndicatorSet,
                    ctx: RiskContext) -> PolicyContext:
    snapshot_view = MarketSnapshot(history=spec.history, indicators=indicators, quotes={}, fx={})
    return policy_context(as_of=today, account=account, positions=positions, snapshot=snapshot_view,
                          universe=spec.universe, limits=spec.limits, drawdown=ctx.drawdown)


def replay_snapshot(spec: Replay, feed: ReplayFeed, indicators: IndicatorSet, decision_symbols: list[str],
                    held: list[Position]) -> MarketSnapshot:
    """Quotes and FX of the feed's day for the symbols the decision and the portfolio involve."""
    quotes = {s: q for s in {*decision_symbols, *(p.symbol for p in held)} if (q := feed.quote(s)) is not None}
    fx = {c: r for c in {q.currency for q in quotes.values()} | {spec.history.base_currency}
          if (r := feed.fx_rate(c)) is not None}
    return MarketSnapshot(history=spec.history, indicators=indicators, quotes=quotes, fx=fx)
