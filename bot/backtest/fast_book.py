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
from decimal import Decimal

import numpy as np

from agent.market.base import PriceHistory
from broker.ledger import to_cents
from broker.models import Instrument
from broker.simulated import BPS, ONE, SimConfig

ZERO = Decimal(0)


@dataclass(frozen=True)
class Order:
    """An order decided on one day for the next: symbol position, side, size and id parts."""

    symbol: int
    buy: bool
    quantity: Decimal
    row: int
    number: int


@dataclass(frozen=True)
class Outcome:
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
        self._closes: dict[tuple[int, int], Decimal | None] = {}
        self._rates: dict[tuple[int, str], Decimal | None] = {}

    def close_price(self, row: int, symbol: int) -> Decimal | None:
        """The day's (forward-filled) close, as the feed quotes it."""
        key = (row, symbol)
        if key not in self._closes:
            self._closes[key] = _price(float(self.close[row, symbol]))
        return self._closes[key]

    def open_price(self, row: int, symbol: int) -> Decimal | None:
        """The day's open where there is one, else its close."""
        if self.open is not None and (price := _price(float(self.open[row, symbol]))) is not None:
            return price
        return self.close_price(row, symbol)

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


def _price(value: float) -> Decimal | None:
    return Decimal(str(round(value, 6))) if math.isfinite(value) and value > 0 else None


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
        self.account = Account(cash=config.initial_cash)
        self.by_name = sorted(range(len(instruments)), key=lambda i: instruments[i].symbol)

    def execute(self, orders: list[Order], row: int, today: date, refused: Counter[str]) -> list[Outcome]:
        """Submit the orders in turn at the row's opens; the recorded ones, in order."""
        out = []
        for order in orders:
            outcome = self._one(order, row, today, refused)
            if outcome is not None:
                out.append(outcome)
        return out

    def _one(self, order: Order, row: int, today: date, refused: Counter[str]) -> Outcome | None:
        instrument = self.instruments[order.symbol]
        if not instrument.tradable:
            refused["NOT_TRADABLE"] += 1
            return None
        if not instrument.fractional and order.quantity != order.quantity.to_integral_value():
            refused["FRACTIONAL_NOT_ALLOWED"] += 1
            return None
        price = self.quotes.open_price(row, order.symbol)
        if price is None:
            refused["NO_QUOTE"] += 1
            return None
        fx = self.quotes.fx_rate(row, instrument.currency)
        if fx is None:
            refused["NO_FX_RATE"] += 1
            return None
        fill = price * (ONE + self.slippage if order.buy else ONE - self.slippage)
        notional = to_cents(order.quantity * fill * fx)
        commission = max(self.config.min_commission, to_cents(notional * self.config.commission_bps / BPS))
        done = self._buy(order, fill, notional + commission, today) if order.buy else \
            self._sell(order, notional, commission)
        if not done:
            refused["INSUFFICIENT_CASH" if order.buy else "INSUFFICIENT_POSITION"] += 1
            return Outcome(order=order, price=None, notional=None)
        return Outcome(order=order, price=fill, notional=order.quantity * fill * fx)

    def _buy(self, order: Order, fill: Decimal, total: Decimal, today: date) -> bool:
        account, symbol, quantity = self.account, order.symbol, order.quantity
        if total > account.cash:
            return False
        held = account.quantity.get(symbol)
        if held is None:
            account.quantity[symbol], account.avg_price[symbol], account.cost[symbol] = quantity, fill, total
            account.opened[symbol] = today
        else:
            new_quantity = held + quantity
            account.avg_price[symbol] = (held * account.avg_price[symbol] + quantity * fill) / new_quantity
            account.quantity[symbol] = new_quantity
            account.cost[symbol] = account.cost[symbol] + total
        account.cash = account.cash - total
        return True

    def _sell(self, order: Order, proceeds: Decimal, commission: Decimal) -> bool:
        account, symbol, quantity = self.account, order.symbol, order.quantity
        held = account.quantity.get(symbol)
        if held is None or quantity > held:
            return False
        if quantity == held:
            for table in (account.quantity, account.avg_price, account.cost, account.opened):
                del table[symbol]
        else:
            account.cost[symbol] = account.cost[symbol] - to_cents(account.cost[symbol] * quantity / held)
            account.quantity[symbol] = held - quantity
        account.cash = account.cash + proceeds - commission
        return True

    def valued(self, row: int) -> tuple[Decimal, dict[int, Decimal]]:
        """Equity and each position's market value at the row's closes (broker order: by symbol)."""
        account, quotes = self.account, self.quotes
        quantity, close, currency = account.quantity, quotes.close_price, quotes.currency
        rates = {c: quotes.fx_rate(row, c) for c in set(currency)}
        values: dict[int, Decimal] = {}
        for symbol in self.by_name:
            held = quantity.get(symbol)
            if held is None:
                continue
            price = close(row, symbol) or account.avg_price[symbol]
            fx = rates[currency[symbol]]
            values[symbol] = held * price * fx if fx is not None else account.cost[symbol]
        return account.cash + sum(values.values(), ZERO), values

    def value_floats(self, row: int, values: dict[int, Decimal]) -> np.ndarray:
        """Market values as floats, by symbol position (0 when not held)."""
        out = np.zeros(len(self.instruments))
        for symbol, value in values.items():
            out[symbol] = float(value)
        return out
