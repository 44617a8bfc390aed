"""Vectorised indicators over a ``PriceHistory``: one row per symbol, plus cross-asset measures.

Method: prices are forward-filled across the union date index before anything is computed, so a
holiday of one exchange repeats the last close (a zero return) and every window counts rows of
that index. Rows before a symbol's first price stay NaN and never count, so a symbol with fewer
rows than a window gets NaN (e.g. ``sma200`` for a young listing) instead of an error.
All columns are computed at once on the whole frame (no per-symbol loops).

- ``sma20/50/200``: simple means of the last n closes. ``rsi14``: Wilder's RSI (the first average
  is the mean of 14 changes, then ``avg = (13·avg + x) / 14``). Bollinger 20/2 uses the population
  standard deviation; ``bb_pct`` is %b = (close − lower) / (upper − lower).
- ``vol20/vol60``: sample std of daily simple returns in the instrument currency × √252.
- ``drawdown_252``: close / max close of the last 252 rows − 1 (≤ 0). ``return_20d``: close / close
  20 rows ago − 1. ``price_date``: the date of the symbol's last real (not filled) close.
- ``adv_base``: mean over the last 20 rows of close × volume × FX (base currency); zero or missing
  volumes are unknown, and the value is NaN when no volume in the window is known.
- ``returns``: daily simple returns of price × FX (base currency), the last 252 rows, NaN → 0.
  ``correlations``: their correlation over the last 60 rows (NaN for a constant series).

Regime (``classify_regime``) from the median ``vol20`` across symbols, the average pairwise 60-day
correlation and the median ``drawdown_252``: DEFENSIVE when vol > 0.25 or (vol > 0.18 and
correlation > 0.5); else DIVERSIFIED when correlation < 0.2; else OPPORTUNISTIC when vol < 0.15
and drawdown > −0.05 (calm, near highs); else BALANCED (also when the inputs are unknown).
``regime_inputs`` and ``CorrelationRows`` (``agent.correlations``: a row of correlations is computed
when first read, the regime's average without the matrix) are the one implementation the live cycle
and the replay's panels (``agent.indicator_panels``) share.

An ``IndicatorSet`` holds its numbers as pandas frames, as numpy ``IndicatorArrays``, or both (each
form derived from the other when first read): the live cycle builds frames, a replay day arrays, and
per-day loops such as the rules policy read arrays, so a replay day need not build any frame.

Failure contract: ``ValueError`` for a history without rows or columns; never raises on NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import numpy as np
import pandas as pd

from agent.correlations import CorrelationRows
from agent.market.base import PriceHistory

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

TRADING_DAYS = 252
RETURNS_ROWS, CORRELATION_ROWS = 252, 60
VOL_DEFENSIVE, VOL_ELEVATED, VOL_CALM = 0.25, 0.18, 0.15
CORR_CROWDED, CORR_DIVERSIFIED = 0.5, 0.2
DRAWDOWN_NEAR_HIGH = -0.05


class Regime(StrEnum):
    """Market regime label from volatility and average correlation."""

    DEFENSIVE = "defensive"
    DIVERSIFIED = "diversified"
    OPPORTUNISTIC = "opportunistic"
    BALANCED = "balanced"


INDICATOR_COLUMNS = (
    "close", "price_date", "sma20", "sma50", "sma200", "rsi14", "bb_upper", "bb_mid", "bb_lower",
    "bb_pct", "vol20", "vol60", "drawdown_252", "return_20d", "adv_base",
)
NUMERIC_COLUMNS = tuple(c for c in INDICATOR_COLUMNS if c != "price_date")


class RowDates(Sequence["date | None"]):
    """Each symbol's last price date as ``days[row]`` of its last priced row (None for -1), read when
    looked up: a replay day's facts read a few of them, not every symbol's."""

    def __init__(self, days: Sequence[date], rows: np.ndarray) -> None:
        self._days, self._rows = days, rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> date | None: ...

    @overload
    def __getitem__(self, i: slice) -> list[date | None]: ...

    def __getitem__(self, i: int | slice) -> date | list[date | None] | None:
        if isinstance(i, slice):  # a Sequence answers slices too (as the list it stands for would)
            return [self[k] for k in range(*i.indices(len(self)))]
        row = int(self._rows[i])
        return self._days[row] if row >= 0 else None


class IndicatorArrays(NamedTuple):
    """The numbers of an ``IndicatorSet`` as numpy arrays, aligned on ``symbols`` (NaN when unknown)."""

    symbols: pd.Index
    rows: Mapping[str, int]  # symbol -> its row in ``values`` and ``correlations``
    values: np.ndarray  # symbols × NUMERIC_COLUMNS
    price_dates: Sequence[date | None]  # a list, or ``RowDates`` (a replay day's, read by row)
    correlations: CorrelationRows  # symbols × symbols, row by row
    returns: np.ndarray  # days × symbols, oldest first
    return_dates: pd.Index

    def column(self, name: str) -> np.ndarray:
        """One numeric column of the table, one value per symbol."""
        return self.values[:, NUMERIC_COLUMNS.index(name)]


class IndicatorSet:
    """Latest indicator values per symbol plus cross-sectional measures (read-only).

    The numbers exist in two equal forms, each derived from the other on first read and then kept:
    pandas frames (``table``, ``correlations``, ``returns``), which ``compute_indicators`` builds and
    prompts and reports read, and numpy ``arrays``, which a replay's panel row holds and per-day
    loops (the rules policy) read; a replay day that reads only arrays builds no pandas object.
    """

    _table: pd.DataFrame | None
    _correlations: pd.DataFrame | None
    _returns: pd.DataFrame | None
    _arrays: IndicatorArrays | None

    def __init__(self, as_of: date, table: pd.DataFrame, correlations: pd.DataFrame, returns: pd.DataFrame,
                 regime: Regime, regime_inputs: dict[str, float] | None = None) -> None:
        self.as_of, self.regime = as_of, regime
        self.regime_inputs = {} if regime_inputs is None else regime_inputs
        self._table, self._correlations, self._returns, self._arrays = table, correlations, returns, None

    def __repr__(self) -> str:
        return f"IndicatorSet(as_of={self.as_of}, regime={self.regime.value})"

    @classmethod
    def of_arrays(cls, as_of: date, arrays: IndicatorArrays, regime: Regime,
                  regime_inputs: dict[str, float]) -> IndicatorSet:
        """The set of ``arrays``; its frames are built when first read."""
        made = cls.__new__(cls)
        made.as_of, made.regime, made.regime_inputs = as_of, regime, regime_inputs
        made._table = made._correlations = made._returns = None
        made._arrays = arrays
        return made

    @property
    def table(self) -> pd.DataFrame:
        """One row per symbol with the columns of ``INDICATOR_COLUMNS``."""
        table = self._table
        if table is None:
            arrays = self.arrays
            table = pd.DataFrame(arrays.values, index=arrays.symbols, columns=list(NUMERIC_COLUMNS))
            table.insert(INDICATOR_COLUMNS.index("price_date"), "price_date",
                         np.array(list(arrays.price_dates), dtype=object))
            self._table = table
        return table

    @property
    def correlations(self) -> pd.DataFrame:
        """60-day correlations of the base-currency returns (symbols × symbols)."""
        frame = self._correlations
        if frame is None:
            arrays = self.arrays
            frame = self._correlations = pd.DataFrame(arrays.correlations.full(), index=arrays.symbols,
                                                      columns=arrays.symbols)
        return frame

    @property
    def returns(self) -> pd.DataFrame:
        """Daily base-currency returns, the last ``RETURNS_ROWS`` rows (days × symbols)."""
        frame = self._returns
        if frame is None:
            arrays = self.arrays
            frame = self._returns = pd.DataFrame(arrays.returns, index=arrays.return_dates, columns=arrays.symbols)
        return frame

    @property
    def arrays(self) -> IndicatorArrays:
        """The same numbers as numpy arrays aligned on the table's symbols."""
        arrays = self._arrays
        if arrays is None:  # built from frames (a set has frames, arrays or both)
            arrays = self._arrays = _arrays_of(self.table, self.correlations, self.returns)
        return arrays


