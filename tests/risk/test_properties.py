"""Property: executing every SAFE proposal of a batch never breaches a hard limit.

Random portfolios over an 8-instrument universe and random batches of buys and sells go through
``classify_batch``; the SAFE proposals are then executed, in order, on an independent simulation
(its own weights and its own CVaR), which must end within every limit it was not already beyond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.models import AssetClass, Instrument, Side
from risk import classify, classify_batch
from risk.limits import RiskLimits
from risk.models import Holding, Level, MarketFacts, RiskContext, RiskVerdict, TradeProposal, TradingState
from tests.risk.factories import AS_OF, instrument

UNIVERSE: dict[str, Instrument] = {
    i.symbol: i
    for i in (
        instrument("TECH", AssetClass.US_EQUITY, "tech"),
        instrument("BROAD", AssetClass.US_EQUITY, "broad"),
        instrument("SMALL", AssetClass.SMALL_CAP, "broad"),
        instrument("GOLD", AssetClass.COMMODITY, "metals", fractional=True),
        instrument("BOND", AssetClass.BOND, "rates", fractional=True),
        instrument("LUX", AssetClass.EU_EQUITY, "luxury", currency="EUR"),
        instrument("AIR", AssetClass.EU_EQUITY, "industrials", currency="EUR"),
        instrument("ASIA", AssetClass.INTL_EQUITY, "tech"),
    )
}
SYMBOLS = list(UNIVERSE)
T = TypeVar("T")
DAYS = 60
TOL = 1e-9


@dataclass(frozen=True)
class Scenario:
    """A context, limits, and a batch of proposals."""

    ctx: RiskContext
    limits: RiskLimits
    proposals: list[TradeProposal]


def money(draw: st.DrawFn, low: int, high: int) -> Decimal:
    """A Decimal amount with cents."""
    return Decimal(draw(st.integers(low * 100, high * 100))) / 100


def pick(draw: st.DrawFn, messy: bool, clean: T, anything: st.SearchStrategy[T]) -> T:
    """A value from ``anything`` in a messy scenario, else the clean value.

    Clean scenarios have fresh, complete data and an ACTIVE desk, so that many buys are SAFE and
    the size limits are what the property exercises; messy ones draw every input at random.
    """
    return draw(anything) if messy else clean


def draw_market(draw: st.DrawFn, symbol: str, messy: bool) -> MarketFacts:
    return MarketFacts(
        symbol=symbol,
        price=money(draw, 1, 800),
        fx_rate=draw(st.sampled_from([Decimal(1), Decimal("0.9"), Decimal("1.1")])),
        price_date=AS_OF - timedelta(days=pick(draw, messy, 0, st.sampled_from([0, 1, 3, 7]))),
        volatility=pick(draw, messy, 0.2, st.one_of(st.none(), st.floats(0.05, 0.7))),
        adv_base=pick(
            draw,
            messy,
            Decimal(10**9),
            st.sampled_from([Decimal(10**9), Decimal(10**6), Decimal(50_000), None]),
        ),
    )


def step(symbol: str) -> Decimal:
    return Decimal("0.0001") if UNIVERSE[symbol].fractional else Decimal(1)


def draw_holdings(draw: st.DrawFn, market: dict[str, MarketFacts]) -> dict[str, Holding]:
    holdings = {}
    for symbol in draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=6)):
        quantity = Decimal(draw(st.integers(1, 400))) * (
            Decimal(1) if step(symbol) == 1 else Decimal("1.2345")
        )
        value = quantity * market[symbol].price * market[symbol].fx_rate
        holdings[symbol] = Holding(
            symbol=symbol,
            quantity=quantity,
            market_value_base=value,
            cost_base=value * Decimal(draw(st.integers(70, 130))) / 100,
            opened_on=AS_OF - timedelta(days=draw(st.integers(0, 60))),
        )
    return holdings


def draw_returns(draw: st.DrawFn) -> pd.DataFrame:
    """Daily returns with a common factor, per-symbol scales and a seeded generator."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scales = np.array([draw(st.floats(0.002, 0.03)) for _ in SYMBOLS])
    common = rng.normal(0.0, 1.0, size=(DAYS, 1))
    own = rng.normal(0.0, 1.0, size=(DAYS, len(SYMBOLS)))
    mix = draw(st.floats(0.0, 0.9))
    return pd.DataFrame((mix * common + (1 - mix) * own) * scales, columns=SYMBOLS)


