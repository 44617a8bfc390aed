"""The CVaR rule over a day's buys: screened for all of them at once, computed again only when needed.

Policy: ``cvar_limit`` for buy ``k`` measures the portfolio after every SAFE buy before ``k``. The
screen computes every buy's post-trade CVaR against the day's starting portfolio in one array
operation. Each SAFE buy then changes the portfolio's return series by ``Δw · column``, which moves
any historical CVaR by at most ``|Δw| · max|column|``; while the sum of those bounds is smaller than
a screened value's distance to both limits, the screened value decides. Otherwise (and for a
CVaR above the limit, whose "before" value and clamp need the true portfolio) the value is
computed for the true portfolio, exactly as ``cvar_limit`` does.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from risk.batch import BIT, BORDERLINE, EXCEEDS, TOLERANCE, UNSAFE, Book, FloatArray, IntArray, Orders, Undecided
from risk.batch_sells import Running
from risk.limits import RiskLimits
from risk.measures import historical_cvar, tail_size
from risk.rules_portfolio import ALPHA, cvar_clamp

REBASE_AFTER = 12


class CvarScreen:
    """Screened CVaR values of the buys ``first..`` and the true portfolio as SAFE buys are applied."""

    def __init__(self, book: Book, orders: Orders, state: Running, first: int, held: IntArray,
                 weights: FloatArray) -> None:
        returns = book.returns
        if returns.shape[0] == 0:
            raise Undecided("no returns")
        self.book, self.orders, self.state, self.first = book, orders, state, first
        self.equity_f = float(state.equity)
        self.portfolio: FloatArray = returns[:, held] @ weights
        symbols = orders.symbol[first:]
        self.columns = returns[:, symbols]
        self.notional: FloatArray = orders.quantity_f[first:] * orders.price_base_f[first:]
        before = state.value_f[symbols] / self.equity_f
        after = (state.value_f[symbols] + self.notional) / self.equity_f
        series = (self.portfolio[:, None] - self.columns * before) + self.columns * after
        self.tail = k = tail_size(len(returns), ALPHA)
        self.screened: FloatArray = -(np.partition(series, k - 1, axis=0)[:k].sum(axis=0) / k)
        self.reach: FloatArray = np.abs(self.columns).max(axis=0)
        self.moved = 0.0
        self.exact_since = 0
        self.pending: list[tuple[int, float]] = []

    def bounds(self, notional: FloatArray) -> FloatArray:
        """For each buy, how far all the buys before it could move its CVaR (were they all SAFE)."""
        reach = np.abs(notional) / self.equity_f * self.reach
        moved: FloatArray = np.cumsum(reach) - reach
        return moved

    def applied(self, k: int, weight_change: float) -> None:
        """SAFE buy ``k`` changed its symbol's weight by ``weight_change``."""
        self.moved += abs(weight_change) * float(self.reach[k - self.first])
        self.pending.append((k, weight_change))

    def _rebased(self, k: int) -> float | None:
        """Buy ``k``'s screened value, screened again from the true portfolio when that pays.

        Screening the remaining buys again costs about as much as a dozen single computations;
        it is done once a dozen have been needed since the last screen, and resets the bound.
        """
        self.exact_since += 1
        remaining = len(self.screened) - (k - self.first)
        if self.exact_since < REBASE_AFTER or remaining < REBASE_AFTER:
            return float(self.screened[k - self.first])
        portfolio = self._true_portfolio()
        rows = slice(k - self.first, None)
        symbols = self.orders.symbol[k:]
        before = self.state.value_f[symbols] / self.equity_f
        after = before + self.notional[rows] / self.equity_f
        series = (portfolio[:, None] - self.columns[:, rows] * before) + self.columns[:, rows] * after
        self.screened[rows] = -(np.partition(series, self.tail - 1, axis=0)[:self.tail].sum(axis=0) / self.tail)
        self.moved, self.exact_since = 0.0, 0
        return float(self.screened[k - self.first])

    def _true_portfolio(self) -> FloatArray:
        if self.pending:
            rows = [k - self.first for k, _ in self.pending]
            self.portfolio = self.portfolio + self.columns[:, rows] @ np.array([w for _, w in self.pending])
            self.pending = []
        return self.portfolio

    def _curve_base(self, k: int) -> tuple[FloatArray, FloatArray, float]:
        column = self.columns[:, k - self.first]
        weight = float(self.state.value_f[self.orders.symbol[k]]) / self.equity_f
        return self._true_portfolio() - weight * column, column, weight

    def bits(self, k: int, notional: float, screened: bool, limits: RiskLimits) -> tuple[int, int]:
        """The CVaR bit of buy ``k``, with its level: UNSAFE when the portfolio was already over the
        limit, EXCEEDS (3: the level depends on the clamp) when only this buy takes it over."""
        limit, near = limits.max_cvar_95, limits.borderline_fraction * limits.max_cvar_95
        value = float(self.screened[k - self.first]) if screened else None
        close = value is not None and min(abs(value - limit), abs(value - near)) <= self.moved + TOLERANCE
        if close and self.moved > 0:
            value = self._rebased(k)
            close = value is not None and min(abs(value - limit), abs(value - near)) <= self.moved + TOLERANCE
        if value is None or close or value > limit:
            base, column, weight = self._curve_base(k)
            after = (float(self.state.value_f[self.orders.symbol[k]]) + notional) / self.equity_f
            value = historical_cvar(base + after * column, ALPHA)
            _decided(value, limit)
            _decided(value, near)
            if value > limit:
                before = historical_cvar(base + weight * column, ALPHA)
                _decided(before, limit)
                return BIT["CVAR_EXCEEDS_MAX"], UNSAFE if before > limit else EXCEEDS
        if value > near:
            return BIT["CVAR_NEAR_MAX"], BORDERLINE
        return 0, 0

    def clamp(self, k: int, quantity: Decimal, step: Decimal, limits: RiskLimits) -> Decimal:
        """The CVaR rule's size offer for buy ``k`` (``cvar_clamp`` on the true portfolio)."""
        base, column, _ = self._curve_base(k)
        symbol = int(self.orders.symbol[k])
        price_base = self.orders.price_base[k]

        def curve(weight: float) -> float:
            return historical_cvar(base + weight * column, ALPHA)

        return cvar_clamp(quantity, step, self.state.value[symbol], price_base, self.state.equity, curve,
                          limits.max_cvar_95)


def _decided(value: float, limit: float) -> None:
    if abs(value - limit) <= TOLERANCE:
        raise Undecided(f"CVaR {value} within tolerance of {limit}")
