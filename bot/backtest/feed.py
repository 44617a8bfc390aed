"""The replayed market as the simulated broker sees it, and an in-memory ledger that forgets old orders.

``ReplayFeed`` implements the broker's ``MarketFeed`` over one ``PriceHistory``: ``move_to(t)``
sets the current row, and quotes and FX rates are that row's forward-filled close and rate
(rounded like a live snapshot: 6 decimals for prices, 8 for FX). ``at_open()`` switches quotes to
the row's open where the history has one (else the close stays the quote), which is when the
replay submits yesterday's orders; ``at_close()`` switches back for valuation and decisions.
``bar(symbol)`` is the row's open, low and close of a symbol that traded that day (the stop-loss
check); ``at_price`` quotes one symbol at a given price until the next switch (a stop's fill).
``stamp(day)`` makes ``now`` the close of an earlier day, the one the orders being filled were
decided on: the live desk fills a cycle's orders at once, so their fills and the positions they
open carry the decision's date, while the replay prices them at the next open.
Nothing after row ``t`` is reachable through it.

``ArchivingLedgerStore`` is an ``InMemoryLedgerStore`` whose ``archive`` moves the day's orders
out of the ledger (a backtest's client order ids never repeat, so the broker's idempotency map
only needs the current day; without this every submit would copy every order ever placed).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from agent.market.base import PriceHistory
from bot.clock import CLOSE_TIME
from broker.ledger import InMemoryLedgerStore
from broker.models import Order, Quote


def price_decimal(value: float) -> Decimal | None:
    """A float price as the desk's Decimal, ``Decimal(str(round(value, 6)))``; None when missing or not positive.

    Between 1e-4 and 1e9 the shortest repr of ``round(value, 6)`` is the 6-decimal rounding of
    ``value`` without trailing zeros (a float's rounding interval there is far narrower than 1e-6),
    so the rounding is formatted directly, about twice as fast (replays convert every close).
    """
    if not value > 0 or not math.isfinite(value):
        return None
    if 1e-4 <= value < 1e9:
        text = f"{value:.6f}".rstrip("0")
        return Decimal(text + "0" if text.endswith(".") else text)
    return Decimal(str(round(value, 6)))


def fx_decimal(value: float) -> Decimal | None:
    """A float FX rate as the desk's Decimal (8 decimals), None when missing or not positive."""
    return Decimal(str(round(value, 8))) if math.isfinite(value) and value > 0 else None


class Bar(NamedTuple):
    """One symbol's day: open and low fall back to what is known (low: the lower of open and close)."""

    open: float
    low: float
    close: float


class ReplayFeed:
    """Quotes and FX rates of one row of a history; the broker's ``MarketFeed``."""

    def __init__(self, history: PriceHistory) -> None:
        self.dates: list[date] = [d.date() for d in history.close.index]
        self.symbols = [str(s) for s in history.close.columns]
        self._column = {s: i for i, s in enumerate(self.symbols)}
        self.close = history.close.astype(float).ffill().to_numpy()
        self.open = None if history.open is None else history.open.astype(float).to_numpy()
        self.low = None if history.low is None else history.low.astype(float).to_numpy()
        self.traded = history.close.notna().to_numpy()
        self._opening = False
        self.currency = {s: history.currencies.get(s, history.base_currency) for s in self.symbols}
        self.base_currency = history.base_currency
        self.fx = {c: s.reindex(history.close.index).ffill().to_numpy(dtype=float) for c, s in history.fx.items()}
        self.row = 0
        self._stamp: date | None = None
        self._quotes: dict[str, Quote | None] = {}

    def move_to(self, row: int) -> None:
        """Make row ``row`` the current day, quoted at its close."""
        self.row = row
        self.at_close()

    def at_open(self) -> None:
        """Quote the current day's opens (the close where a symbol has no open that day)."""
        self._opening, self._quotes = self.open is not None, {}

    def at_close(self) -> None:
        """Quote the current day's closes."""
        self._opening, self._quotes = False, {}

    @property
    def today(self) -> date:
        """The current day."""
        return self.dates[self.row]

    def now(self) -> datetime:
        """The current day's close (or the stamped day's), the time every fill and valuation is stamped with."""
        return datetime.combine(self._stamp or self.today, CLOSE_TIME)

    def stamp(self, day: date | None) -> None:
        """Stamp what happens from now on with ``day``'s close (None: the current day's again)."""
        self._stamp = day

    def close_row(self) -> np.ndarray:
        """Forward-filled closes of every symbol on the current row."""
        return np.asarray(self.close[self.row])

    def quote(self, symbol: str) -> Quote | None:
        """The current price of ``symbol`` in its currency: the open (``at_open``) or the close."""
        if symbol in self._quotes:
            return self._quotes[symbol]
        column = self._column.get(symbol)
        price = None if column is None else self._price(column)
        quote = None if price is None else Quote(symbol=symbol, price=price, currency=self.currency[symbol],
                                                 at=self.now())
        self._quotes[symbol] = quote
        return quote

    def at_price(self, symbol: str, price: Decimal) -> None:
        """Quote ``symbol`` at ``price`` until the next ``at_open``/``at_close`` (a stop-loss fill)."""
        self._quotes[symbol] = Quote(symbol=symbol, price=price, currency=self.currency[symbol], at=self.now())

    def bar(self, symbol: str) -> Bar | None:
        """The current day's open, low and close of ``symbol``; None when it did not trade that day."""
        column = self._column.get(symbol)
        if column is None or not self.traded[self.row, column]:
            return None
        close = float(self.close[self.row, column])
        opening = _known(self.open, self.row, column, close)
        low = _known(self.low, self.row, column, min(opening, close))
        return Bar(open=opening, low=low, close=close)

    def _price(self, column: int) -> Decimal | None:
        if self._opening and self.open is not None:
            opening = price_decimal(float(self.open[self.row, column]))
            if opening is not None:
                return opening
        return price_decimal(float(self.close[self.row, column]))

    def fx_rate(self, currency: str) -> Decimal | None:
        """Base units per unit of ``currency`` on the current row."""
        if currency == self.base_currency:
            return Decimal(1)
        series = self.fx.get(currency)
        if series is None:
            return None
        return fx_decimal(float(series[self.row]))


def _known(panel: np.ndarray | None, row: int, column: int, otherwise: float) -> float:
    """The panel's finite positive value at (row, column), else ``otherwise``."""
    value = math.nan if panel is None else float(panel[row, column])
    return value if value > 0 and math.isfinite(value) else otherwise


class ArchivingLedgerStore(InMemoryLedgerStore):
    """An in-memory ledger store that can move the recorded orders out of the ledger."""

    def archive(self) -> list[Order]:
        """The orders recorded since the last call, removed from the ledger."""
        if self.ledger is None or not self.ledger.orders:
            return []
        orders = list(self.ledger.orders.values())
        self.ledger = self.ledger.model_copy(update={"orders": {}})
        return orders

    def held(self) -> dict[str, Decimal]:
        """The quantity of every position of the ledger."""
        return {} if self.ledger is None else {s: p.quantity for s, p in self.ledger.positions.items()}
