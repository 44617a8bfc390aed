"""The simulated account of an array replay: ``SimulatedBroker``'s fills and valuation in exact integers.

Policy: the account is held as integers: cash and costs in cents, quantities in ten-thousandths
of a share, and it is priced with the feed's quotes as integers (``bot.backtest.fast_quotes``).
What ``broker.simulated`` and ``broker.ledger`` compute in Decimal is then exact integer
arithmetic, except three roundings: a fill's notional to cents (half up; the recorded notional
rounds the same value half even) and the cost part of a partial sell to cents (half up). Those
are rounded in floats where the float lies farther from the rounding boundary than its error
can reach, and by ``fill_terms`` and ``cost_part_of`` themselves elsewhere. The checks keep their
order: NOT_TRADABLE, FRACTIONAL_NOT_ALLOWED, NO_QUOTE, NO_FX_RATE refuse before pricing (only
counted); INSUFFICIENT_POSITION and INSUFFICIENT_CASH (in order, as cash runs out) are recorded.
Valuation is exact while every product and the equity fit Decimal's 28 digits (an equity below
5e9); a replay outside that, or a held symbol without a close, is left to the object replay
(``Unsupported``). Average prices (unrounded Decimals) are folded from the fills when asked for.
This is the venue of the days the compiled kernel leaves to Python (``bot.backtest.kernel``
does the same arithmetic on the same arrays).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from operator import mul
from typing import TypeVar

import numpy as np

from bot.backtest.fast_quotes import Quotes, Unsupported
from bot.backtest.kernel_exact import DIGITS_28, FILL_ERROR, PART_ERROR
from broker.ledger import average_price, cost_part_of
from broker.models import Instrument
from broker.simulated import SimConfig, fill_terms

T = TypeVar("T")
ZERO = Decimal(0)
UNIT = 10_000  # quantities are held in ten-thousandths of a share
REFUSALS = ("NOT_TRADABLE", "FRACTIONAL_NOT_ALLOWED", "NO_QUOTE", "NO_FX_RATE")


def _cents(amount: Decimal, what: str) -> int:
    cents = amount.scaleb(2)
    if cents != cents.to_integral_value():
        raise Unsupported(f"{what} is not a whole number of cents")
    return int(cents)


def _whole(amount: Decimal, what: str) -> int:
    if amount != amount.to_integral_value():
        raise Unsupported(f"{what} is not a whole number")
    return int(amount)


def units_of(quantity: Decimal) -> int:
    """A quantity in ten-thousandths of a share (a finer quantity is left to the object replay)."""
    return _whole(quantity.scaleb(4), "a quantity in ten-thousandths")


def exact_equity(cash: int, units: np.ndarray, price: np.ndarray, rate: np.ndarray, at_cost: int) -> Decimal:
    """Cash plus ``units × price × rate`` (1e-18 of base) plus the positions held at cost, all exact."""
    if len(units) and float(price.max()) * float(rate.max()) < 9e18:
        scaled = sum(map(mul, units.tolist(), (price * rate).tolist()))
    else:
        scaled = sum(u * p * r for u, p, r in zip(units.tolist(), price.tolist(), rate.tolist(), strict=True))
    return Decimal(cash).scaleb(-2) + (Decimal(scaled).scaleb(-18) + Decimal(at_cost).scaleb(-2))


def _count(refused: Counter[str], code: str, which: np.ndarray) -> None:
    if (found := int(np.count_nonzero(which))):
        refused[code] += found


@dataclass(frozen=True)
class OrderBatch:
    """The orders decided on one row for the next, in submission order (each symbol at most once)."""

    row: int
    number: np.ndarray
    symbol: np.ndarray
    buy: np.ndarray
    units: np.ndarray
    quantity: list[Decimal]


@dataclass(frozen=True)
class Executed:
    """What the venue did with a batch: the recorded orders (positions in the batch) and their fills."""

    batch: OrderBatch
    row: int
    recorded: np.ndarray
    filled: np.ndarray
    cents: np.ndarray  # the notional rounded half even to cents, as the fill record shows it

    @property
    def traded(self) -> int:
        """The filled notional in cents."""
        return int(self.cents[self.filled].sum())


class Venue:
    """Fills orders at a day's quotes and values the account at its closes."""

    def __init__(self, instruments: list[Instrument], quotes: Quotes, config: SimConfig) -> None:
        self.instruments, self.quotes, self.config = instruments, quotes, config
        self.tradable = np.array([i.tradable for i in instruments], dtype=bool)
        self.fractional = np.array([i.fractional for i in instruments], dtype=bool)
        self.by_name = sorted(range(len(instruments)), key=lambda i: instruments[i].symbol)
        self.slippage = _whole(config.slippage_bps, "the slippage in bps")
        self.commission = _whole(config.commission_bps, "the commission in bps")
        self.min_commission = _cents(config.min_commission, "the minimum commission")
        self.money = np.array([_cents(config.initial_cash, "the initial cash")], dtype=np.int64)
        n = len(instruments)
        self.units = np.zeros(n, dtype=np.int64)
        self.cost = np.zeros(n, dtype=np.int64)
        self.opened = np.full(n, -1, dtype=np.int64)  # the row a position was opened on
        self.fills: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # rows, symbols, buys, units
        self._folded = 0
        self._avg: dict[int, tuple[int, Decimal]] = {}

    @property
    def cash(self) -> int:
        """Cash in cents."""
        return int(self.money[0])

    @cash.setter
    def cash(self, cents: int) -> None:
        self.money[0] = cents

    def execute(self, batch: OrderBatch, row: int, refused: Counter[str]) -> Executed:
        """Submit the batch's orders in turn at the row's opens (``SimulatedBroker.submit`` for each)."""
        s, units, buy = batch.symbol, batch.units, batch.buy
        price = self.quotes.open_units[row, s]
        rate = self.quotes.fx_units[row, self.quotes.symbol_fx[s]]
        code = np.select([~self.tradable[s], ~self.fractional[s] & (units % UNIT != 0), price == 0, rate == 0],
                         [1, 2, 3, 4], 0)
        for k, name in enumerate(REFUSALS, start=1):
            _count(refused, name, code == k)
        recorded = np.flatnonzero(code == 0)
        s, units, buy, price, rate = s[recorded], units[recorded], buy[recorded], price[recorded], rate[recorded]
        notional, commission, cents = self._priced(batch, row, recorded, price, rate)
        held = self.units[s]
        accepted = np.where(buy, True, units <= held)
        total = notional + commission
        delta = np.where(buy, -total, notional - commission)
        while True:  # a buy is refused when the cash left by the orders before it cannot pay it
            moved = np.where(accepted, delta, 0)
            short = buy & accepted & (total > self.cash + np.cumsum(moved) - moved)
            if not short.any():
                break
            accepted[int(np.argmax(short))] = False
        _count(refused, "INSUFFICIENT_CASH", buy & ~accepted)
        _count(refused, "INSUFFICIENT_POSITION", ~buy & ~accepted)
        self._apply(batch, row, recorded, accepted, total, notional, commission)
        return Executed(batch=batch, row=row, recorded=recorded, filled=accepted, cents=cents)

    def _priced(self, batch: OrderBatch, row: int, recorded: np.ndarray, price: np.ndarray,
                rate: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Notional (half up) and commission in cents, and the notional half even, per recorded order."""
        buy, units = batch.buy[recorded], batch.units[recorded]
        factor = np.where(buy, 10_000 + self.slippage, 10_000 - self.slippage)
        # units × 1e-4 shares × price × 1e-6 × factor × 1e-4 × rate × 1e-8, in cents
        exact = units.astype(float) * price * factor * rate * 1e-20
        lower = np.floor(exact)
        sure = np.abs(exact - lower - 0.5) > exact * FILL_ERROR
        up = (lower + (exact - lower >= 0.5)).astype(np.int64)
        notional, cents = up.copy(), up.copy()
        for k in np.flatnonzero(~sure).tolist():
            order = int(recorded[k])
            quote = self.quotes.open_price(row, int(batch.symbol[order]))
            fx = self.quotes.fx_rate(row, self.quotes.currency[int(batch.symbol[order])])
            if quote is None or fx is None:  # refused before pricing: cannot happen
                raise Unsupported("a priced order without a quote")
            quantity = batch.quantity[order]
            fill, charged, _ = fill_terms(self.config, quantity, quote, fx, buy=bool(buy[k]))
            notional[k], cents[k] = int(charged.scaleb(2)), int(round(quantity * fill * fx, 2).scaleb(2))
        commission = np.maximum(self.min_commission, (notional * self.commission + 5_000) // 10_000)
        return notional, commission, cents

    def _apply(self, batch: OrderBatch, row: int, recorded: np.ndarray, accepted: np.ndarray, total: np.ndarray,
               notional: np.ndarray, commission: np.ndarray) -> None:
        """``SimLedger.bought`` and ``sold`` for the accepted orders."""
        chosen = recorded[accepted]
        s, units, buy = batch.symbol[chosen], batch.units[chosen], batch.buy[chosen]
        total, net = total[accepted], (notional - commission)[accepted]
        bought, sold = s[buy], s[~buy]
        fresh = self.units[bought] == 0
        self.opened[bought[fresh]] = row
        self.cost[bought] = np.where(fresh, 0, self.cost[bought]) + total[buy]
        self.units[bought] += units[buy]
        held, part_units = self.units[sold], units[~buy]
        full = part_units == held
        part = self._cost_parts(self.cost[sold], part_units, held, full)
        self.cost[sold] = np.where(full, 0, self.cost[sold] - part)
        self.opened[sold[full]] = -1
        self.units[sold] = held - part_units
        self.cash += int(net[~buy].sum()) - int(total[buy].sum())
        if len(chosen):
            self.fills.append((np.full(len(chosen), row), s, buy, units))

    def _cost_parts(self, cost: np.ndarray, units: np.ndarray, held: np.ndarray, full: np.ndarray) -> np.ndarray:
        """``cost_part_of`` in cents for each partial sell (0 for full ones)."""
        exact = cost.astype(float) * units / np.maximum(held, 1)
        lower = np.floor(exact)
        sure = full | (np.abs(exact - lower - 0.5) > exact * PART_ERROR + 1e-300)
        part = np.where(full, 0, lower + (exact - lower >= 0.5)).astype(np.int64)
        for k in np.flatnonzero(~sure).tolist():
            part[k] = int(cost_part_of(Decimal(int(cost[k])).scaleb(-2), Decimal(int(units[k])).scaleb(-4),
                                       Decimal(int(held[k])).scaleb(-4)).scaleb(2))
        return part

    def valued(self, row: int) -> Marks:
        """The account at the row's closes (``SimulatedBroker.account`` and ``positions``)."""
        held = np.flatnonzero(self.units > 0)
        price = self.quotes.close_units[row, held]
        rate = self.quotes.fx_units[row, self.quotes.symbol_fx[held]]
        if (price == 0).any():
            raise Unsupported("a held symbol without a close (valued at its average price)")
        units = self.units[held]
        product = units.astype(float) * price * rate  # value × 1e18
        priced = rate > 0
        value_f = np.zeros(len(self.instruments))
        value_f[held] = np.where(priced, product * 1e-18, self.cost[held] * 0.01)
        if len(held) and (product.max() >= DIGITS_28 or value_f.sum() + self.cash * 0.01 >= DIGITS_28 * 1e-18):
            raise Unsupported("values beyond Decimal's 28 digits")
        cash = Decimal(self.cash).scaleb(-2)
        at_cost = int(self.cost[held[~priced]].sum())
        equity = exact_equity(self.cash, units[priced], price[priced], rate[priced], at_cost)
        return Marks(venue=self, held=held, units=units, cost=self.cost[held], opened_row=self.opened[held],
                     price=price, rate=rate, cash=cash, equity=equity, value_f=value_f)

    def avg_price(self, symbol: int) -> Decimal:
        """The ledger's average price of a holding: ``average_price`` folded over the fills so far.

        Decimal results depend only on their operands' values, so the fold builds each operand from
        the integers directly: a fill price ``open × (1 + slippage)`` is ``open units × (10,000 +
        bps)`` in 1e-10, quantities are units in 1e-4.
        """
        fold, opens = self._avg, self.quotes.open_units
        rise = 10_000 + self.slippage
        for rows, symbols, buys, units in self.fills[self._folded:]:
            for row, s, buy, q in zip(rows.tolist(), symbols.tolist(), buys.tolist(), units.tolist(), strict=True):
                before = fold.get(s)
                if not buy:
                    if before is not None and q == before[0]:
                        del fold[s]
                    elif before is not None:
                        fold[s] = (before[0] - q, before[1])
                    continue
                fill = Decimal(int(opens[row, s]) * rise).scaleb(-10)
                if before is None:
                    fold[s] = (q, fill)
                else:
                    fold[s] = (before[0] + q, average_price(Decimal(before[0]).scaleb(-4), before[1],
                                                            Decimal(q).scaleb(-4), fill))
        self._folded = len(self.fills)
        return fold[symbol][1]

    def decimal(self, symbol: int, units: int) -> Decimal:
        """Units of a symbol as the ledger's Decimal quantity (4 places when fractional, whole otherwise)."""
        return Decimal(units).scaleb(-4) if self.fractional[symbol] else Decimal(units // UNIT)


@dataclass
class Marks:
    """The account valued at one row's closes, held positions only; Decimals are built when asked for."""

    venue: Venue
    held: np.ndarray
    units: np.ndarray
    cost: np.ndarray
    opened_row: np.ndarray
    price: np.ndarray
    rate: np.ndarray
    cash: Decimal
    equity: Decimal
    value_f: np.ndarray

    def value(self, symbol: int) -> Decimal:
        """A holding's market value in base, as ``SimulatedBroker`` reports it (at cost without FX)."""
        k = self._at(symbol)
        if self.rate[k] == 0:
            return Decimal(int(self.cost[k])).scaleb(-2)
        return Decimal(int(self.units[k]) * int(self.price[k]) * int(self.rate[k])).scaleb(-18)

    def quantity(self, symbol: int) -> Decimal:
        """A holding as the ledger's Decimal (4 places for fractional instruments, whole otherwise)."""
        return self.venue.decimal(symbol, int(self.units[self._at(symbol)]))

    def _at(self, symbol: int) -> int:
        return self._positions[symbol]

    @cached_property
    def _positions(self) -> dict[int, int]:
        return {s: k for k, s in enumerate(self.held.tolist())}

    @property
    def values(self) -> Mapping[int, Decimal]:
        """Market values by symbol position, held ones only (ascending)."""
        return _Held(self, self.value)

    @property
    def quantities(self) -> Mapping[int, Decimal]:
        """Held quantities by symbol position."""
        return _Held(self, self.quantity)

    @property
    def costs(self) -> Mapping[int, Decimal]:
        """Cost bases in base by symbol position."""
        return _Held(self, lambda s: Decimal(int(self.cost[self._at(s)])).scaleb(-2))

    @property
    def avg_prices(self) -> Mapping[int, Decimal]:
        """The ledger's average prices by symbol position."""
        return _Held(self, self.venue.avg_price)

    def opened(self, dates: Sequence[date]) -> Mapping[int, date]:
        """The day each holding was opened."""
        return _Held(self, lambda s: dates[int(self.opened_row[self._at(s)])])


class _Held(Mapping[int, T]):
    """A read-only mapping over the held symbol positions, values computed per access."""

    def __init__(self, marks: Marks, get: Callable[[int], T]) -> None:
        self.marks, self.get_value = marks, get
        self._held = set(marks.held.tolist())

    def __getitem__(self, symbol: int) -> T:
        if symbol not in self._held:
            raise KeyError(symbol)
        return self.get_value(symbol)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._held

    def __iter__(self) -> Iterator[int]:
        return iter(self.marks.held.tolist())

    def __len__(self) -> int:
        return len(self._held)
