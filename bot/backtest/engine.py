"""The backtest loop: the desk pipeline replayed day by day, in memory, without look-ahead.

Each day ``t`` of the period (rows of the history between start and end), in the order the live
desk meets them:

1. the open: the orders decided on day ``t-1`` are submitted to the real ``SimulatedBroker``
   (slippage and commission as configured) at day ``t``'s open when the history has one for the
   symbol (CSV files with an ``open`` column), else at day ``t``'s close; a broker rejection (e.g.
   the price rose and cash no longer suffices) is counted, not fatal;
2. the day, as the daemon's watch: a held position whose day's low (the lower of open and close
   when the data has no lows) reaches its stop (``bot.backtest.desk_state``) is sold whole through
   ``classify`` like live (risk-reducing sells are SAFE unless HALTED), at the stop or at the open
   when the open gapped through it;
3. the close: the portfolio is valued and its equity recorded;
4. unless ``t`` is the last day, the cycle: the circuit breaker trips when the day's return is at
   or below ``-intraday_drop_halt``; the policy decides from ``indicators_at(panels, t)`` (data up
   to ``t`` only), ``size_decision`` sizes the ideas against the account, and ``classify_batch``
   classifies them against a ``RiskContext`` built from the replayed portfolio. SAFE proposals
   become tomorrow's orders; BORDERLINE ones have no human: they are not executed unless
   ``approve_borderline`` (then the engine's clamped size when it offered one, and each approved
   order counts before the next is classified); UNSAFE never. A sleeved desk (``Replay.sleeves``)
   replays the allocator's schedule inside its policy and classifies against the budgets it set.
   A policy that abstains (``PolicyAbstained``) trades nothing that day.

Replay conventions, because no human is there and bars are daily (``bot.backtest.desk_state``):

- the circuit breaker keeps the desk REDUCING for ``breaker_days`` decision days counting the trip
  day, a new trip restarting the count. Live it lasts until someone resumes; the default (5, about
  the week a human takes to review) keeps a crash from being bought back the next morning, which
  no live desk would do, without freezing the rest of a ten-year run; 1 is a same-day breaker;
- a fill counts, and is dated, on the day its order was decided (the live desk fills a cycle's
  orders at once), so trades per day and week, holding periods and cooldowns are the live desk's;
  a stop-loss sell uses its day's trade budget before the close's decision;
- the policy sees only the replayed data (no recalled memories, no stored recent decisions), so a
  replayed day's prompt is the same in every run;
- proposal ids are deterministic (``b<row>-<n>`` for the cycle, ``s<row>-<n>`` for stop-losses)
  so two runs can be compared decision by decision.

Failure contract: ``ValueError`` when the period holds fewer than two days of data; anything the
policy raises other than ``PolicyAbstained`` propagates unchanged.
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
from agent.policies.base import Policy, PolicyAbstained, PolicyContext
from agent.schema import Action
from agent.universe import Universe
from bot.backtest.desk_state import ReplayState, stop_fill, week_of
from bot.backtest.feed import ArchivingLedgerStore, ReplayFeed
from bot.backtest.options import BREAKER_DAYS
from bot.desk.context import day_return, holdings_of, market_series, policy_context
from bot.desk.market import MarketSnapshot
from bot.desk.sizing import size_decision
from bot.sleeves.log import AllocationLog
from bot.sleeves.plan import SleevePlan
from broker.errors import BrokerError
from broker.models import Account, OrderRequest, Position, Side
from broker.simulated import SimConfig, SimulatedBroker
from risk import classify, classify_batch
from risk.limits import RiskLimits
from risk.models import Level, RiskContext, RiskVerdict, TradeProposal, TradingState

T = TypeVar("T")
DESK_COUNTS = ("stop_loss_sells", "breaker_trips", "breaker_days", "policy_abstained")  # always reported


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
    sleeves: AllocationLog | None = None  # with sleeves: their allocations and days

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
    breaker_days: int = BREAKER_DAYS
    sleeves: SleevePlan | None = None  # the sleeves (their policy is ``policy``), with a fresh log


@dataclass
class _Day:
    """One replayed day's moving parts."""

    spec: Replay
    feed: ReplayFeed
    ledger: ArchivingLedgerStore
    broker: SimulatedBroker
    state: ReplayState
    out: ReplayResult


