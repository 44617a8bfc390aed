"""The simulated account of an array replay: ``SimulatedBroker``'s fills and valuation, without objects.

Policy: the same Decimal operations in the same order as ``broker.simulated`` and
``broker.ledger`` (fill price ``quote × (1 ± slippage)``, notional and commission rounded half up to
cents, the cash check, average prices, cost parts of partial sells), and the same quotes as
``bot.backtest.feed.ReplayFeed`` (closes forward-filled, the day's open where there is one, 6
decimals; FX 8 decimals). Orders rejected by the ledger (INSUFFICIENT_CASH, INSUFFICIENT_POSITION)
are recorded, as the broker records them; the ones refused before pricing (NOT_TRADABLE,
FRACTIONAL_NOT_ALLOWED, NO_QUOTE, NO_FX_RATE) are only counted.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

import numpy as np

from agent.market.base import PriceHistory
from broker.ledger import CENT, to_cents
from broker.models import Instrument
from broker.simulated import BPS, ONE, SimConfig

ZERO = Decimal(0)


class Order(NamedTuple):
    """An order decided on one day for the next: symbol position, side, size and id parts."""

    symbol: int
    buy: bool
    quantity: Decimal
    row: int
    number: int


class Outcome(NamedTuple):
    """What the venue did with one recorded order (for ``FillRecord``)."""

    order: Order
    price: Decimal | None
    notional: Decimal | None


class Quotes:
    """Quotes and FX rates of a history by row, as ``ReplayFeed`` gives them, converted on demand."""

    def __init__(self, history: PriceHistory, symbols: list[str]) -> None:
        self.close = history.close[symbols].astype(float).ffill().to_numpy()
        self.open = None if history.open is None else history.open[symbols].astype(float).to_numpy()
        self.base = history.base_currency
        self.currency = [history.currencies.get(s, history.base_currency) for s in symbols]
        index = history.close.index
        self.fx = {c: s.reindex(index).ffill().to_numpy(dtype=float) for c, s in history.fx.items()}
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
            self._row = (row, [feed_price(v) for v in self.close[row].tolist()])
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
        if self.open is not None and (price := feed_price(float(self.open[row, symbol]))) is not None:
            return price
        return self.close_row(row)[symbol]

    def fx_rate(self, row: int, currency: str) -> Decimal | None:
        """Base units per unit of ``currency`` on the row (1 for the base currency)."""
        if currency == self.base:
            return ONE
        key = (row, currency)
        if key not in self._rates:
            series = self.fx.get(currency)
            value = math.nan if series is None else float(series[row])
            self._rates[key] = Decimal(str(round(value, 8))) if math.isfinite(value) and value > 0 else None
        return self._rates[key]


def feed_price(value: float) -> Decimal | None:
    """``bot.backtest.feed.price_decimal``, the same Decimal in the same form, about twice as fast.

    Between 1e-4 and 1e9 the shortest repr of ``round(value, 6)`` is the 6-decimal rounding of
    ``value`` without trailing zeros (a float's rounding interval there is far narrower than 1e-6),
    so the rounding is formatted directly; elsewhere the feed's own conversion runs.
    """
    if not value > 0 or not math.isfinite(value):
        return None
    if 1e-4 <= value < 1e9:
        text = f"{value:.6f}".rstrip("0")
        return Decimal(text + "0" if text.endswith(".") else text)
    return Decimal(str(round(value, 6)))


@dataclass
class Account:
    """Cash and positions by symbol position; what ``SimLedger`` holds, as plain values."""

    cash: Decimal
    quantity: dict[int, Decimal] = field(default_factory=dict)
    avg_price: dict[int, Decimal] = field(default_factory=dict)
    cost: dict[int, Decimal] = field(default_factory=dict)
    opened: dict[int, date] = field(default_factory=dict)


class Venue:
    """Fills orders at a day's quotes and values the account at its closes."""

    def __init__(self, instruments: list[Instrument], quotes: Quotes, config: SimConfig) -> None:
        self.instruments, self.quotes, self.config = instruments, quotes, config
        self.slippage = config.slippage_bps / BPS
        self.markup = {True: ONE + self.slippage, False: ONE - self.slippage}
        self.tradable = [i.tradable for i in instruments]
        self.fractional = [i.fractional for i in instruments]
        self.account = Account(cash=config.initial_cash)
        self.by_name = sorted(range(len(instruments)), key=lambda i: instruments[i].symbol)

    def execute(self, orders: list[Order], row: int, today: date, refused: Counter[str]) -> list[Outcome]:
        """Submit the orders in turn at the row's opens; the recorded ones, in order.

        ``SimulatedBroker.submit`` and ``SimLedger.bought``/``sold`` written out as one loop (this
        runs for every order of a replay), with their checks, Decimal operations and rounding.
        """
        account, quotes, config = self.account, self.quotes, self.config
        rates, minimum, bps = quotes.fx_row(row), config.min_commission, config.commission_bps
        out = []
        for order in orders:
            symbol, quantity, buy = order.symbol, order.quantity, order.buy
            price, fx = quotes.open_price(row, symbol), rates[quotes.currency[symbol]]
            refusal = self._refusal(order, price, fx)
            if refusal is not None or price is None or fx is None:
                refused[refusal or "NO_QUOTE"] += 1
                continue
            fill = price * self.markup[buy]
            value = quantity * fill * fx
            notional = value.quantize(CENT, rounding=ROUND_HALF_UP)
            commission = max(minimum, (notional * bps / BPS).quantize(CENT, rounding=ROUND_HALF_UP))
            held = account.quantity.get(symbol)
            if buy and notional + commission <= account.cash:
                self._bought(symbol, quantity, fill, notional + commission, held, today)
            elif not buy and held is not None and quantity <= held:
                self._sold(symbol, quantity, held, notional, commission)
            else:
                refused["INSUFFICIENT_CASH" if buy else "INSUFFICIENT_POSITION"] += 1
                out.append(Outcome(order, None, None))
                continue
            out.append(Outcome(order, fill, value))
        return out

    def _refusal(self, order: Order, price: Decimal | None, fx: Decimal | None) -> str | None:
        """Why the venue refuses the order before pricing it, in ``SimulatedBroker``'s order."""
        symbol, quantity = order.symbol, order.quantity
        if not self.tradable[symbol]:
            return "NOT_TRADABLE"
        if not self.fractional[symbol] and quantity != quantity.to_integral_value():
            return "FRACTIONAL_NOT_ALLOWED"
        if price is None:
            return "NO_QUOTE"
        if fx is None:
            return "NO_FX_RATE"
        return None

    def _bought(self, symbol: int, quantity: Decimal, fill: Decimal, total: Decimal, held: Decimal | None,
                today: date) -> None:
        account = self.account
        if held is None:
            account.quantity[symbol], account.avg_price[symbol], account.cost[symbol] = quantity, fill, total
            account.opened[symbol] = today
        else:
            new_quantity = held + quantity
            account.avg_price[symbol] = (held * account.avg_price[symbol] + quantity * fill) / new_quantity
            account.quantity[symbol] = new_quantity
            account.cost[symbol] = account.cost[symbol] + total
        account.cash = account.cash - total

    def _sold(self, symbol: int, quantity: Decimal, held: Decimal, proceeds: Decimal, commission: Decimal) -> None:
        account = self.account
        if quantity == held:
            for table in (account.quantity, account.avg_price, account.cost, account.opened):
                del table[symbol]
        else:
            account.cost[symbol] = account.cost[symbol] - to_cents(account.cost[symbol] * quantity / held)
            account.quantity[symbol] = held - quantity
        account.cash = account.cash + proceeds - commission

    def valued(self, row: int) -> tuple[Decimal, dict[int, Decimal]]:
        """Equity and each position's market value at the row's closes (broker order: by symbol)."""
        account, quotes = self.account, self.quotes
        quantity, currency = account.quantity, quotes.currency
        closes, rates = quotes.close_row(row), quotes.fx_row(row)
        values: dict[int, Decimal] = {}
        for symbol in self.by_name:
            held = quantity.get(symbol)
            if held is None:
                continue
            price = closes[symbol] or account.avg_price[symbol]
            fx = rates[currency[symbol]]
            values[symbol] = held * price * fx if fx is not None else account.cost[symbol]
        return account.cash + sum(values.values(), ZERO), values

    def value_floats(self, row: int, values: dict[int, Decimal]) -> np.ndarray:
        """Market values as floats, by symbol position (0 when not held)."""
        out = np.zeros(len(self.instruments))
        for symbol, value in values.items():
            out[symbol] = float(value)
        return out
