"""``risk.batch`` inputs from the engine's own values: a ``RiskContext`` and its proposals.

For the tests that check ``classify_day`` against ``classify_batch`` on any context (the array
replay builds its arrays directly). Returns None for what ``classify_day`` would not decide anyway
(unknown symbols, holdings outside the instruments, missing returns or correlations).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import SupportsFloat, cast

import numpy as np
import pandas as pd

from broker.models import Side
from risk.batch import Book, DayVerdicts, Orders, classify_day
from risk.limits import RiskLimits
from risk.models import RiskContext, TradeProposal

ZERO = Decimal(0)


def inputs_of(proposals: Sequence[TradeProposal], ctx: RiskContext) -> tuple[Book, Orders] | None:
    """The book and orders ``classify_day`` needs for ``proposals`` against ``ctx``."""
    symbols = list(ctx.instruments)
    position = {s: i for i, s in enumerate(symbols)}
    if ctx.returns is None or ctx.correlations is None or ctx.returns.empty:
        return None
    if any(s not in position for s in ctx.holdings) or any(p.symbol not in position for p in proposals):
        return None
    if any(p.symbol not in ctx.returns.columns or not _priced(p) for p in proposals):
        return None
    return _book(ctx, symbols, position), _orders(proposals, position)


def classify_context(proposals: Sequence[TradeProposal], ctx: RiskContext, limits: RiskLimits) -> DayVerdicts | None:
    """``classify_day`` for a context and its proposals (None when it does not decide them)."""
    inputs = inputs_of(proposals, ctx)
    return None if inputs is None else classify_day(*inputs, limits)


def _priced(p: TradeProposal) -> bool:
    """A positive price and FX rate (``no_price`` is silent)."""
    return p.price is not None and p.price > 0 and p.fx_rate is not None and p.fx_rate > 0


def _book(ctx: RiskContext, symbols: list[str], position: dict[str, int]) -> Book:
    held = [ctx.holdings.get(s) for s in symbols]
    instruments = [ctx.instruments[s] for s in symbols]
    classes = pd.factorize(pd.Series([i.asset_class.value for i in instruments]))[0]
    sectors = pd.factorize(pd.Series([i.sector for i in instruments]))[0]
    facts = [ctx.market.get(s) for s in symbols]
    frame = ctx.returns if ctx.returns is not None else pd.DataFrame()
    returns = frame.reindex(columns=symbols).to_numpy(dtype=float)
    correlations = ctx.correlations

    def correlation(a: int, b: int) -> float:
        matrix = correlations
        if matrix is None or symbols[a] not in matrix.index or symbols[b] not in matrix.columns:
            return math.nan
        return float(cast(SupportsFloat, matrix.at[symbols[a], symbols[b]]))

    return Book(
        as_of=ctx.as_of.toordinal(), equity=ctx.equity, cash=ctx.cash,
        quantity=[h.quantity if h else ZERO for h in held], value=[h.market_value_base if h else ZERO for h in held],
        cost=[h.cost_base if h else ZERO for h in held],
        value_f=np.array([float(h.market_value_base) if h else 0.0 for h in held]),
        opened=[h.opened_on.toordinal() if h and h.opened_on else None for h in held],
        holdings=[position[s] for s in ctx.holdings],
        last_exit={position[s]: d.toordinal() for s, d in ctx.last_exit.items() if s in position},
        asset_class=classes.astype(np.int64), sector=sectors.astype(np.int64),
        fractional=np.array([i.fractional for i in instruments]),
        tradable=np.array([i.tradable and (ctx.tradable is None or i.symbol in ctx.tradable) for i in instruments]),
        has_market=np.array([f is not None for f in facts]),
        volatility=np.array([f.volatility if f and f.volatility is not None else math.nan for f in facts]),
        adv=[f.adv_base if f else None for f in facts],
        adv_f=np.array([float(f.adv_base) if f and f.adv_base is not None else math.nan for f in facts]),
        price_age=np.array([(ctx.as_of - f.price_date).days if f else 0 for f in facts], dtype=np.int64),
        returns=np.nan_to_num(returns, nan=0.0), correlation=correlation, trading_state=ctx.trading_state,
        peak=ctx.peak_equity, day_return=ctx.day_return, trades_today=ctx.trades_today,
        trades_this_week=ctx.trades_this_week,
    )


def _orders(proposals: Sequence[TradeProposal], position: dict[str, int]) -> Orders:
    prices = [p.price_base or ZERO for p in proposals]
    return Orders(
        symbol=np.array([position[p.symbol] for p in proposals], dtype=np.int64),
        buy=np.array([p.side is Side.BUY for p in proposals], dtype=bool),
        quantity=[p.quantity for p in proposals], price_base=prices,
        quantity_f=np.array([float(p.quantity) for p in proposals], dtype=float),
        price_base_f=np.array([float(pb) for pb in prices], dtype=float),
        confidence=np.array([p.confidence for p in proposals], dtype=float),
    )
