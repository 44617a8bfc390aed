"""Quotes and FX rates of a replayed history by row, as ``bot.backtest.feed.ReplayFeed`` gives them.

Policy: the feed's own arrays (closes forward-filled, opens, forward-filled FX) and conversions
(``price_decimal``, ``fx_decimal``), read by row instead of through the feed's current day; a
row's closes and rates are converted once.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from agent.market.base import PriceHistory
from bot.backtest.feed import ReplayFeed, fx_decimal, price_decimal
from broker.simulated import ONE


class Quotes:
    """Quotes and FX rates of a history by row, as ``ReplayFeed`` gives them, converted on demand."""

    def __init__(self, history: PriceHistory) -> None:
        self.feed = feed = ReplayFeed(history)
        self.close, self.open, self.fx, self.base = feed.close, feed.open, feed.fx, feed.base_currency
        self.currency = [feed.currency[s] for s in feed.symbols]
        index = history.close.index
        self.close_f = np.where(np.isfinite(self.close) & (self.close > 0), self.close, np.nan)
        self._fx_index = {c: i for i, c in enumerate(sorted(set(self.currency)))}
        self._fx_f = np.ones((len(index), len(self._fx_index)))
        for c, k in self._fx_index.items():
            if c != self.base:
                series = self.fx.get(c)
                self._fx_f[:, k] = np.nan if series is None else np.where(series > 0, series, np.nan)
        self._symbol_fx = np.array([self._fx_index[c] for c in self.currency], dtype=np.int64)
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
        rates: np.ndarray = self._fx_f[row, self._symbol_fx]
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
