"""Market data: one protocol, several providers, one immutable result type.

A provider returns ``PriceHistory`` for the instruments asked, ending on or before ``end``.
Failures are ``MarketDataError`` with a message naming the symbol (and the line for files).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd

from broker.models import Instrument


class MarketDataError(Exception):
    """Data could not be loaded; the message says which symbol and why."""


@dataclass(frozen=True)
class PriceHistory:
    """Daily prices, instrument currency, dates ascending (a ``DatetimeIndex``, tz-naive dates).

    ``close`` has one column per symbol (NaN before a symbol's first date and on days its
    exchange was closed); ``volume`` is shares (NaN where unknown); ``fx`` maps a currency to
    a Series of base-currency units per one unit of that currency on the same index (the base
    currency itself is absent, meaning 1). ``currencies`` maps each symbol to its currency; a
    symbol absent from it is taken to be priced in the base currency. ``open`` is shaped like
    ``close`` and on its scale (adjusted by the same factor when closes are adjusted), NaN where a
    day's open is unknown; None when the provider has no opens at all (only the backtest uses it,
    to fill at the next open). ``low`` is the day's low, shaped and scaled like ``open`` (None when
    the provider has no lows; the backtest's stop-losses then trigger on the close).
    """

    close: pd.DataFrame
    volume: pd.DataFrame
    fx: dict[str, pd.Series]
    source: str
    synthetic: bool
    base_currency: str = "EUR"
    currencies: dict[str, str] = field(default_factory=dict)
    open: pd.DataFrame | None = None
    low: pd.DataFrame | None = None

    @property
    def as_of(self) -> date:
        """The last date of the history."""
        last: pd.Timestamp = self.close.index[-1]
        return last.date()

    def fx_by_symbol(self) -> pd.DataFrame:
        """Base units per unit of each symbol's currency, shaped like ``close``.

        1.0 for symbols in the base currency, NaN for a currency with no series in ``fx``.
        """
        index, symbols = self.close.index, list(self.close.columns)
        codes = [self.currencies.get(symbol, self.base_currency) for symbol in symbols]
        values = np.ones((len(index), len(symbols)))
        for currency in set(codes) - {self.base_currency}:
            mask = [code == currency for code in codes]
            rate = self.fx.get(currency)
            values[:, mask] = np.nan if rate is None else rate.reindex(index).to_numpy(dtype=float)[:, None]
        return pd.DataFrame(values, index=index, columns=self.close.columns)


class MarketData(Protocol):
    """A source of daily prices."""

    name: str
    synthetic: bool

    def history(self, instruments: Sequence[Instrument], end: date, lookback_days: int) -> PriceHistory:
        """At most ``lookback_days`` rows of history ending on or before ``end``."""
        ...