def draw_limits(draw: st.DrawFn, messy: bool) -> RiskLimits:
    return RiskLimits(
        max_position_weight=draw(st.floats(0.1, 0.4)),
        max_asset_class_weight=draw(st.floats(0.2, 0.6)),
        max_sector_weight=draw(st.floats(0.2, 0.6)),
        min_cash_weight=draw(st.floats(0.0, 0.25)),
        max_cvar_95=draw(st.floats(0.005, 0.05)),
        max_trades_per_day=pick(draw, messy, 10, st.sampled_from([10, 4, 1, 0])),
        borderline_fraction=draw(st.one_of(st.just(1.0), st.floats(0.5, 1.0))),
        min_confidence=pick(draw, messy, 0.0, st.floats(0.0, 0.6)),
    )


def draw_context(draw: st.DrawFn, messy: bool) -> RiskContext:
    market = {symbol: draw_market(draw, symbol, messy) for symbol in SYMBOLS}
    holdings = draw_holdings(draw, market)
    cash = pick(draw, messy, money(draw, 5_000, 200_000), st.sampled_from([Decimal(0), Decimal(1_000)]))
    equity = cash + sum((h.market_value_base for h in holdings.values()), start=Decimal(0))
    returns = draw_returns(draw)
    trades_today = pick(draw, messy, 0, st.sampled_from([0, 1, 5, 11]))
    exits = draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=2))
    return RiskContext(
        as_of=AS_OF,
        equity=equity,
        cash=cash,
        instruments=UNIVERSE,
        market=market,
        holdings=holdings,
        returns=returns,
        correlations=returns.corr(),
        trading_state=pick(draw, messy, TradingState.ACTIVE, st.sampled_from(TradingState)),
        peak_equity=pick(draw, messy, None, st.sampled_from([None, equity * Decimal("1.1"), equity * 2])),
        day_return=pick(draw, messy, 0.0, st.floats(-0.04, 0.02)),
        trades_today=trades_today,
        trades_this_week=trades_today + draw(st.integers(0, 20)),
        last_exit={symbol: AS_OF - timedelta(days=draw(st.integers(0, 20))) for symbol in exits},
        tradable=pick(draw, messy, None, st.sampled_from([None, frozenset(SYMBOLS[1:])])),
    )


def draw_symbol(draw: st.DrawFn, ctx: RiskContext, side: Side, messy: bool) -> str:
    """Mostly a held symbol for a sell, any universe symbol for a buy; sometimes an unknown one."""
    held = sorted(ctx.holdings)
    if side is Side.SELL and held and draw(st.integers(0, 4)):
        return draw(st.sampled_from(held))
    return draw(st.sampled_from([*SYMBOLS, "ZZZ"] if messy else SYMBOLS))


