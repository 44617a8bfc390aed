"""The buys of a day's batch: vector rules first, then one ordered pass over running sums.

Policy: see ``risk.batch``. The rules a buy's own data decides are computed for every buy at once
(``risk.batch_static``); on a large batch, the buys the earlier orders cannot change are decided as
vectors too (``risk.batch_screen``). The ordered pass then takes the rest buy by buy, in order,
against running sums (``risk.batch_pass``): the common case written out (``risk.batch_quick``),
else ``risk.batch_evaluate``. Each SAFE buy moves the sums as ``risk.engine.project`` moves the
context. A buy with a size offer gets the offers from the rules' Decimal helpers and is
classified again at the smallest.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from risk.batch import BIT, BORDERLINE, SAFE, TOLERANCE, UNSAFE, Book, BoolArray, FloatArray, IntArray, Orders
from risk.batch_evaluate import evaluate
from risk.batch_pass import Pass, apply_buy
from risk.batch_quick import quick
from risk.batch_screen import Findings, Screen, count_rule, exclusive_group_sums
from risk.batch_sells import Running
from risk.batch_static import static_findings
from risk.limits import RiskLimits

SCREEN_FROM = 48
SCREEN_ROUNDS = 4


def classify_buys(book: Book, orders: Orders, limits: RiskLimits, state: Running, first: int, level: IntArray,
                  mask: IntArray) -> dict[int, Decimal]:
    """Fill ``level`` and ``mask`` for the buys (orders ``first..``); the clamps offered, by row."""
    if first == len(orders.symbol):
        return {}
    bits, static_level = static_findings(book, orders, limits, state, slice(first, None))
    run = Pass(book, orders, limits, state, first)
    if len(orders.symbol) - first >= SCREEN_FROM:
        screen = _screen(run, first, bits, static_level)
    else:  # a few buys: the ordered pass costs less than the vectors that would spare it
        screen = Screen(decided=np.zeros(len(bits), dtype=bool), bits=bits, level=static_level)
    level[first:], mask[first:] = screen.level, screen.bits
    safe = (screen.decided & (screen.level == SAFE)).tolist()
    clamps: dict[int, Decimal] = {}
    applied = first
    for offset in np.flatnonzero(~screen.decided).tolist():
        k = first + offset
        for j in range(applied, k):  # the decided SAFE buys before this one
            if safe[j - first]:
                apply_buy(run, j)
        applied = k + 1
        row_bits, row_level = quick(run, k, int(bits[offset]), int(static_level[offset])) or \
            _with_clamp(run, k, int(bits[offset]), int(static_level[offset]), clamps)
        level[k], mask[k] = row_level, row_bits
        if row_level == SAFE:
            apply_buy(run, k)
    return clamps


def _with_clamp(run: Pass, k: int, bits: int, level: int, clamps: dict[int, Decimal]) -> tuple[int, int]:
    """``classify`` for a buy some rule offers a size to: the offer is checked again at its size."""
    row_bits, row_level, offers = evaluate(run, k, run.orders.quantity[k], bits, level, screened=True)
    if offers and row_level == BORDERLINE:
        smallest = min(offers)
        _, again, _ = evaluate(run, k, smallest, bits, level, screened=False)
        if again == UNSAFE:
            return row_bits | BIT["CLAMP_NOT_SAFE"], UNSAFE
        clamps[k] = smallest
    return row_bits, row_level


def _screen(run: Pass, first: int, bits: IntArray, level: IntArray) -> Screen:
    """``risk.batch_screen`` over the buys: the ones the earlier orders cannot change, decided."""
    notional = run.orders.quantity_f[first:] * run.orders.price_base_f[first:]
    possible = np.ones(len(notional), dtype=bool)
    for _ in range(SCREEN_ROUNDS):
        found = _screen_once(run, first, bits, level, notional, possible)
        narrower = ~found.not_safe
        if (narrower == possible).all():
            break
        possible = narrower
    return found.result()


def _screen_once(run: Pass, first: int, bits: IntArray, level: IntArray, notional: FloatArray,
                 possible: BoolArray) -> Findings:
    """One screen, counting only the earlier buys that may be SAFE (``possible``)."""
    book, orders, limits, state = run.book, run.orders, run.limits, run.state
    symbols = orders.symbol[first:]
    moving = np.where(possible, notional, 0.0)
    equity, fraction = run.equity_f, limits.borderline_fraction
    earlier = np.cumsum(moving) - moving
    found = Findings(bits, level)
    position = (state.value_f[symbols] + notional) / equity
    found.range_rule(position, position, limits.max_position_weight, fraction * limits.max_position_weight,
                     "POSITION_WEIGHT_EXCEEDS_MAX", "POSITION_WEIGHT_NEAR_MAX")
    for groups, sums, limit, kind in ((book.asset_class, run.classes, limits.max_asset_class_weight, "ASSET_CLASS"),
                                      (book.sector, run.sectors, limits.max_sector_weight, "SECTOR")):
        group = groups[symbols]
        low = np.asarray(sums)[group] + notional
        found.range_rule(low / equity, (low + exclusive_group_sums(group, moving)) / equity, limit,
                         fraction * limit, f"{kind}_WEIGHT_EXCEEDS_MAX", f"{kind}_WEIGHT_NEAR_MAX")
    short = run.floor_f - run.cash_f + notional  # above 0: the cash floor is breached
    found.range_rule(short, short + earlier, 0.0, None, "CASH_BELOW_FLOOR", None, equity)
    cap = book.adv_f[symbols] * limits.max_adv_fraction
    over = np.where(np.isfinite(cap), notional - cap, -1.0)
    found.range_rule(over, over, 0.0, None, "ADV_EXCEEDS_MAX", None, np.maximum(np.nan_to_num(cap), 1.0))
    if run.large or (position >= limits.large_holding_weight - TOLERANCE).any():
        found.decided[:] = False
    count: IntArray = np.cumsum(possible) - possible
    count_rule(found, state.trades_today + 1, count, limits.max_trades_per_day, fraction, "TRADES_PER_DAY_EXCEEDED",
               "TRADES_PER_DAY_NEAR_MAX")
    count_rule(found, state.trades_this_week + 1, count, limits.max_trades_per_week, fraction,
               "TRADES_PER_WEEK_EXCEEDED", "TRADES_PER_WEEK_NEAR_MAX")
    cvar, moved = run.cvar.screened, run.cvar.bounds(moving)
    found.range_rule(cvar - moved, cvar + moved, limits.max_cvar_95, fraction * limits.max_cvar_95,
                     "CVAR_EXCEEDS_MAX", "CVAR_NEAR_MAX")
    return found