async def replay(spec: Replay) -> ReplayResult:
    """Run the pipeline over ``spec.rows`` and return equity, decisions and fills."""
    if len(spec.rows) < 2:
        raise ValueError("the backtest period needs at least two days of data")
    feed = ReplayFeed(spec.history)
    ledger = ArchivingLedgerStore()
    desk = _Day(spec, feed, ledger, SimulatedBroker(spec.universe.by_symbol, feed, ledger, spec.sim, feed.now),
                ReplayState(), ReplayResult(counts=Counter(dict.fromkeys(DESK_COUNTS, 0))))
    pending: list[TradeProposal] = []
    decided_on = feed.dates[spec.rows[0]]
    for t in spec.rows:
        feed.move_to(t)
        feed.at_open()
        traded = await _execute(desk, pending, decided_on)
        traded += await _stop_losses(desk, t)
        feed.at_close()
        account, positions = await desk.broker.valuation()
        desk.out.dates.append(feed.today)
        desk.out.equity.append(account.equity)
        desk.out.traded.append(traded)
        desk.state.peak = max(desk.state.peak or account.equity, account.equity)
        pending = [] if t == spec.rows[-1] else await _decide(desk, t, account, positions)
        decided_on = feed.today
        if spec.on_day is not None:
            spec.on_day(t)
    desk.out.sleeves = spec.sleeves.log if spec.sleeves is not None else None
    return desk.out


async def _execute(desk: _Day, orders: list[TradeProposal], counted_on: date) -> Decimal:
    """Submit ``orders`` at the feed's current prices, dated ``counted_on``; the traded notional in base."""
    out = desk.out
    desk.feed.stamp(counted_on)
    try:
        for p in orders:
            try:
                await desk.broker.submit(OrderRequest(client_order_id=p.id, symbol=p.symbol, side=p.side,
                                                      quantity=p.quantity))
            except BrokerError as exc:
                out.counts["broker_rejected"] += 1
                out.codes[f"BROKER:{getattr(exc, 'code', 'ERROR')}"] += 1
    finally:
        desk.feed.stamp(None)
    stops = {p.id: p.stop_loss_pct for p in orders}
    traded = Decimal(0)
    records: list[FillRecord] = []
    today = desk.feed.today
    for order in desk.ledger.archive():
        filled = order.fills
        notional = round(sum((f.quantity * f.price * f.fx_rate for f in filled), Decimal(0)), 2)
        traded += notional
        if filled:
            out.counts["filled"] += 1
            desk.state.count_fill(order, counted_on, stops.get(order.client_order_id))
        records.append(FillRecord(day=today, client_order_id=order.client_order_id, symbol=order.symbol,
                                  side=str(order.side), quantity=str(order.quantity),
                                  price=str(order.filled_avg_price or ""), notional_base=str(notional),
                                  status=str(order.status)))
    if records:
        out.fill_chunks.append(records)
    return traded


async def _stop_losses(desk: _Day, t: int) -> Decimal:
    """Day ``t``'s stop-loss sells, classified and executed like the live watch's; the traded notional."""
    feed, state = desk.feed, desk.state
    prices = {s: price for s in desk.ledger.held() if (stop := state.stops.get(s)) is not None
              and (bar := feed.bar(s)) is not None and (price := stop_fill(bar, stop)) is not None
              and feed.fx_rate(feed.currency[s]) is not None}
    if not prices:
        return Decimal(0)
    for symbol, price in prices.items():
        feed.at_price(symbol, price)
    account, positions = await desk.broker.valuation()
    indicators = indicators_at(desk.spec.panels, t)
    snapshot = replay_snapshot(desk.spec, feed, indicators, list(prices), positions)
    ctx = replay_risk_context(desk.spec, t, indicators, account, positions, state)
    # The day's return is known at the close only: the intraday sells see the state carried in.
    ctx = replace(ctx, market=snapshot.facts(), day_return=0.0, trading_state=state.trading_state(t))
    held = {p.symbol: p.quantity for p in positions}
    proposals = [TradeProposal(id=f"s{t}-{n}", symbol=s, side=Side.SELL, quantity=held[s], price=price,
                               fx_rate=feed.fx_rate(feed.currency[s]), target_weight=0.0, confidence=1.0)
                 for n, (s, price) in enumerate(sorted(prices.items()))]
    chosen = _select(desk.spec, feed.today, proposals, [classify(p, ctx, desk.spec.limits) for p in proposals],
                     desk.out)
    before = desk.out.counts["filled"]
    traded = await _execute(desk, chosen, feed.today)
    desk.out.counts["stop_loss_sells"] += desk.out.counts["filled"] - before
    return traded


