"""Portfolio risk measures: historical CVaR, portfolio returns, drawdown.

Policy: returns are simple daily returns as fractions (0.01 is +1 %); losses are reported as
positive fractions. Missing data never raises: an empty series measures 0.0, NaN returns are
ignored (in a single series) or count as a 0 return (in a portfolio, like cash). Everything is
vectorised numpy and deterministic. A bad ``alpha`` (outside 0..1) raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]


def _as_array(values: npt.ArrayLike) -> FloatArray:
    """A flat float array without NaNs."""
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[~np.isnan(array)]


def tail_size(n: int, alpha: float) -> int:
    """How many of ``n`` observations form the worst ``1 - alpha`` tail (at least one)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    # The epsilon keeps 100 * (1 - 0.95) = 5.000000000000004 from becoming 6.
    return max(1, math.ceil(n * (1 - alpha) - 1e-9))


def historical_cvar(returns: npt.ArrayLike, alpha: float = 0.95) -> float:
    """Historical CVaR: the mean of the worst ``1 - alpha`` share of returns, as a positive loss."""
    array = _as_array(returns)
    k = tail_size(array.size, alpha)
    if array.size == 0:
        return 0.0
    worst = np.partition(array, k - 1)[:k]
    return float(-worst.mean())


def portfolio_returns(returns: pd.DataFrame, weights: Mapping[str, float]) -> FloatArray:
    """Daily portfolio returns; symbols missing from ``returns`` and NaNs count as a 0 return."""
    symbols = list(weights)
    if not symbols:
        return np.zeros(len(returns), dtype=np.float64)
    # Column positions and a numpy gather: the same result as ``reindex(columns=symbols)`` with NaN as 0,
    # without building a DataFrame on every call (the risk engine calls this per proposal).
    positions = returns.columns.get_indexer(pd.Index(symbols))
    present = positions >= 0
    matrix = np.zeros((len(returns), len(symbols)), dtype=np.float64)
    matrix[:, present] = returns.to_numpy(dtype=np.float64)[:, positions[present]]
    matrix[np.isnan(matrix)] = 0.0
    vector = np.fromiter((weights[s] for s in symbols), dtype=np.float64, count=len(symbols))
    result: FloatArray = matrix @ vector
    return result


def portfolio_cvar(returns: pd.DataFrame, weights: Mapping[str, float], alpha: float = 0.95) -> float:
    """Historical CVaR of the portfolio with these weights (fractions of equity)."""
    return historical_cvar(portfolio_returns(returns, weights), alpha)


def _drawdowns(series: npt.ArrayLike) -> FloatArray:
    """Drawdown from the running peak at every point (0 where the peak is not positive)."""
    values = _as_array(series)
    if values.size == 0:
        return values
    peaks = np.maximum.accumulate(values)
    safe_peaks = np.where(peaks > 0, peaks, 1.0)
    result: FloatArray = np.where(peaks > 0, 1.0 - values / safe_peaks, 0.0)
    return result


def drawdown(equity_series: npt.ArrayLike) -> float:
    """Current drawdown of the last value from the running peak (0.0 for an empty series)."""
    values = _drawdowns(equity_series)
    return float(values[-1]) if values.size else 0.0


def max_drawdown(series: npt.ArrayLike) -> float:
    """Largest drawdown from a running peak over the series (0.0 for an empty series)."""
    values = _drawdowns(series)
    return float(values.max()) if values.size else 0.0
