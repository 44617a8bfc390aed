"""Compiled: the days of an array replay, from yesterday's orders to today's, on integer state.

Policy: each day fills the pending orders at the row's opens (``bot.backtest.fast_book``'s
integer arithmetic: cents, ten-thousandths of a share, prices in millionths, FX in 1e-8), values
the account at the closes, and decides the next orders (``bot.backtest.kernel_day``). A day the
kernel cannot settle exactly — a notional or cost part too near a half cent, a held symbol
without a close or an FX rate, values beyond Decimal's 28 digits, or a decision the floats
cannot tell (``STOP``) — is rolled back and returned, and the exact Python replay takes it.
Records, cash at each close and the counters are written to the arrays of ``out``, with each
close's exact positions value in 128 bits.
"""

from __future__ import annotations

import math

import numpy as np

from bot.backtest.kernel_cvar import STOP
from bot.backtest.kernel_day import classify_orders, plan_orders
from bot.backtest.kernel_exact import DIGITS_28, FILL_ERROR, PART_ERROR, add_product
from bot.backtest.kernel_jit import cached, jit
from risk.batch import BORDERLINE, SAFE

DONE, UNDECIDED = 0, 1
NOT_TRADABLE, FRACTIONAL, NO_QUOTE, NO_FX, NO_CASH, NO_POSITION = range(6)
Arrays = tuple[np.ndarray, ...]
# A fill's notional is its integer factors' product in 1e-20 cents; half a cent of that, modulo 2**64.
HALF_CENT_UNIT = np.uint64(10**20 // 2 % 2**64)


@jit
def _half_up(exact: float, error: float, numerator: np.ndarray, half_unit: np.uint64,
             denominator: float) -> tuple[int, int]:
    """``numerator / denominator`` rounded half up and half even (``exact`` is its float); STOP when Decimal must.

    ``half_unit`` is ``denominator / 2`` modulo 2**64.

    The float decides unless it lies within its error of a half. Then the exact difference between
    the numerator (the product of its integer factors, wrapped modulo 2**64) and the half's numerator
    decides, as long as it is far from 0 relative to the value, where Decimal's 28-digit rounding of
    the product could not move it across the half.
    """
    lower = math.floor(exact)
    if abs(exact - lower - 0.5) > exact * error:
        up = int(lower) + (1 if exact - lower >= 0.5 else 0)
        return up, up
    product = np.uint64(1)
    for factor in numerator:
        product = product * np.uint64(factor)
    half = np.uint64(2 * int(lower) + 1) * half_unit
    difference = np.int64(product - half)
    if difference == 0:
        return int(lower) + 1, int(lower) + int(lower) % 2
    if abs(float(difference)) <= exact * denominator * 1e-26:
        return STOP, STOP
    up = int(lower) + (1 if difference > 0 else 0)
    return up, up


@jit
def _refusal(s: int, q: int, price: int, rate: int, tradable: np.ndarray, fractional: np.ndarray) -> int:
    """Why ``SimulatedBroker.submit`` refuses an order before pricing it (its code's position), or -1."""
    if not tradable[s]:
        return NOT_TRADABLE
    if not fractional[s] and q % 10_000 != 0:
        return FRACTIONAL
    if price == 0:
        return NO_QUOTE
    if rate == 0:
        return NO_FX
    return -1


@jit
def _price(t: int, market: Arrays, static: Arrays, sim: np.ndarray, pending: Arrays,
           refused: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``fill_terms`` of each pending order: notional (half up) and commission in cents, the notional half even
    as recorded, and whether it was priced; the first cell of the notionals is STOP when Decimal must round."""
    open_units, fx_units, symbol_fx = market[1], market[2], market[3]
    p_n, p_sym, p_buy, p_units, _ = pending
    count = p_n[0]
    notional, charge = np.zeros(max(count, 1), dtype=np.int64), np.zeros(count, dtype=np.int64)
    record, priced = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.bool_)
    for j in range(count):
        s, q = p_sym[j], p_units[j]
        price, rate = open_units[t, s], fx_units[t, symbol_fx[s]]
        code = _refusal(s, q, price, rate, static[0], static[1])
        if code >= 0:
            refused[code] += 1
            continue
        factor = 10_000 + sim[0] if p_buy[j] else 10_000 - sim[0]
        cents, shown = _half_up(float(q) * price * factor * rate * 1e-20, FILL_ERROR,
                                np.array([q, price, factor, rate]), HALF_CENT_UNIT, 1e20)
        if cents == STOP:
            notional[0] = STOP
            return notional, charge, record, priced
        notional[j], charge[j], record[j], priced[j] = cents, max(sim[2], (cents * sim[1] + 5_000) // 10_000), \
            shown, True
    return notional, charge, record, priced


@jit
def _fill(s: int, q: int, buy: bool, t: int, total: int, proceeds: int, state: Arrays) -> int:
    """``SimLedger.bought`` / ``sold`` of one priced order: 1 filled, NO_CASH / NO_POSITION refused, or STOP."""
    units, cost, opened, last_exit, _, money = state
    if buy:
        if total > money[0]:
            return -NO_CASH
        if units[s] == 0:
            opened[s], cost[s] = t, total
        else:
            cost[s] += total
        units[s] += q
        money[0] -= total
        return 1
    if q > units[s]:
        return -NO_POSITION
    if q == units[s]:
        units[s], cost[s], opened[s] = 0, 0, -1
    else:
        part, _ = _half_up(float(cost[s]) * q / units[s], PART_ERROR, np.array([2 * cost[s], q]), np.uint64(units[s]),
                           2.0 * units[s])
        if part == STOP:
            return STOP
        cost[s] -= part
        units[s] -= q
    money[0] += proceeds
    last_exit[s] = t
    return 1


@jit
def execute(t: int, market: Arrays, static: Arrays, sim: np.ndarray, state: Arrays, pending: Arrays,
            out: Arrays) -> int:
    """Fill the pending orders at row ``t``'s opens, in order; 0, or STOP when a rounding needs Decimal."""
    week_fills, week_of = state[4], market[12]
    p_n, p_sym, p_buy, p_units, p_number = pending
    traded, refused, f_n, f_row, f_number, f_sym, f_buy, f_units, f_filled, f_cents = out[2:12]
    notional, charge, record, priced = _price(t, market, static, sim, pending, refused)
    if p_n[0] and notional[0] == STOP:
        return STOP
    for j in np.flatnonzero(priced):
        k = f_n[0]
        f_row[k], f_number[k], f_sym[k], f_buy[k], f_units[k] = t, p_number[j], p_sym[j], p_buy[j], p_units[j]
        f_cents[k] = record[j]
        f_n[0] += 1
        done = _fill(p_sym[j], p_units[j], p_buy[j], t, notional[j] + charge[j], notional[j] - charge[j], state)
        if done == STOP:
            return STOP
        f_filled[k] = done == 1
        if done == 1:
            traded[t] += record[j]
            week_fills[week_of[t]] += 1
        else:
            refused[-done] += 1
    return 0


@jit
def value(t: int, market: Arrays, state: Arrays, value_f: np.ndarray, exact: np.ndarray) -> float:
    """Equity at row ``t``'s closes as a float (values into ``value_f``, the positions' exact sum in 1e-18
    into ``exact``), or NaN when Decimal must do it."""
    close_units, fx_units, symbol_fx = market[0], market[2], market[3]
    units, money = state[0], state[5]
    equity, carried = money[0] * 0.01, 0.0  # summed with Neumaier's compensation: within 2 ulps of the sum
    exact[0], exact[1] = 0, 0
    for s in range(len(units)):
        value_f[s] = 0.0
        if units[s] > 0:
            price, rate = close_units[t, s], fx_units[t, symbol_fx[s]]
            if price == 0 or rate == 0:
                return math.nan
            product = float(units[s]) * price * rate
            if product >= DIGITS_28:
                return math.nan
            value_f[s] = product * 1e-18
            add_product(exact, units[s], price, rate)
            total = equity + value_f[s]
            carried += (equity - total) + value_f[s] if abs(equity) >= value_f[s] else (value_f[s] - total) + equity
            equity = total
    equity += carried
    return equity if equity < DIGITS_28 * 1e-18 else math.nan


@jit
def _decide(t: int, mode: int, market: Arrays, static: Arrays, lim: np.ndarray, state: Arrays, peak: float,
            equity: float, scratch: Arrays) -> int:
    """Row ``t``'s orders, sized and classified into ``scratch``: how many, or STOP."""
    (close_units, _, fx_units, symbol_fx, panel_close, volatility, adv_f, price_age, returns, by_symbol, blocks,
     ordinal, week_of) = market
    tradable, fractional, asset_class, sector = static
    units, cost, opened, last_exit, week_fills, money = state
    o_sym, o_buy, o_units, o_base, level, mask, clamp, value_f = scratch
    if not equity > 0:
        return STOP
    written, sells = plan_orders(t, mode, lim, equity, value_f, units, tradable, fractional, panel_close, close_units,
                                 fx_units, symbol_fx, o_sym, o_buy, o_units, o_base)
    if written == STOP:
        return STOP
    week = week_fills[week_of[min(t + 1, len(ordinal) - 1)]]
    if classify_orders(t, written, sells, lim, equity, money[0] * 0.01, peak, value_f, units, cost, opened, last_exit,
                       week, ordinal, returns, by_symbol, blocks, volatility, adv_f, price_age, tradable, fractional,
                       asset_class, sector, o_base, o_sym, o_units, level, mask, clamp) == STOP:
        return STOP
    return written


@jit
def _select(t: int, written: int, approve: bool, scratch: Arrays, pending: Arrays, out: Arrays) -> None:
    """The decision records of row ``t`` and tomorrow's orders: SAFE ones, and approved BORDERLINE ones at
    their clamp."""
    o_sym, o_buy, o_units, _, level, mask, clamp, _ = scratch
    p_n, p_sym, p_buy, p_units, p_number = pending
    d_n, d_row, d_number, d_sym, d_buy, d_units, d_level, d_mask, d_exec = out[12:21]
    chosen = 0
    for j in range(written):
        found = level[j]
        take = found == SAFE or (found == BORDERLINE and approve)
        size = clamp[j] if found == BORDERLINE and clamp[j] > 0 else o_units[j]
        k = d_n[0]
        d_row[k], d_number[k], d_sym[k], d_buy[k], d_units[k] = t, j, o_sym[j], o_buy[j], size
        d_level[k], d_mask[k], d_exec[k] = found, mask[j], take
        d_n[0] += 1
        if take and size > 0:
            p_sym[chosen], p_buy[chosen], p_units[chosen], p_number[chosen] = o_sym[j], o_buy[j], size, j
            chosen += 1
    p_n[0] = chosen


@cached
def run_days(t0: int, t1: int, last: int, mode: int, approve: bool, market: Arrays, static: Arrays,
             lim: np.ndarray, sim: np.ndarray, state: Arrays, peak: np.ndarray, pending: Arrays, out: Arrays,
             scratch: Arrays) -> tuple[int, int]:
    """Replay rows ``t0..t1-1``; the row reached and DONE, or UNDECIDED (that row is the Python's).

    The record arrays of ``out`` hold one fill and one decision per symbol and row."""
    units, cost, opened, last_exit, week_fills, money = state
    snap_exact, snap_cash, traded, refused, f_n = out[0], out[1], out[2], out[3], out[4]
    d_n, week_of = out[12], market[12]
    for t in range(t0, t1):
        saved = (units.copy(), cost.copy(), opened.copy(), last_exit.copy(), refused.copy(),
                 np.array([money[0], week_fills[week_of[t]], f_n[0], d_n[0], traded[t]]), peak[0])
        equity = math.nan
        if execute(t, market, static, sim, state, pending, out) == 0:
            equity = value(t, market, state, scratch[7], snap_exact[t])
        written = STOP
        if math.isfinite(equity):
            snap_cash[t] = money[0]
            peak[0] = max(peak[0], equity)
            if t == last:
                pending[0][0] = 0
                continue
            written = _decide(t, mode, market, static, lim, state, peak[0], equity, scratch)
        if written == STOP:  # the day as it was, for the exact replay
            units[:], cost[:], opened[:], last_exit[:], refused[:] = saved[0], saved[1], saved[2], saved[3], saved[4]
            money[0], week_fills[week_of[t]], f_n[0], d_n[0], traded[t] = saved[5]
            peak[0] = saved[6]
            return t, UNDECIDED
        _select(t, written, approve, scratch, pending, out)
    return t1, DONE