def draw_proposal(draw: st.DrawFn, ctx: RiskContext, index: int, messy: bool) -> TradeProposal:
    side = draw(st.sampled_from([Side.BUY, Side.BUY, Side.SELL]))
    symbol = draw_symbol(draw, ctx, side, messy)
    facts = ctx.market.get(symbol)
    price = facts.price if facts else Decimal(10)
    fx = facts.fx_rate if facts else Decimal(1)
    unit = step(symbol) if symbol in UNIVERSE else Decimal(1)
    held = ctx.holdings[symbol].quantity if symbol in ctx.holdings else Decimal(0)
    if side is Side.SELL:
        raw = held * Decimal(draw(st.integers(0, 120))) / 100
    else:
        raw = ctx.equity * Decimal(draw(st.integers(1, 25))) / 100 / (price * fx)
    return TradeProposal(
        id=f"p{index}",
        symbol=symbol,
        side=side,
        quantity=(raw / unit).to_integral_value() * unit,
        price=pick(draw, messy, price, st.sampled_from([price, price, None])),
        fx_rate=fx,
        target_weight=0.1,
        confidence=draw(st.floats(0.0, 1.0)),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    messy = draw(st.booleans())
    ctx = draw_context(draw, messy)
    count = draw(st.integers(1, 8))
    proposals = [draw_proposal(draw, ctx, i, messy) for i in range(count)]
    return Scenario(ctx=ctx, limits=draw_limits(draw, messy), proposals=proposals)


@dataclass
class Portfolio:
    """An independent, deliberately simple portfolio: quantities at the scenario's prices."""

    ctx: RiskContext
    cash: Decimal
    quantity: dict[str, Decimal]
    trades: int
    bought: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, ctx: RiskContext) -> Portfolio:
        quantities = {symbol: h.quantity for symbol, h in ctx.holdings.items()}
        return cls(ctx=ctx, cash=ctx.cash, quantity=quantities, trades=ctx.trades_today)

    def value(self, symbol: str) -> Decimal:
        facts = self.ctx.market[symbol]
        return self.quantity.get(symbol, Decimal(0)) * facts.price * facts.fx_rate

    def equity(self) -> Decimal:
        return self.cash + sum((self.value(s) for s in self.quantity), start=Decimal(0))

    def weight(self, symbols: list[str]) -> float:
        return float(sum((self.value(s) for s in symbols), start=Decimal(0)) / self.equity())

    def cvar(self) -> float:
        assert self.ctx.returns is not None
        weights = np.array([self.weight([s]) for s in SYMBOLS])
        daily = np.sort(self.ctx.returns[SYMBOLS].to_numpy() @ weights)
        worst = max(1, math.ceil(len(daily) * 0.05 - 1e-9))
        return float(-daily[:worst].mean())

    def execute(self, p: TradeProposal, limits: RiskLimits) -> None:
        assert p.price_base is not None
        notional = p.quantity * p.price_base
        held = self.quantity.get(p.symbol, Decimal(0))
        if p.side is Side.SELL:
            assert p.quantity <= held, "a SAFE sell never shorts"
            self.quantity[p.symbol] = held - p.quantity
            self.cash += notional
        else:
            assert self.ctx.trading_state is TradingState.ACTIVE, "only ACTIVE desks buy"
            assert self.trades + 1 <= limits.max_trades_per_day
            before = self.cvar()
            self.quantity[p.symbol] = held + p.quantity
            self.cash -= notional
            self.bought.add(p.symbol)
            if before <= limits.max_cvar_95:
                assert self.cvar() <= limits.max_cvar_95 + TOL
        self.trades += 1


def members(symbol: str, *, by_class: bool) -> list[str]:
    mine = UNIVERSE[symbol]
    if by_class:
        return [s for s, i in UNIVERSE.items() if i.asset_class is mine.asset_class]
    return [s for s, i in UNIVERSE.items() if i.sector == mine.sector]


def check_end_state(book: Portfolio, limits: RiskLimits) -> None:
    assert all(q >= 0 for q in book.quantity.values())
    if not book.bought:
        return
    equity = book.equity()
    assert book.cash >= Decimal(str(limits.min_cash_weight)) * equity - Decimal("1e-9") * equity
    for symbol in book.bought:
        assert book.weight([symbol]) <= limits.max_position_weight + TOL
        assert book.weight(members(symbol, by_class=True)) <= limits.max_asset_class_weight + TOL
        assert book.weight(members(symbol, by_class=False)) <= limits.max_sector_weight + TOL


def check_verdict_shape(p: TradeProposal, verdict: RiskVerdict, ctx: RiskContext, limits: RiskLimits) -> None:
    if verdict.clamped is None:
        assert verdict.clamp is None
        return
    assert verdict.level is Level.BORDERLINE
    assert 0 < verdict.clamped.quantity < p.quantity
    again = classify(verdict.clamped, ctx, limits)
    assert again.level is not Level.UNSAFE
    assert all(hit.clamp_quantity is None for hit in again.hits), again.codes


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_executing_every_safe_proposal_stays_within_the_limits(scenario: Scenario) -> None:
    ctx, limits = scenario.ctx, scenario.limits
    verdicts = classify_batch(scenario.proposals, ctx, limits)
    assert len(verdicts) == len(scenario.proposals)
    book = Portfolio.of(ctx)
    executed: list[TradeProposal] = []
    for p, verdict in zip(scenario.proposals, verdicts, strict=True):
        if verdict.level is Level.SAFE:
            book.execute(p, limits)
            executed.append(p)
    if ctx.trading_state is TradingState.HALTED:
        assert executed == []
    if ctx.trading_state is TradingState.REDUCING:
        assert all(p.side is Side.SELL for p in executed)
    check_end_state(book, limits)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_clamps_are_within_every_limit_and_classify_is_deterministic(scenario: Scenario) -> None:
    ctx, limits = scenario.ctx, scenario.limits
    for p in scenario.proposals:
        verdict = classify(p, ctx, limits)
        assert classify(p, ctx, limits) == verdict
        check_verdict_shape(p, verdict, ctx, limits)
