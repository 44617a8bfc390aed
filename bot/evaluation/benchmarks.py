"""Benchmarks in the base currency: SPY buy-and-hold, CAC 40 buy-and-hold, the equal-weight universe.

Policy: a benchmark is what the same money would have become doing nothing clever, over the
same dates as the strategy and with the same fill timing: it holds cash on the first day (the
strategy decides at that close and fills the next day) and is invested from the second day's
price on, so a buy-and-hold backtest without costs reproduces its benchmark exactly. Prices are
forward-filled closes × FX (base units per instrument currency), so a USD ETF measured in EUR
carries the currency move. The equal-weight universe is rebalanced daily: its return is the mean
of the day's returns of the instruments priced that day and the day before. No trading costs.

Failure contract: a benchmark whose instrument has no price on the investment day is left out
(``benchmark_series`` returns only those it could compute); never raises on NaN.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from agent.market.base import PriceHistory

SPY, CAC = "SPY", "CAC.PA"
NAMES = {SPY: "SPY buy-and-hold", CAC: "CAC 40 buy-and-hold"}
EQUAL_WEIGHT = "equal-weight universe"


def base_prices(history: PriceHistory) -> pd.DataFrame:
    """Forward-filled closes in the base currency."""
    return history.close.astype(float).ffill() * history.fx_by_symbol().ffill()


def buy_and_hold(prices: pd.Series, dates: list[date], initial: float) -> pd.Series | None:
    """``initial`` in cash on the first date, invested at the second date's price, then held."""
    series = prices.reindex(pd.DatetimeIndex(dates)).astype(float)
    if len(series) < 2 or not np.isfinite(series.iloc[1]) or series.iloc[1] <= 0:
        return None
    values = (initial * series / series.iloc[1]).ffill()
    values.iloc[0] = initial
    return values


def equal_weight(prices: pd.DataFrame, dates: list[date], initial: float) -> pd.Series | None:
    """Daily-rebalanced equal weight of the priced instruments, invested from the second date."""
    frame = prices.reindex(pd.DatetimeIndex(dates)).astype(float)
    if len(frame) < 2:
        return None
    daily = (frame / frame.shift(1) - 1).iloc[2:]
    mean = daily.mean(axis=1, skipna=True).fillna(0.0)
    values = np.concatenate([[initial, initial], initial * np.cumprod(1 + mean.to_numpy())])
    return pd.Series(values, index=frame.index)


def benchmark_series(histories: dict[str, PriceHistory], universe_history: PriceHistory, dates: list[date],
                     initial: float) -> dict[str, pd.Series]:
    """Every benchmark that can be computed, by display name."""
    out: dict[str, pd.Series] = {}
    for symbol, history in histories.items():
        prices = base_prices(history)
        if symbol in prices.columns and (series := buy_and_hold(prices[symbol], dates, initial)) is not None:
            out[NAMES.get(symbol, f"{symbol} buy-and-hold")] = series
    universe = equal_weight(base_prices(universe_history), dates, initial)
    if universe is not None:
        out[EQUAL_WEIGHT] = universe
    return out
