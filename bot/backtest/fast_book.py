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

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from bot.backtest.fast_quotes import Quotes
from broker.ledger import average_price, cost_part_of
from broker.models import Instrument
from broker.simulated import SimConfig, fill_terms

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
        self.tradable = [i.tradable for i in instruments]
        self.fractional = [i.fractional for i in instruments]
        self.account = Account(cash=config.initial_cash)
        self.by_name = sorted(range(len(instruments)), key=lambda i: instruments[i].symbol)

    def execute(self, orders: list[Order], row: int, today: date, refused: Counter[str]) -> list[Outcome]:
        """Submit the orders in turn at the row's opens; the recorded ones, in order.

        ``SimulatedBroker.submit`` and ``SimLedger.bought``/``sold`` as one loop (this runs for every
        order of a replay): their checks in their order, and their arithmetic through the same
        functions (``fill_terms``, ``average_price``, ``cost_part_of``).
        """
        account, quotes, config = self.account, self.quotes, self.config
        rates = quotes.fx_row(row)
        out = []
        for order in orders:
            symbol, quantity, buy = order.symbol, order.quantity, order.buy
            price, fx = quotes.open_price(row, symbol), rates[quotes.currency[symbol]]
            refusal = self._refusal(order, price, fx)
            if refusal is not None or price is None or fx is None:
                refused[refusal or "NO_QUOTE"] += 1
                continue
            fill, notional, commission = fill_terms(config, quantity, price, fx, buy=buy)
            held = account.quantity.get(symbol)
            if buy and notional + commission <= account.cash:
                self._bought(symbol, quantity, fill, notional + commission, held, today)
            elif not buy and held is not None and quantity <= held:
                self._sold(symbol, quantity, held, notional, commission)
            else:
                refused["INSUFFICIENT_CASH" if buy else "INSUFFICIENT_POSITION"] += 1
                out.append(Outcome(order, None, None))
                continue
            out.append(Outcome(order, fill, quantity * fill * fx))
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
            account.avg_price[symbol] = average_price(held, account.avg_price[symbol], quantity, fill)
            account.quantity[symbol] = new_quantity
            account.cost[symbol] = account.cost[symbol] + total
        account.cash = account.cash - total

    def _sold(self, symbol: int, quantity: Decimal, held: Decimal, proceeds: Decimal, commission: Decimal) -> None:
        account = self.account
        if quantity == held:
            for table in (account.quantity, account.avg_price, account.cost, account.opened):
                del table[symbol]
        else:
            account.cost[symbol] = account.cost[symbol] - cost_part_of(account.cost[symbol], quantity, held)
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

    def value_floats(self, values: dict[int, Decimal]) -> np.ndarray:
        """Market values as floats, by symbol position (0 when not held)."""
        out = np.zeros(len(self.instruments))
        for symbol, value in values.items():
            out[symbol] = float(value)
        return out