def _arrays_of(table: pd.DataFrame, correlations: pd.DataFrame, returns: pd.DataFrame) -> IndicatorArrays:
    """Frames as arrays: numeric columns coerced to float (NaN for anything else), missing ones NaN."""
    symbols = table.index
    missing = np.full(len(symbols), np.nan)
    values = np.column_stack([
        pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float) if c in table else missing
        for c in NUMERIC_COLUMNS
    ])
    dates = list(table["price_date"]) if "price_date" in table else [None] * len(symbols)
    return IndicatorArrays(
        symbols=symbols, rows={s: i for i, s in enumerate(symbols)}, values=values, price_dates=dates,
        correlations=CorrelationRows.of_matrix(correlations.reindex(index=symbols, columns=symbols)
                                               .to_numpy(dtype=float)),
        returns=returns.reindex(columns=symbols).to_numpy(dtype=float), return_dates=returns.index,
    )


def prepared(history: PriceHistory) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Observed closes (NaN on holidays), forward-filled closes and forward-filled FX; ValueError when empty."""
    observed = history.close.astype(float)
    if observed.empty:
        raise ValueError("cannot compute indicators: the price history has no rows or no symbols")
    return observed, observed.ffill(), history.fx_by_symbol().ffill()


def compute_indicators(history: PriceHistory) -> IndicatorSet:
    """Indicators for every symbol of ``history`` as of its last date."""
    observed, close, fx = prepared(history)
    table = _price_indicators(close)
    table["price_date"] = _last_observed_dates(observed)
    table["adv_base"] = _adv_base(observed, history.volume.reindex_like(observed), fx)
    returns = (close * fx).pct_change(fill_method=None).iloc[-RETURNS_ROWS:].fillna(0.0)
    window = returns.iloc[-CORRELATION_ROWS:]
    rows = CorrelationRows(window.to_numpy(dtype=float))
    correlations = pd.DataFrame(rows.full(), index=window.columns, columns=window.columns)
    inputs = regime_inputs(table["vol20"], rows, table["drawdown_252"])
    return IndicatorSet(
        as_of=history.as_of,
        table=table.loc[:, list(INDICATOR_COLUMNS)],
        correlations=correlations,
        returns=returns,
        regime=classify_regime(inputs["median_vol20"], inputs["avg_corr60"], inputs["median_drawdown_252"]),
        regime_inputs=inputs,
    )


def classify_regime(median_vol: float, avg_corr: float, median_drawdown: float) -> Regime:
    """The regime label for the thresholds in the module docstring (NaN inputs never match)."""
    if median_vol > VOL_DEFENSIVE or (median_vol > VOL_ELEVATED and avg_corr > CORR_CROWDED):
        return Regime.DEFENSIVE
    if avg_corr < CORR_DIVERSIFIED:
        return Regime.DIVERSIFIED
    if median_vol < VOL_CALM and median_drawdown > DRAWDOWN_NEAR_HIGH:
        return Regime.OPPORTUNISTIC
    return Regime.BALANCED


def regime_inputs(vol20: ArrayLike, correlations: CorrelationRows, drawdown_252: ArrayLike) -> dict[str, float]:
    """The inputs of ``classify_regime``: median ``vol20``, average pairwise correlation, median drawdown."""
    return {
        "median_vol20": _nan_stat(_median, vol20),
        "avg_corr60": correlations.average(),
        "median_drawdown_252": _nan_stat(_median, drawdown_252),
    }


def risk_volatility(vol60: float, vol20: float) -> float | None:
    """The annualised volatility the risk engine judges a symbol by: vol60, else vol20 (a missing or
    zero vol60 falls back); None when neither is known."""
    if math.isfinite(vol60) and vol60 != 0:
        return float(vol60)
    return float(vol20) if math.isfinite(vol20) else None


def _price_indicators(close: pd.DataFrame) -> pd.DataFrame:
    """Trend, oscillator, band, volatility and drawdown columns from forward-filled closes."""
    last = close.iloc[-1]
    daily = close.pct_change(fill_method=None)
    mid, band = _window_mean(close, 20), 2 * _window(close, 20).std(ddof=0)
    upper, lower = mid + band, mid - band
    width = (upper - lower).where(lambda w: w > 0)
    return pd.DataFrame({
        "close": last,
        "sma20": mid,
        "sma50": _window_mean(close, 50),
        "sma200": _window_mean(close, 200),
        "rsi14": rsi_panel(close, 14).iloc[-1],
        "bb_upper": upper,
        "bb_mid": mid,
        "bb_lower": lower,
        "bb_pct": (last - lower) / width,
        "vol20": _window(daily, 20).std() * math.sqrt(TRADING_DAYS),
        "vol60": _window(daily, 60).std() * math.sqrt(TRADING_DAYS),
        "drawdown_252": last / close.iloc[-TRADING_DAYS:].max() - 1,
        "return_20d": last / close.shift(20).iloc[-1] - 1,
    })


def _window(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The last ``n`` rows, with columns that lack ``n`` values set to NaN."""
    tail = frame.iloc[-n:]
    complete = tail.notna().sum().to_numpy() >= n
    return tail.where(np.broadcast_to(complete, tail.shape))


