"""Factories for risk tests: a small universe, market facts, holdings, contexts and proposals.

The base context is easy to compute by hand: equity 100,000 = cash 50,000 + SPY 10 % + TLT 10 %
+ MC.PA 10 % + GLD 20 %; every FX rate is 1; prices are round; returns are small and seeded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from broker.models import AssetClass, Instrument, Side
from risk.limits import RiskLimits
from risk.models import Hit, Holding, MarketFacts, RiskContext, TradeProposal, TradingState
from risk.rules import Rule

AS_OF = date(2024, 6, 14)


def instrument(
    symbol: str,
    asset_class: AssetClass,
    sector: str,
    *,
    fractional: bool = False,
    tradable: bool = True,
    currency: str = "USD",
) -> Instrument:
    """An instrument of the test universe."""
    return Instrument(
        symbol=symbol,
        asset_class=asset_class,
        sector=sector,
        currency=currency,
        exchange="TEST",
        fractional=fractional,
        tradable=tradable,
    )


UNIVERSE: dict[str, Instrument] = {
    i.symbol: i
    for i in (
        instrument("SPY", AssetClass.US_EQUITY, "broad"),
        instrument("QQQ", AssetClass.US_EQUITY, "tech"),
        instrument("IWM", AssetClass.SMALL_CAP, "broad"),
        instrument("GLD", AssetClass.COMMODITY, "metals", fractional=True),
        instrument("TLT", AssetClass.BOND, "rates"),
        instrument("MC.PA", AssetClass.EU_EQUITY, "luxury", currency="EUR"),
        instrument("AIR.PA", AssetClass.EU_EQUITY, "industrials", currency="EUR"),
    )
}

PRICES: dict[str, Decimal] = {
    "SPY": Decimal(100),
    "QQQ": Decimal(100),
    "IWM": Decimal(50),
    "GLD": Decimal(200),
    "TLT": Decimal(50),
    "MC.PA": Decimal(500),
    "AIR.PA": Decimal(100),
}


def market(
    symbol: str,
    price: Decimal | int | str | None = None,
    *,
    price_date: date = AS_OF,
    volatility: float | None = 0.2,
    adv_base: Decimal | None = Decimal(10_000_000),
) -> MarketFacts:
    """Market facts for a symbol (price from PRICES unless given, FX 1)."""
    return MarketFacts(
        symbol=symbol,
        price=Decimal(price) if price is not None else PRICES[symbol],
        fx_rate=Decimal(1),
        price_date=price_date,
        volatility=volatility,
        adv_base=adv_base,
    )


def markets(**overrides: MarketFacts) -> dict[str, MarketFacts]:
    """Market facts for the whole universe, with some symbols replaced (``MC_PA`` for ``MC.PA``)."""
    facts = {symbol: market(symbol) for symbol in UNIVERSE}
    facts.update({key.replace("_", "."): value for key, value in overrides.items()})
    return facts


def holding(
    symbol: str,
    quantity: int | str,
    *,
    cost: Decimal | int | None = None,
    opened_on: date | None = AS_OF - timedelta(days=60),
) -> Holding:
    """A holding marked at its PRICES price (cost = market value unless given)."""
    value = Decimal(quantity) * PRICES[symbol]
    return Holding(
        symbol=symbol,
        quantity=Decimal(quantity),
        market_value_base=value,
        cost_base=value if cost is None else Decimal(cost),
        opened_on=opened_on,
    )


def base_holdings() -> dict[str, Holding]:
    """SPY 10 % (in profit), TLT 10 % (losing), MC.PA 10 %, GLD 20 % (in profit)."""
    return {
        "SPY": holding("SPY", 100, cost=9_000),
        "TLT": holding("TLT", 200, cost=11_000),
        "MC.PA": holding("MC.PA", 20),
        "GLD": holding("GLD", 100, cost=18_000),
    }


def returns_frame(
    symbols: Iterable[str] = UNIVERSE, days: int = 100, seed: int = 7, scale: float = 0.004
) -> pd.DataFrame:
    """Seeded small daily returns for the symbols."""
    columns = list(symbols)
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(0.0, scale, size=(days, len(columns))), columns=columns)


def tail_returns(tails: dict[str, float], days: int = 100, tail_days: int = 5) -> pd.DataFrame:
    """Zero returns for the universe, except ``tails[symbol]`` on the first ``tail_days`` days."""
    frame = pd.DataFrame(0.0, index=range(days), columns=list(UNIVERSE))
    for symbol, shock in tails.items():
        frame.loc[: tail_days - 1, symbol] = shock
    return frame


def correlation_matrix(pairs: dict[tuple[str, str], float] | None = None, base: float = 0.3) -> pd.DataFrame:
    """A symmetric correlation matrix with ``base`` off the diagonal and some pairs replaced."""
    symbols = list(UNIVERSE)
    matrix = pd.DataFrame(base, index=symbols, columns=symbols)
    for symbol in symbols:
        matrix.loc[symbol, symbol] = 1.0
    for (a, b), value in (pairs or {}).items():
        matrix.loc[a, b] = value
        matrix.loc[b, a] = value
    return matrix


def context(**overrides: Any) -> RiskContext:
    """The base context; equity is recomputed as cash + holdings unless given."""
    ctx = RiskContext(
        as_of=AS_OF,
        equity=Decimal(0),
        cash=Decimal(50_000),
        instruments=dict(UNIVERSE),
        market=markets(),
        holdings=base_holdings(),
        returns=returns_frame(),
        correlations=correlation_matrix(),
        trading_state=TradingState.ACTIVE,
    )
    ctx = replace(ctx, **overrides)
    if "equity" not in overrides:
        total = ctx.cash + sum((h.market_value_base for h in ctx.holdings.values()), start=Decimal(0))
        ctx = replace(ctx, equity=total)
    return ctx


def with_instrument(**flags: Any) -> dict[str, Instrument]:
    """The universe with IWM's flags changed."""
    universe = dict(UNIVERSE)
    universe["IWM"] = UNIVERSE["IWM"].model_copy(update=flags)
    return universe


def proposal(
    symbol: str = "IWM",
    quantity: int | str = 100,
    side: Side = Side.BUY,
    *,
    price: Decimal | int | str | None = None,
    fx_rate: Decimal | int | str | None = 1,
    confidence: float = 0.8,
    pid: str = "p1",
) -> TradeProposal:
    """A proposal priced from PRICES (unknown symbols get price 10) unless given."""
    default_price = PRICES.get(symbol, Decimal(10))
    return TradeProposal(
        id=pid,
        symbol=symbol,
        side=side,
        quantity=Decimal(quantity),
        price=default_price if price is None else Decimal(price),
        fx_rate=None if fx_rate is None else Decimal(fx_rate),
        target_weight=0.1,
        confidence=confidence,
    )


def sell(symbol: str, quantity: int | str, **kwargs: Any) -> TradeProposal:
    """A sell proposal."""
    return proposal(symbol, quantity, Side.SELL, **kwargs)


def limits(**overrides: Any) -> RiskLimits:
    """Default limits with some overridden."""
    return RiskLimits(**overrides)


def apply(
    rule: Rule, p: TradeProposal, ctx: RiskContext | None = None, lim: RiskLimits | None = None
) -> Hit | None:
    """Run one rule against the base context and default limits unless given."""
    return rule(p, ctx if ctx is not None else context(), lim if lim is not None else limits())
