"""The sells of a day's batch: classified as vectors, then the SAFE ones applied to the book.

Policy: a sell of no more than is held (``risk.batch`` refuses the day otherwise) meets only the
data-integrity, trading-state and holding-period rules, none of which depends on another order:
NOT_TRADABLE_AT_BROKER and STALE_PRICE are UNSAFE, MIN_HOLDING_PERIOD (ACTIVE, in profit, younger
than ``min_holding_days``) BORDERLINE. ``apply_safe_sells`` then does what ``risk.engine.project``
does for each SAFE sell, in order and with the same Decimal operations, and returns the running
state the buys start from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from risk.batch import BIT, BORDERLINE, UNSAFE, Book, FloatArray, IntArray, Orders
from risk.limits import RiskLimits
from risk.models import TradingState

ZERO = Decimal(0)


class Overlay:
    """A book's per-symbol Decimals as the day's orders change them; the book's own stay as they were."""

    def __init__(self, base: Sequence[Decimal]) -> None:
        self.base = base
        self.changed: dict[int, Decimal] = {}

    def __getitem__(self, symbol: int) -> Decimal:
        changed = self.changed.get(symbol)
        return self.base[symbol] if changed is None else changed

    def __setitem__(self, symbol: int, value: Decimal) -> None:
        self.changed[symbol] = value


@dataclass
class Running:
    """The book as the next order sees it: after every SAFE order before it."""

    equity: Decimal
    cash: Decimal
    quantity: Overlay
    value: Overlay
    value_f: FloatArray
    holdings: list[int]
    trades_today: int
    trades_this_week: int


def classify_sells(book: Book, orders: Orders, limits: RiskLimits, level: IntArray, mask: IntArray) -> None:
    """Fill ``level`` and ``mask`` for the sells (the first ``len(level)`` orders)."""
    count = len(level)
    if count == 0:
        return
    symbols = orders.symbol[:count]
    untradable = ~book.tradable[symbols]
    stale = book.price_age[symbols] > limits.max_price_age_days
    mask |= np.where(untradable, BIT["NOT_TRADABLE_AT_BROKER"], 0) | np.where(stale, BIT["STALE_PRICE"], 0)
    level[untradable | stale] = UNSAFE
    if book.trading_state is not TradingState.ACTIVE:
        return
    for row, symbol in enumerate(symbols.tolist()):
        opened = book.opened[symbol]
        if opened is None or book.as_of - opened >= limits.min_holding_days:
            continue
        cost = book.cost[symbol]
        if cost > 0 and float(book.value[symbol] / cost - 1) > 0:
            mask[row] |= BIT["MIN_HOLDING_PERIOD"]
            level[row] = max(int(level[row]), BORDERLINE)


def apply_safe_sells(book: Book, orders: Orders, level: IntArray) -> Running:
    """The book after the SAFE sells, each applied as ``risk.engine.project`` would."""
    state = Running(equity=book.equity, cash=book.cash, quantity=Overlay(book.quantity), value=Overlay(book.value),
                    value_f=book.value_f.copy(), holdings=list(book.holdings), trades_today=book.trades_today,
                    trades_this_week=book.trades_this_week)
    sold_out = []
    for row in np.flatnonzero(level == 0).tolist():
        symbol = int(orders.symbol[row])
        quantity, price_base = orders.quantity[row], orders.price_base[row]
        notional = quantity * price_base
        held, value = state.quantity[symbol], state.value[symbol]
        value_sold = value * (quantity / held)
        if quantity == held:
            state.quantity[symbol] = state.value[symbol] = ZERO
            state.value_f[symbol] = 0.0
            sold_out.append(symbol)
        else:
            state.quantity[symbol] = held - quantity
            state.value[symbol] = value - value_sold
            state.value_f[symbol] = float(state.value[symbol])
        state.cash = state.cash + notional
        state.equity = state.equity + notional - value_sold
        state.trades_today += 1
        state.trades_this_week += 1
    if sold_out:
        gone = set(sold_out)
        state.holdings = [s for s in state.holdings if s not in gone]
    return state