def _window_mean(frame: pd.DataFrame, n: int) -> pd.Series:
    """Mean of the last ``n`` rows (NaN for columns without ``n`` values)."""
    return _window(frame, n).mean()


def rsi_panel(close: pd.DataFrame, period: int) -> pd.DataFrame:
    """Wilder's RSI on every row; 100 when there were no losses, 50 when flat (the backtest's panels share it)."""
    delta = close.diff()
    gain = _wilder(delta.clip(lower=0), period)
    loss = _wilder((-delta).clip(lower=0), period)
    rsi = 100 - 100 / (1 + gain / loss)
    return rsi.mask((gain == 0) & (loss == 0), 50.0)


def _wilder(values: pd.DataFrame, period: int) -> pd.DataFrame:
    """Wilder smoothing seeded with the simple mean of the first ``period`` values, on every row."""
    seed = values.rolling(period, min_periods=period).mean()
    started = seed.notna().cummax()
    first = started & ~started.shift(1, fill_value=False)
    series = values.where(started).mask(first, seed)
    return series.ewm(alpha=1 / period, adjust=False).mean().where(started)


def _last_observed_dates(observed: pd.DataFrame) -> pd.Series:
    """Date of each column's last non-NaN value (None when it has none)."""
    present = observed.notna().to_numpy()
    positions = np.where(present, np.arange(len(observed))[:, None], -1).max(axis=0)
    dates = [observed.index[p].date() if p >= 0 else None for p in positions]
    return pd.Series(dates, index=observed.columns, dtype=object)


def _adv_base(observed: pd.DataFrame, volume: pd.DataFrame, fx: pd.DataFrame) -> pd.Series:
    """Mean traded value in base currency over the last 20 rows; zero volume counts as unknown."""
    traded = observed * volume.where(volume > 0) * fx
    return traded.iloc[-20:].mean()


def _median(values: np.ndarray) -> float:
    """``np.median`` of a non-empty array without NaN, to the last bit (numpy adds the middle values to 0.0).

    Sorted by numpy (a sort moves values, it computes none), then the middle ones combined as numpy does."""
    ordered = np.sort(values)
    middle = len(ordered) // 2
    high = float(ordered[middle])
    if len(ordered) % 2:
        return high + 0.0
    return (float(ordered[middle - 1]) + (0.0 + high)) / 2


def _nan_stat(function: Callable[[np.ndarray], Any], values: ArrayLike) -> float:
    """``function`` over the finite ``values`` (NaN skipped); NaN (without a warning) when none is finite."""
    array = np.asarray(values, dtype=float)
    if not np.isfinite(array).any():
        return float("nan")
    return float(function(array[np.isfinite(array)]))
