"""Quotes and FX rates of a replayed history by row, as ``bot.backtest.feed.ReplayFeed`` gives them.

Policy: the feed's own arrays (closes forward-filled, opens, forward-filled FX) and conversions
(``price_decimal``, ``fx_decimal``), read by row instead of through the feed's current day. The
same quotes are also held as exact integers (``fixed``): prices in millionths, FX rates in units
of 1e-8, 0 where the feed quotes nothing; ``Decimal(units).scaleb(-places)`` equals the feed's
Decimal. A row's Decimal closes and rates are converted once, when first asked for.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from agent.market.base import PriceHistory
from bot.backtest.feed import ReplayFeed, fx_decimal, price_decimal
from bot.backtest.kernel_exact import fixed_units
from broker.simulated import ONE

PRICE_PLACES, FX_PLACES = 6, 8
FX_ONE = 10**FX_PLACES


class Unsupported(Exception):
    """This replay needs ``bot.backtest.engine.replay``."""


def fixed(values: np.ndarray, places: int) -> np.ndarray:
    """``round(v, places) × 10**places`` as exact integers, 0 where ``v`` is missing or not positive.

    The product ``v × 10**places`` is rounded once, so it is within half an ulp of the real
    product; where it is farther than an ulp from a half, its nearest integer is the real
    product's rounding. The few others are rounded exactly, as ``round`` does (half even).
    """
    values = np.asarray(values, dtype=float)
    out = np.zeros(values.shape, dtype=np.int64)
    unsure = np.zeros(values.shape, dtype=bool)
    if not fixed_units(values, 10.0**places, out, unsure):
        raise Unsupported("a quote too large for exact integers")
    for index in zip(*np.nonzero(unsure), strict=True):
        exact = (Decimal(float(values[index])).scaleb(places)).to_integral_value(rounding=ROUND_HALF_EVEN)
        out[index] = int(exact)
    if ((out == 0) & np.isfinite(values) & (values > 0)).any():
        raise Unsupported("a positive quote that rounds to zero")
    return out


class Quotes:
    """Quotes and FX rates of a history by row, as ``ReplayFeed`` gives them, converted on demand."""

    def __init__(self, history: PriceHistory) -> None:
        self.feed = feed = ReplayFeed(history)
        self.close, self.open, self.fx, self.base = feed.close, feed.open, feed.fx, feed.base_currency
        self.currency = [feed.currency[s] for s in feed.symbols]
        index = history.close.index
        self.close_f = np.where(np.isfinite(self.close) & (self.close > 0), self.close, np.nan)
        self._fx_index = {c: i for i, c in enumerate(sorted(set(self.currency)))}
        self.fx_table = np.ones((len(index), len(self._fx_index)))
        self.fx_units = np.full((len(index), len(self._fx_index)), FX_ONE, dtype=np.int64)
        for c, k in self._fx_index.items():
            if c != self.base:
                series = self.fx.get(c)
                self.fx_table[:, k] = np.nan if series is None else np.where(series > 0, series, np.nan)
                self.fx_units[:, k] = 0 if series is None else fixed(series, FX_PLACES)
        self.symbol_fx = np.array([self._fx_index[c] for c in self.currency], dtype=np.int64)
        self.close_units = fixed(self.close, PRICE_PLACES)
        opens = None if self.open is None else fixed(self.open, PRICE_PLACES)
        self.open_units = self.close_units if opens is None else np.where(opens > 0, opens, self.close_units)
        self._row: tuple[int, list[Decimal | None]] = (-1, [])
        self._fx_row: tuple[int, dict[str, Decimal | None]] = (-1, {})
        self._rates: dict[tuple[int, str], Decimal | None] = {}

    def close_row(self, row: int) -> list[Decimal | None]:
        """Every symbol's close on the row, as the feed quotes it (converted once per row)."""
        if self._row[0] != row:
            self._row = (row, [price_decimal(v) for v in self.close[row].tolist()])
        return self._row[1]

    def fx_row(self, row: int) -> dict[str, Decimal | None]:
        """The FX rate of every currency of the history on the row."""
        if self._fx_row[0] != row:
            self._fx_row = (row, {c: self.fx_rate(row, c) for c in self._fx_index})
        return self._fx_row[1]

    def fx_f(self, row: int) -> np.ndarray:
        """Each symbol's FX rate on the row as a float (NaN when unknown)."""
        rates: np.ndarray = self.fx_table[row, self.symbol_fx]
        return rates

    def open_price(self, row: int, symbol: int) -> Decimal | None:
        """The day's open where there is one, else its close."""
        if self.open is not None and (price := price_decimal(float(self.open[row, symbol]))) is not None:
            return price
        return self.close_row(row)[symbol]

    def fx_rate(self, row: int, currency: str) -> Decimal | None:
        """Base units per unit of ``currency`` on the row (1 for the base currency)."""
        if currency == self.base:
            return ONE
        key = (row, currency)
        if key not in self._rates:
            series = self.fx.get(currency)
            self._rates[key] = fx_decimal(math.nan if series is None else float(series[row]))
        return self._rates[key]
