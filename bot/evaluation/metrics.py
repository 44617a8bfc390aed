"""Performance metrics: pure functions on pandas Series of daily figures.

Conventions (the same as empyrical's, which the tests compare against on the same series):

- input is an equity curve (one value per trading day) or its simple daily returns
  ``equity.pct_change()`` with the first (undefined) day dropped; 252 periods per year; the
  risk-free rate is 0. Points recorded at any rhythm (several a day, gaps) become such a curve
  through ``daily_equity``: the last point of each business day, carried forward over business
  days without one (a flat day), so a live report and a backtest of the same days agree.
- ``summarize`` is the one function that turns a daily curve (and its traded notional) into the
  figures: ``paperdesk report``, every backtest fold and every benchmark go through it.
- ``cagr``: (Π(1 + r))^(252 / n) − 1 over n returns. ``annual_volatility``: sample std (ddof 1)
  × √252. ``sharpe``: mean / sample std × √252. ``sortino``: mean × 252 / (√mean(min(r, 0)²) ×
  √252). ``calmar``: CAGR / max drawdown.
- ``max_drawdown``: the largest fall from a running peak of the wealth curve 1, 1+r₁, …, as a
  positive fraction (``risk.max_drawdown``). ``drawdown_days``: the longest run of days spent
  below a previous peak (to the recovery, or to the end when it never recovered).
- ``hit_rate``: share of days with a positive return (days at exactly 0 count as misses).
- ``profit_factor``: sum of daily gains / |sum of daily losses| of the daily P&L (NaN without losses).
- ``turnover``: traded notional (buys + sells) / average equity, annualised (× 252 / days).
- ``cvar_95``: historical 1-day CVaR(95%), the mean of the worst 5% of daily returns, as a
  positive loss (``risk.historical_cvar``).

Failure contract: never raises on short or flat series; an undefined figure is NaN (a series
with fewer than two returns, a zero volatility, no drawdown, no losses). ``as_json`` turns NaN into None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from risk import historical_cvar
from risk import max_drawdown as _max_drawdown
from risk.measures import drawdowns

PERIODS_PER_YEAR = 252
NAN = float("nan")


def business_days_of(index: pd.Index) -> pd.DatetimeIndex:
    """The business day each time stamp counts for: its own, or the Friday before a weekend."""
    days = pd.DatetimeIndex(index).normalize()
    # A weekend point values the portfolio at Friday's closes.
    return days - pd.to_timedelta(np.maximum(days.day_of_week - 4, 0), unit="D")


def daily_equity(points: pd.Series) -> pd.Series:
    """One value per business day: each day's last point, carried forward over days without one."""
    if points.empty:
        return pd.Series([], index=pd.DatetimeIndex([]), dtype=float)
    days = business_days_of(points.index)
    last = pd.Series(points.to_numpy(dtype=float), index=days).groupby(level=0, sort=True).last()
    return last.reindex(pd.bdate_range(last.index[0], last.index[-1])).ffill()


def returns_of(equity: pd.Series) -> pd.Series:
    """Simple daily returns of an equity curve, without the undefined first day."""
    return equity.astype(float).pct_change(fill_method=None).iloc[1:].fillna(0.0)


def cagr(returns: pd.Series) -> float:
    """Compound annual growth rate."""
    if len(returns) < 1:
        return NAN
    final = float(np.prod(1.0 + returns.to_numpy(dtype=float)))
    return float(final ** (PERIODS_PER_YEAR / len(returns)) - 1.0)


def annual_volatility(returns: pd.Series) -> float:
    """Annualised sample standard deviation."""
    if len(returns) < 2:
        return NAN
    return float(returns.std(ddof=1)) * math.sqrt(PERIODS_PER_YEAR)


def sharpe(returns: pd.Series) -> float:
    """Annualised Sharpe ratio with a zero risk-free rate."""
    std = float(returns.std(ddof=1)) if len(returns) >= 2 else 0.0
    if std == 0 or not math.isfinite(std):
        return NAN
    return float(returns.mean()) / std * math.sqrt(PERIODS_PER_YEAR)


