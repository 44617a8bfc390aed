"""Portfolio risk measures: historical CVaR, portfolio returns, drawdown.

Policy: returns are simple daily returns as fractions (0.01 is +1 %); losses are reported as
positive fractions. Missing data never raises: an empty series measures 0.0, NaN returns are
ignored (in a single series) or count as a 0 return (in a portfolio, like cash). Everything is
vectorised numpy and deterministic. A bad ``alpha`` (outside 0..1) raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

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
    # sum / k is what ndarray.mean computes, without its per-call overhead; + 0.0 turns the -0.0 of
    # an all-zero tail (an empty portfolio) into 0.0, which would otherwise print as "-0.00%".
    return float(-(worst.sum() / k)) + 0.0


@dataclass(frozen=True)
class ReturnsMatrix:
    """A returns frame as a float array; NaN counts as 0 and an unknown symbol's returns are zeros.

    ``values`` is kept as given (a replay day's window is a view of its panel): NaN becomes 0 in
    the columns a measure gathers, not in a copy of the whole window."""

    values: FloatArray
    columns: Mapping[str, int]

    @classmethod
    def of(cls, returns: pd.DataFrame | ReturnsMatrix) -> ReturnsMatrix:
        """The frame's values once, so each portfolio is a numpy gather (no pandas indexing)."""
        if isinstance(returns, ReturnsMatrix):
            return returns
        return cls.of_array(returns.to_numpy(dtype=np.float64), {str(s): i for i, s in enumerate(returns.columns)})

    @classmethod
    def of_array(cls, returns: npt.ArrayLike, columns: Mapping[str, int]) -> ReturnsMatrix:
        """Days × symbols returns whose column of each symbol is ``columns[symbol]`` (NaN counts as 0)."""
        return cls(values=np.asarray(returns, dtype=np.float64), columns=columns)

    @property
    def empty(self) -> bool:
        """True without rows or without columns (like ``DataFrame.empty``)."""
        rows, width = self.values.shape
        return bool(rows == 0 or width == 0)

    def column(self, symbol: str) -> FloatArray:
        """The symbol's daily returns (zeros when it has no history)."""
        i = self.columns.get(symbol)
        if i is None:
            return np.zeros(len(self.values), dtype=np.float64)
        return _zeroed(self.values[:, i])

    def cvar_by_column(self, alpha: float = 0.95) -> dict[str, float]:
        """``historical_cvar`` of every symbol's column, at once: the same numbers, bit for bit (each
        column's tail is selected and summed as a contiguous row, as ``historical_cvar`` does)."""
        rows = self.values.shape[0]
        k = tail_size(rows, alpha)
        if rows == 0 or not self.columns:
            return dict.fromkeys(self.columns, 0.0)
        by_row = _zeroed(self.values.T)
        worst = np.partition(by_row, k - 1, axis=1)[:, :k]
        losses = -(worst.sum(axis=1) / k) + 0.0
        return {symbol: float(losses[i]) for symbol, i in self.columns.items()}

    def portfolio(self, weights: Mapping[str, float]) -> FloatArray:
        """Daily returns of a portfolio with these weights; unknown symbols return 0."""
        known = [(i, w) for s, w in weights.items() if (i := self.columns.get(s)) is not None]
        if not known:
            return np.zeros(len(self.values), dtype=np.float64)
        positions = [i for i, _ in known]
        vector = np.fromiter((w for _, w in known), dtype=np.float64, count=len(known))
        gathered = self.values[:, positions]  # a copy (fancy indexing)
        gathered[np.isnan(gathered)] = 0.0
        result: FloatArray = gathered @ vector
        return result


def _zeroed(values: FloatArray) -> FloatArray:
    """A contiguous copy of ``values`` with NaN as 0."""
    copy = np.array(values, dtype=np.float64, order="C")
    copy[np.isnan(copy)] = 0.0
    return copy


class Pairwise(Protocol):
    """Anything indexed ``[i, j]`` as a square matrix is: an array, or rows computed when first read."""

    def __getitem__(self, key: tuple[int, int], /) -> Any: ...


@dataclass(frozen=True)
class CorrelationMatrix:
    """Pairwise correlations, looked up by symbol (no pandas indexing per pair)."""

    values: Pairwise
    index: Mapping[str, int]

    @classmethod
    def of(cls, matrix: pd.DataFrame | CorrelationMatrix) -> CorrelationMatrix:
        """A square frame (rows and columns the same symbols, in any order) as an array."""
        if isinstance(matrix, CorrelationMatrix):
            return matrix
        values = matrix.reindex(columns=matrix.index).to_numpy(dtype=np.float64)
        return cls(values=values, index={str(s): i for i, s in enumerate(matrix.index)})

    def get(self, a: str, b: str) -> float | None:
        """The finite correlation of ``a`` and ``b``, or None when either is unknown or it is NaN."""
        i, j = self.index.get(a), self.index.get(b)
        if i is None or j is None:
            return None
        value = float(self.values[i, j])
        return value if math.isfinite(value) else None


def portfolio_returns(returns: pd.DataFrame | ReturnsMatrix, weights: Mapping[str, float]) -> FloatArray:
    """Daily portfolio returns; symbols missing from ``returns`` and NaNs count as a 0 return."""
    return ReturnsMatrix.of(returns).portfolio(weights)


def portfolio_cvar(returns: pd.DataFrame | ReturnsMatrix, weights: Mapping[str, float], alpha: float = 0.95) -> float:
    """Historical CVaR of the portfolio with these weights (fractions of equity)."""
    return historical_cvar(portfolio_returns(returns, weights), alpha)


def drawdowns(series: npt.ArrayLike) -> FloatArray:
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
    values = drawdowns(equity_series)
    return float(values[-1]) if values.size else 0.0


def max_drawdown(series: npt.ArrayLike) -> float:
    """Largest drawdown from a running peak over the series (0.0 for an empty series)."""
    values = drawdowns(series)
    return float(values.max()) if values.size else 0.0
