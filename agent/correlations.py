"""Pairwise Pearson correlations of a returns window, each row computed when it is first read.

Why rows: a day of a 498-symbol replay reads a few rows of its correlation matrix (the rules
policy's candidates, the risk engine's buys against large holdings), and the regime reads only the
average. Building the whole matrix cost about 1 ms a day, most of a day's indicator time; a row
costs about 10 µs and the average about 30 µs. Up to ``WHOLE_UP_TO`` symbols (the seed universe's
30) one matrix product is cheaper than the dozen rows a day reads, so the first row read computes
them all. Either way ``full()`` and a row read alone are equal to the last bit, and the choice
depends on the number of symbols only: the live cycle (which builds frames) and a replay day
(which reads rows) see the same numbers.

Arithmetic: the window's columns are centred; row ``i`` is ``centred @ centred[i] / (days − 1)``
divided by both standard deviations and clipped to [−1, 1], with 1 on the diagonal. A constant
column (all its values equal, whatever rounding its centring leaves; or so nearly that its variance
underflows to 0), or one with a NaN, correlates NaN with everything; fewer than two days give NaN
everywhere.
``average()`` is the mean of the finite off-diagonal entries, from the standardised columns' sum
(``Σ_i≠j z_i·z_j = |Σ z|² − Σ |z_i|²``, each ``|z_i|²`` being days − 1) without building the
matrix; it equals the matrix's mean to float rounding (about 1e-15). Never raises on NaN.
"""

from __future__ import annotations

from typing import overload

import numpy as np

WHOLE_UP_TO = 64  # symbols: up to this many, the first row read computes the whole matrix


class CorrelationRows:
    """The correlations of the columns of a days × symbols window, row by row (read-only)."""

    _rows: dict[int, np.ndarray]
    _matrix: np.ndarray | None

    def __init__(self, window: np.ndarray) -> None:
        days, width = window.shape
        self.size, self._rows, self._matrix = width, {}, None
        self._scale = 1 / (days - 1) if days >= 2 else float("nan")
        centred = np.array(window.T, dtype=float, order="C")  # symbols × days, one contiguous row per symbol
        mean = np.add.reduce(centred, axis=1) / days if days else np.zeros(width)
        centred -= mean[:, None]
        self._centred = centred
        self._deviation = np.sqrt(np.einsum("ij,ij->i", centred, centred) * self._scale)
        self._constant_is_nan(np.abs(mean))

    def _constant_is_nan(self, size: np.ndarray) -> None:
        """A constant column's deviation is NaN, not the rounding noise its centring may leave (at most
        a few ulps of its mean, so only columns that small are compared value by value), nor 0."""
        deviation = self._deviation
        for i in np.flatnonzero(deviation <= size * 1e-9).tolist():  # NaN compares False, silently
            row = self._centred[i]
            if deviation[i] == 0 or row.max() == row.min():
                deviation[i] = np.nan

    @classmethod
    def of_matrix(cls, matrix: np.ndarray) -> CorrelationRows:
        """Rows of a matrix that is already whole (an ``IndicatorSet`` built from frames)."""
        made = cls(np.zeros((0, len(matrix))))
        made._matrix = np.asarray(matrix, dtype=float)
        return made

    @property
    def shape(self) -> tuple[int, int]:
        """(symbols, symbols), as a matrix's."""
        return self.size, self.size

    def row(self, i: int) -> np.ndarray:
        """Symbol ``i``'s correlation with every symbol (computed once, then kept; read-only)."""
        if self._matrix is not None:
            row: np.ndarray = self._matrix[i]
            return row
        kept = self._rows.get(i)
        if kept is None:
            if self.size <= WHOLE_UP_TO:
                whole = self._normalised(self._centred @ self._centred.T, self._deviation[:, None])
                np.fill_diagonal(whole, 1.0)
                whole.setflags(write=False)
                self._matrix = whole
                row = whole[i]
                return row
            kept = self._normalised(self._centred @ self._centred[i], self._deviation[i])
            kept[i] = 1.0
            kept.setflags(write=False)
            self._rows[i] = kept
        return kept

    def _normalised(self, products: np.ndarray, deviation: np.ndarray | float) -> np.ndarray:
        """Sums of products of centred columns as correlations (scaled, divided, clipped in place)."""
        products = np.asarray(products, dtype=float)
        products *= self._scale
        with np.errstate(invalid="ignore", divide="ignore"):
            products /= deviation
            products /= self._deviation
        np.minimum(products, 1.0, out=products)  # np.clip's result, without its wrapper's cost
        np.maximum(products, -1.0, out=products)
        return products

    @overload
    def __getitem__(self, key: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, key: tuple[int, int]) -> float: ...

    def __getitem__(self, key: int | tuple[int, int]) -> np.ndarray | float:
        """``[i]``: row ``i``; ``[i, j]``: one correlation (as a matrix is indexed)."""
        if isinstance(key, tuple):
            i, j = key
            return float(self.row(i)[j])
        return self.row(key)

    def full(self) -> np.ndarray:
        """The whole symbols × symbols matrix, every row as ``row`` gives it."""
        if not self.size:
            return np.zeros((0, 0))
        if self._matrix is None and self.size <= WHOLE_UP_TO:
            self.row(0)
        if self._matrix is not None:
            return self._matrix
        return np.array([self.row(i) for i in range(self.size)])

    def average(self) -> float:
        """Mean of the finite off-diagonal correlations; NaN when there are none (and for rows built
        from a whole matrix, which keep no window: nothing reads a regime from those)."""
        deviation = self._deviation
        usable = np.isfinite(deviation)
        count = int(usable.sum())
        if count < 2:
            return float("nan")
        if count == self.size:
            total = (1 / deviation) @ self._centred  # the standardised columns' sum, one product
        else:
            total = (1 / deviation[usable]) @ self._centred[usable]
        # Each standardised column's own square is (days − 1): the pairs are the rest.
        return (float(total @ total) * self._scale - count) / (count * (count - 1))