def sortino(returns: pd.Series) -> float:
    """Annualised Sortino ratio with a zero target."""
    if len(returns) < 2:
        return NAN
    downside = math.sqrt(float(np.mean(np.minimum(returns.to_numpy(dtype=float), 0.0) ** 2)))
    if downside == 0:
        return NAN
    return float(returns.mean()) * PERIODS_PER_YEAR / (downside * math.sqrt(PERIODS_PER_YEAR))


def wealth(returns: pd.Series) -> np.ndarray:
    """The wealth curve 1, 1+r₁, (1+r₁)(1+r₂), … of a return series."""
    return np.concatenate([[1.0], np.cumprod(1.0 + returns.to_numpy(dtype=float))])


def max_drawdown(returns: pd.Series) -> float:
    """Largest peak-to-trough fall of the wealth curve, as a positive fraction."""
    return _max_drawdown(wealth(returns)) if len(returns) else NAN


def drawdown_curve(equity: pd.Series) -> pd.Series:
    """Drawdown from the running peak on every day of an equity curve, as a positive fraction."""
    values = equity.dropna().astype(float)
    return pd.Series(drawdowns(values.to_numpy()), index=values.index, dtype=float)


def drawdown_days(returns: pd.Series) -> int:
    """Longest number of days spent below a previous peak."""
    under = drawdowns(wealth(returns)) > 1e-12
    longest = run = 0
    for flag in under:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


def calmar(returns: pd.Series) -> float:
    """CAGR divided by the maximum drawdown."""
    worst = max_drawdown(returns)
    if not worst or not math.isfinite(worst):
        return NAN
    return cagr(returns) / worst


def hit_rate(returns: pd.Series) -> float:
    """Share of days with a positive return."""
    return float((returns > 0).mean()) if len(returns) else NAN


def profit_factor(pnl: pd.Series) -> float:
    """Sum of daily gains over the absolute sum of daily losses."""
    losses = float(-pnl[pnl < 0].sum())
    return float(pnl[pnl > 0].sum()) / losses if losses > 0 else NAN


def turnover(traded: pd.Series, equity: pd.Series) -> float:
    """Annualised traded notional over average equity."""
    days = max(len(equity) - 1, 1)
    average = float(equity.astype(float).mean()) if len(equity) else 0.0
    if average <= 0:
        return NAN
    return float(traded.astype(float).sum()) / average * PERIODS_PER_YEAR / days


def cvar_95(returns: pd.Series) -> float:
    """Historical 1-day CVaR(95%) as a positive loss."""
    return historical_cvar(returns.to_numpy(dtype=float), 0.95) if len(returns) else NAN


def summarize(equity: pd.Series, traded: pd.Series | None = None) -> dict[str, float]:
    """Every metric of an equity curve (and its traded notional per day, when known)."""
    returns = returns_of(equity)
    values = equity.astype(float)
    out = {
        "total_return": float(values.iloc[-1] / values.iloc[0] - 1) if len(values) and values.iloc[0] else NAN,
        "cagr": cagr(returns), "annual_volatility": annual_volatility(returns), "sharpe": sharpe(returns),
        "sortino": sortino(returns), "calmar": calmar(returns), "max_drawdown": max_drawdown(returns),
        "max_drawdown_days": float(drawdown_days(returns)), "hit_rate": hit_rate(returns),
        "profit_factor": profit_factor(values.diff().iloc[1:]), "cvar_95": cvar_95(returns),
    }
    if traded is not None:
        out["turnover"] = turnover(traded, equity)
    return out


def as_json(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics with NaN and infinities as None, rounded for reading."""
    clean: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, float):
            clean[key] = round(value, 8) if math.isfinite(value) else None
        else:
            clean[key] = value
    return clean
