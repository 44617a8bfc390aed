"""Benchmarks in the base currency: SPY buy-and-hold, CAC 40 buy-and-hold, the equal-weight universe.

Policy: a benchmark is what the same money would have become doing nothing clever, over the
same dates as the strategy and with the same fill timing: it holds cash on the first day (the
strategy decides at that close and fills the next day) and is invested from the second day's
price on — its open when the history has opens, as the backtest fills at the next open — so a
buy-and-hold backtest without costs reproduces its benchmark exactly. Prices are
forward-filled closes × FX (base units per instrument currency), so a USD ETF measured in EUR
carries the currency move; a date without a row of data (a report's business day on which the
market was shut) takes the price before it. The equal-weight universe is rebalanced daily: its return is the mean
of the day's returns of the instruments priced that day and the day before. No trading costs.

Failure contract: a benchmark whose instrument has no price on the investment day is left out
(``benchmark_series`` returns only those it could compute); never raises on NaN.
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar

import numpy as np
import pandas as pd

from agent.market.base import PriceHistory

SPY, CAC = "SPY", "CAC.PA"
NAMES = {SPY: "SPY buy-and-hold", CAC: "CAC 40 buy-and-hold"}
EQUAL_WEIGHT = "equal-weight universe"
Prices = TypeVar("Prices", pd.Series, pd.DataFrame)


def base_prices(history: PriceHistory) -> pd.DataFrame:
    """Forward-filled closes in the base currency."""
    return history.close.astype(float).ffill() * history.fx_by_symbol().ffill()


def base_opens(history: PriceHistory) -> pd.DataFrame | None:
    """Opens in the base currency (NaN where unknown), or None when the history has none."""
    if history.open is None:
        return None
    return history.open.astype(float) * history.fx_by_symbol().ffill()


def on_dates(prices: Prices, dates: list[date]) -> Prices:
    """Prices on each date: the last price on or before it (a day the market was shut carries the day before's)."""
    index = pd.DatetimeIndex(dates)
    return prices.reindex(prices.index.union(index)).ffill().reindex(index)


def buy_and_hold(prices: pd.Series, dates: list[date], initial: float,
                 opens: pd.Series | None = None) -> pd.Series | None:
    """``initial`` in cash on the first date, invested at the second date's open (else close), then held."""
    series = on_dates(prices, dates).astype(float)
    if len(series) < 2 or not np.isfinite(series.iloc[1]) or series.iloc[1] <= 0:
        return None
    entry = float(series.iloc[1])
    if opens is not None:
        opening = float(opens.reindex(series.index).iloc[1])
        entry = opening if np.isfinite(opening) and opening > 0 else entry
    values = (initial * series / entry).ffill()
    values.iloc[0] = initial
    return values


def equal_weight(prices: pd.DataFrame, dates: list[date], initial: float,
                 opens: pd.DataFrame | None = None) -> pd.Series | None:
    """Daily-rebalanced equal weight of the priced instruments, invested from the second date's open (else close)."""
    frame = on_dates(prices, dates).astype(float)
    if len(frame) < 2:
        return None
    first = 0.0
    if opens is not None:  # the second day, open to close; an instrument without an open enters at its close
        close = frame.iloc[1]
        entry = opens.reindex(index=frame.index, columns=frame.columns).iloc[1].where(lambda s: s > 0).fillna(close)
        mean_first = (close / entry - 1).mean(skipna=True)
        first = float(mean_first) if np.isfinite(mean_first) else 0.0
    daily = (frame / frame.shift(1) - 1).iloc[2:]
    mean = daily.mean(axis=1, skipna=True).fillna(0.0)
    start = initial * (1 + first)
    values = np.concatenate([[initial, start], start * np.cumprod(1 + mean.to_numpy())])
    return pd.Series(values, index=frame.index)


def benchmark_series(histories: dict[str, PriceHistory], universe_history: PriceHistory, dates: list[date],
                     initial: float) -> dict[str, pd.Series]:
    """Every benchmark that can be computed, by display name."""
    out: dict[str, pd.Series] = {}
    for symbol, history in histories.items():
        prices, opens = base_prices(history), base_opens(history)
        entry = opens[symbol] if opens is not None and symbol in opens.columns else None
        if symbol in prices.columns and (series := buy_and_hold(prices[symbol], dates, initial, entry)) is not None:
            out[NAMES.get(symbol, f"{symbol} buy-and-hold")] = series
    universe = equal_weight(base_prices(universe_history), dates, initial, base_opens(universe_history))
    if universe is not None:
        out[EQUAL_WEIGHT] = universe
    return out
