"""Small builders for agent tests: instruments, price histories, indicator tables, policy contexts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from agent.indicators import INDICATOR_COLUMNS, IndicatorSet, Regime
from agent.market.base import PriceHistory
from agent.policies.base import HoldingView, PolicyContext
from broker.models import AssetClass, Instrument

AS_OF = date(2024, 6, 28)


def instrument(
    symbol: str,
    *,
    currency: str = "EUR",
    asset_class: AssetClass = AssetClass.EU_EQUITY,
    sector: str | None = None,
    data_symbol: str | None = None,
    price_scale: str = "1",
    tradable: bool = True,
) -> Instrument:
    """An instrument with defaults; the sector defaults to one per symbol (no sector caps)."""
    return Instrument(
        symbol=symbol, asset_class=asset_class, sector=sector or f"sector_{symbol}", currency=currency,
        exchange="XPAR" if currency == "EUR" else "ARCA", fractional=currency == "USD",
        data_symbol=data_symbol, price_scale=Decimal(price_scale), tradable=tradable,
    )


def history(
    close: Mapping[str, Sequence[float]],
    *,
    start: str = "2024-01-01",
    volume: Mapping[str, Sequence[float]] | None = None,
    fx: Mapping[str, Sequence[float]] | None = None,
    currencies: Mapping[str, str] | None = None,
    base: str = "EUR",
) -> PriceHistory:
    """A PriceHistory on business days from ``start``."""
    length = len(next(iter(close.values())))
    index = pd.bdate_range(start, periods=length)
    prices = pd.DataFrame({s: list(v) for s, v in close.items()}, index=index, dtype=float)
    shares = pd.DataFrame({s: list(v) for s, v in (volume or {}).items()}, index=index, dtype=float)
    return PriceHistory(
        close=prices,
        volume=shares.reindex(columns=prices.columns),
        fx={c: pd.Series(list(v), index=index, dtype=float) for c, v in (fx or {}).items()},
        source="test",
        synthetic=True,
        base_currency=base,
        currencies=dict(currencies or {}),
    )


def row(
    *,
    close: float = 110.0,
    sma50: float = 105.0,
    sma200: float = 100.0,
    vol60: float = 0.20,
    rsi14: float = 55.0,
    drawdown_252: float = -0.02,
    return_20d: float = 0.03,
) -> dict[str, object]:
    """One indicator row: by default an uptrend (close > SMA50 > SMA200) with 20% volatility."""
    values: dict[str, object] = dict.fromkeys(INDICATOR_COLUMNS, math.nan)
    values.update(close=close, price_date=AS_OF, sma20=close, sma50=sma50, sma200=sma200, rsi14=rsi14,
                  vol20=vol60, vol60=vol60, drawdown_252=drawdown_252, return_20d=return_20d, adv_base=1e8)
    return values


def indicator_set(
    rows: Mapping[str, Mapping[str, object]],
    *,
    regime: Regime = Regime.BALANCED,
    correlations: pd.DataFrame | None = None,
) -> IndicatorSet:
    """An IndicatorSet over ``rows`` (correlations default to the identity)."""
    table = pd.DataFrame.from_dict({s: dict(r) for s, r in rows.items()}, orient="index")
    table = table.loc[:, list(INDICATOR_COLUMNS)]
    symbols = list(rows)
    if correlations is None:
        correlations = pd.DataFrame(np.eye(len(symbols)), index=symbols, columns=symbols)
    inputs = {"median_vol20": 0.16, "avg_corr60": 0.3, "median_drawdown_252": -0.04}
    return IndicatorSet(as_of=AS_OF, table=table, correlations=correlations, returns=pd.DataFrame(),
                        regime=regime, regime_inputs=inputs)


def context(
    rows: Mapping[str, Mapping[str, object]],
    *,
    holdings: Mapping[str, HoldingView] | None = None,
    instruments: Mapping[str, Instrument] | None = None,
    regime: Regime = Regime.BALANCED,
    correlations: pd.DataFrame | None = None,
    max_position_weight: float = 0.25,
    min_cash_weight: float = 0.10,
) -> PolicyContext:
    """A PolicyContext whose instruments default to one EUR stock per row."""
    held = dict(holdings or {})
    return PolicyContext(
        as_of=AS_OF,
        instruments=dict(instruments) if instruments is not None else {s: instrument(s) for s in rows},
        indicators=indicator_set(rows, regime=regime, correlations=correlations),
        equity=100_000.0,
        cash_weight=1 - sum(h.weight for h in held.values()),
        holdings=held,
        max_position_weight=max_position_weight,
        min_cash_weight=min_cash_weight,
    )
