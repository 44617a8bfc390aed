"""The running sums of the ordered pass over a day's buys, and how a SAFE buy moves them.

Policy: ``Pass`` holds what ``risk.engine.project`` would carry from buy to buy: cash, the asset
class and sector sums, the large holdings, the trade counts (in ``Running``) and the CVaR screen;
``apply_buy`` moves them by a SAFE buy. Every float comparison against a limit goes through
``beyond``/``below``, which refuse (``Undecided``) when the two are within ``TOLERANCE``.
"""

from __future__ import annotations

import math

import numpy as np

from risk.batch import BIT, BORDERLINE, EXCEEDS, SAFE, TOLERANCE, UNSAFE, Book, Orders, Undecided
from risk.batch_cvar import CvarScreen
from risk.batch_sells import Running
from risk.facts import to_decimal
from risk.limits import RiskLimits


def beyond(value: float, limit: float, scale: float = 1.0) -> bool:
    """``value > limit``, refusing to guess when the two are closer than the tolerance."""
    if abs(value - limit) <= TOLERANCE * scale:
        raise Undecided(f"{value} is within tolerance of {limit}")
    return value > limit


def below(weight: float, threshold: float) -> bool:
    if abs(weight - threshold) <= TOLERANCE:
        raise Undecided("a weight within tolerance of the large-holding threshold")
    return weight < threshold


class Pass:
    """The running sums of the buy pass and the rules that read them."""

    def __init__(self, book: Book, orders: Orders, limits: RiskLimits, state: Running, first: int) -> None:
        self.book, self.orders, self.limits, self.state = book, orders, limits, state
        self.equity_f = float(state.equity)
        self.cash_f = float(state.cash)
        self.floor = to_decimal(limits.min_cash_weight) * state.equity
        self.floor_f = float(self.floor)
        held = np.asarray(state.holdings, dtype=np.int64)
        weights = state.value_f[held] / self.equity_f
        self.classes = np.bincount(book.asset_class[held], weights=state.value_f[held],
                                   minlength=int(book.asset_class.max(initial=0)) + 1).tolist()
        self.sectors = np.bincount(book.sector[held], weights=state.value_f[held],
                                   minlength=int(book.sector.max(initial=0)) + 1).tolist()
        self.large = [int(s) for s, w in zip(held.tolist(), weights.tolist(), strict=True)
                      if not below(w, limits.large_holding_weight)]
        self.correlations: dict[tuple[int, int], float] = {}
        self.cvar = CvarScreen(book, orders, state, first, held, weights)
        # Per order, as Python values for the ordered pass (indexed by order row; sells are unused).
        self.symbols = orders.symbol.tolist()
        self.notionals = (orders.quantity_f * orders.price_base_f).tolist()
        self.class_of = book.asset_class[orders.symbol].tolist()
        self.sector_of = book.sector[orders.symbol].tolist()
        self.caps = (book.adv_f[orders.symbol] * limits.max_adv_fraction).tolist()

    def weight_bits(self, current: float, notional: float, limit: float, exceeds: str, near: str) -> tuple[int, int]:
        """The exceeds/near bit for a group worth ``current``, with EXCEEDS (a clamp is due) or its level."""
        after = (current + notional) / self.equity_f
        if beyond(after, limit):
            return BIT[exceeds], EXCEEDS
        if beyond(after, self.limits.borderline_fraction * limit):
            return BIT[near], BORDERLINE
        return 0, SAFE

    def correlated(self, symbol: int) -> bool:
        """True when the buy moves with a large holding beyond ``max_correlation``."""
        for other in self.large:
            if other == symbol:
                continue
            key = (symbol, other)
            if key not in self.correlations:
                self.correlations[key] = self.book.correlation(symbol, other)
            corr = self.correlations[key]
            if math.isfinite(corr) and beyond(corr, self.limits.max_correlation):
                return True
        return False

    def count_bits(self, count: int, limit: int, exceeds: str, near: str) -> tuple[int, int]:
        """The exceeds/near bit of a trade budget once this trade is counted, with its level."""
        if count > limit:
            return BIT[exceeds], UNSAFE
        if count > self.limits.borderline_fraction * limit:
            return BIT[near], BORDERLINE
        return 0, SAFE


def apply_buy(run: Pass, k: int) -> None:
    """Move the running sums by SAFE buy ``k`` (``risk.engine.project`` for a buy)."""
    book, orders, state = run.book, run.orders, run.state
    symbol = int(orders.symbol[k])
    price_base = orders.price_base[k]
    notional_f = orders.quantity_f[k] * orders.price_base_f[k]
    notional = orders.quantity[k] * price_base
    if state.quantity[symbol] <= 0 and symbol not in state.holdings:
        state.holdings.append(symbol)
    state.quantity[symbol] = state.quantity[symbol] + orders.quantity[k]
    state.value[symbol] = state.value[symbol] + notional
    state.value_f[symbol] += notional_f
    state.cash = state.cash - notional
    state.trades_today += 1
    state.trades_this_week += 1
    run.cash_f -= notional_f
    run.classes[book.asset_class[symbol]] += notional_f
    run.sectors[book.sector[symbol]] += notional_f
    if symbol not in run.large and not below(state.value_f[symbol] / run.equity_f, run.limits.large_holding_weight):
        run.large.append(symbol)
    run.cvar.applied(k, notional_f / run.equity_f)
