"""The market as the desk sees it: one loaded history, its indicators, latest quotes and FX.

``MarketService`` loads a ``PriceHistory`` once per as-of date and caches it; it is also the
simulated broker's ``MarketFeed`` (quotes and FX rates come from the same snapshot the policy and
the risk engine saw, so a fill can never use a price nobody looked at).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pandas as pd

from agent.indicators import IndicatorSet, compute_indicators, risk_volatility
from agent.market.base import MarketData, PriceHistory
from agent.universe import Universe
from bot.clock import CLOSE_TIME
from broker.models import Quote
from risk.models import MarketFacts


@dataclass(frozen=True)
class MarketSnapshot:
    """History, indicators and the latest prices on one as-of date."""

    history: PriceHistory
    indicators: IndicatorSet
    quotes: dict[str, Quote]
    fx: dict[str, Decimal]

    @property
    def as_of(self) -> date:
        """The last date of the data."""
        return self.history.as_of

    @property
    def label(self) -> str:
        """The data source, flagged when synthetic."""
        source = self.history.source
        return f"SYNTHETIC ({source})" if self.history.synthetic else source

    def facts(self) -> dict[str, MarketFacts]:
        """Per-symbol facts for the risk engine."""
        arrays = self.indicators.arrays  # the day's numbers as arrays: no frame is built (a replay asks every day)
        rows, price_date = arrays.rows, arrays.price_dates
        vol60, vol20, adv = (arrays.column(c) for c in ("vol60", "vol20", "adv_base"))
        out: dict[str, MarketFacts] = {}
        for symbol, quote in self.quotes.items():
            fx = self.fx.get(quote.currency)
            if fx is None:
                continue
            i = rows[symbol]
            out[symbol] = MarketFacts(
                symbol=symbol, price=quote.price, fx_rate=fx, price_date=_as_date(price_date[i]),
                volatility=risk_volatility(float(vol60[i]), float(vol20[i])), adv_base=decimal_6(adv[i]),
            )
        return out


class MarketService:
    """Loads and caches market snapshots; serves quotes and FX to the simulated broker."""

    def __init__(self, provider: MarketData, universe: Universe, lookback_days: int) -> None:
        self.provider = provider
        self.universe = universe
        self.lookback_days = lookback_days
        self._snapshot: MarketSnapshot | None = None
        self._end: date | None = None

    def load(self, end: date) -> MarketSnapshot:
        """The snapshot for ``end`` (loaded once, then cached; an earlier ``end`` that still
        covers the data's last date is the same history)."""
        cached = self._snapshot
        if cached is not None and self._end is not None and cached.as_of <= end <= self._end:
            return cached
        history = self.provider.history(self.universe.instruments, end, self.lookback_days)
        snapshot = build_snapshot(history, {i.symbol: i.currency for i in self.universe.instruments})
        self._snapshot, self._end = snapshot, end
        return snapshot

    def refresh(self, end: date) -> MarketSnapshot:
        """Load ``end`` again from the provider (the intraday monitor: the last bar may have moved)."""
        self._snapshot, self._end = None, None
        return self.load(end)

    @property
    def snapshot(self) -> MarketSnapshot | None:
        """The last loaded snapshot."""
        return self._snapshot

    def quote(self, symbol: str) -> Quote | None:
        """Latest price from the loaded snapshot."""
        return None if self._snapshot is None else self._snapshot.quotes.get(symbol)

    def fx_rate(self, currency: str) -> Decimal | None:
        """Base units per unit of ``currency`` from the loaded snapshot."""
        if currency == self.universe.base_currency:
            return Decimal(1)
        return None if self._snapshot is None else self._snapshot.fx.get(currency)


def build_snapshot(history: PriceHistory, currencies: dict[str, str]) -> MarketSnapshot:
    """Indicators, latest quotes and FX rates of a history (``currencies``: symbol -> currency)."""
    indicators = compute_indicators(history)
    at = datetime.combine(history.as_of, CLOSE_TIME)
    quotes: dict[str, Quote] = {}
    for symbol, close in indicators.table["close"].items():
        price = decimal_6(close)
        if price is not None and price > 0 and str(symbol) in currencies:
            quotes[str(symbol)] = Quote(symbol=str(symbol), price=price, currency=currencies[str(symbol)], at=at)
    fx = {history.base_currency: Decimal(1)}
    for currency, series in history.fx.items():
        last = series.dropna()
        if len(last):
            fx[currency] = Decimal(str(round(float(last.iloc[-1]), 8)))
    return MarketSnapshot(history=history, indicators=indicators, quotes=quotes, fx=fx)


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def decimal_6(value: object) -> Decimal | None:
    """A finite number as a Decimal rounded to 6 decimals (how snapshots hold ADV); None otherwise."""
    number = _finite(value)
    if number is None:
        return None
    return Decimal(str(round(number, 6)))


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()  # type: ignore[arg-type]