async def _decide(desk: _Day, t: int, account: Account, positions: list[Position]) -> list[TradeProposal]:
    """Day ``t``'s decision: breaker, policy, sizing, risk; the proposals to execute tomorrow."""
    spec, state, out = desk.spec, desk.state, desk.out
    indicators = indicators_at(spec.panels, t)
    today = indicators.as_of
    ctx = replay_risk_context(spec, t, indicators, account, positions, state)
    if ctx.day_return <= -spec.limits.intraday_drop_halt and state.trip(t, spec.breaker_days):
        out.counts["breaker_trips"] += 1
    if ctx.trading_state is TradingState.REDUCING:
        out.counts["breaker_days"] += 1
    try:
        decision = await spec.policy.decide(replay_policy_context(spec, today, account, positions, indicators, ctx))
    except PolicyAbstained:
        out.counts["policy_abstained"] += 1
        return []
    # Quotes and facts of the ideas to size only: sizing prices nothing else, and every risk rule reads the
    # facts of its proposal's own symbol (a 500-position book would otherwise value 500 facts a day).
    traded = [i.symbol for i in decision.proposals if i.action is not Action.HOLD]
    snapshot = replay_snapshot(spec, desk.feed, indicators, traded, [])
    # The sleeves' budgets are those the policy just decided under (it may have reallocated).
    ctx = replace(ctx, market=snapshot.facts(), sleeves=spec.sleeves.book() if spec.sleeves is not None else None)
    # Sized in the order size_decision returns them (sells first, stable), so the n-th proposal
    # made is the n-th returned and gets its id ``b<t>-<n>`` directly (no copy per proposal).
    sells_first = decision.model_copy(update={"proposals": sorted(decision.proposals,
                                                                  key=lambda i: i.action is Action.BUY)})
    ids = (f"b{t}-{n}" for n in itertools.count())
    sizing = size_decision(sells_first, account, positions, snapshot, spec.universe.by_symbol, lambda: next(ids))
    proposals = [s.proposal for s in sizing.proposals]
    # With --approve-borderline every BORDERLINE order executes too: the later ones are classified after it.
    verdicts = classify_batch(proposals, ctx, spec.limits, borderline_approved=spec.approve_borderline)
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
    """The risk context of day ``t`` before its market facts (``replay_snapshot(...).facts()``).

    REDUCING when the day's return trips the breaker or its window (``state``) covers ``t``.
    """
    today = indicators.as_of
    returns, correlations = market_series(indicators)
    drop = day_return(positions, account, indicators)
    breaker = drop <= -spec.limits.intraday_drop_halt or state.trading_state(t) is TradingState.REDUCING
    return RiskContext(
        as_of=today, equity=account.equity, cash=account.cash, instruments=spec.universe.by_symbol,
        market={}, holdings=holdings_of(positions), returns=returns, correlations=correlations,
        trading_state=TradingState.REDUCING if breaker else TradingState.ACTIVE, peak_equity=state.peak,
        day_return=drop, trades_today=state.fills_by_day[today], trades_this_week=state.fills_by_week[week_of(today)],
        last_exit=dict(state.last_exit), tradable=spec.universe.tradable,
        sleeves=spec.sleeves.book() if spec.sleeves is not None else None,
    )


def replay_policy_context(spec: Replay, today: date, account: Account, positions: list[Position],
                          indicators: IndicatorSet, ctx: RiskContext) -> PolicyContext:
    """What the policy sees on a replayed day (``policy_context`` without a store: no memories or recent decisions)."""
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
