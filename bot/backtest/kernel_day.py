"""Compiled: one decision day of a baseline on arrays: the plan, its sizing and the risk batch.

Policy: ``bot.backtest.fast._Replayer._decide`` and ``risk.batch.classify_day`` in compiled form
for the days where floats decide: the plan of ``EqualWeightPolicy`` / ``BuyAndHoldPolicy``
(``array_plan``), ``size_plan``'s floor where it is certain, the sells' rules and ``project``,
the buys' own-data rules and the ordered pass (``bot.backtest.kernel_rules``). Anything the
floats cannot settle — a weight near the hold band, a size near a whole step, a comparison
within ``TOLERANCE``, a day return near the circuit breaker, an idea without a quote — returns
``STOP`` and the day is replayed by the exact Python code instead.
"""

from __future__ import annotations

import math

import numpy as np

from bot.backtest.kernel_cvar import CASH, EQUITY, MOVED, STOP, cvar, reach
from bot.backtest.kernel_jit import jit
from bot.backtest.kernel_rules import (
    COOLDOWN,
    FRACTION,
    HALT,
    LARGE,
    LARGE_HELD,
    MAX_AGE,
    MAX_DD,
    MAX_POS,
    MAX_VOL,
    MIN_CASH,
    MIN_HOLD,
    TODAY,
    WEEK,
    classify_buy,
)
from risk.batch import BIT, BORDERLINE, SAFE, TOLERANCE, UNSAFE

EQUAL_WEIGHT, BUY_AND_HOLD = 1, 0
RETURNS_ROWS, ALPHA = 252, 0.95
HOLD_BAND = 1e-9
WEIGHT_ERROR, VALUE_ERROR = 4e-15, 1e-14
UNTRADABLE, STALE, MIN_HOLDING = BIT["NOT_TRADABLE_AT_BROKER"], BIT["STALE_PRICE"], BIT["MIN_HOLDING_PERIOD"]
REDUCING, BREAKER = BIT["TRADING_REDUCING"], BIT["CIRCUIT_BREAKER"]
DD_X, DD_N = BIT["DRAWDOWN_HALTS_BUYS"], BIT["DRAWDOWN_NEAR_MAX"]
VOL_UNKNOWN, VOL_X, VOL_N = BIT["VOLATILITY_UNKNOWN"], BIT["VOLATILITY_EXCEEDS_MAX"], BIT["VOLATILITY_NEAR_MAX"]
ADV_UNKNOWN, COOLING = BIT["ADV_UNKNOWN"], BIT["REENTRY_COOLDOWN"]


@jit
def _add_scaled(p: np.ndarray, column: np.ndarray, weight: float) -> None:
    """``p += weight * column`` without a temporary."""
    for i in range(len(p)):
        p[i] += weight * column[i]


@jit
def _plan(t: int, mode: int, lim: np.ndarray, weights: np.ndarray, held: np.ndarray, tradable: np.ndarray,
          panel_close: np.ndarray) -> tuple[np.ndarray, float]:
    """``array_plan`` (BUY 1, SELL -1, nothing 0) and the equal-weight target; the plan is None near the hold band."""
    priced = tradable & np.isfinite(panel_close[t])
    count = int(priced.sum())
    target = 0.0
    if count:
        target = math.floor(min(lim[MAX_POS], (1 - lim[MIN_CASH]) / count) * 10_000) / 10_000
    plan = np.zeros(len(weights), dtype=np.int64)
    for s in range(len(weights)):
        if held[s] and abs(abs(weights[s] - target) - HOLD_BAND) < 1e-13:
            plan[0] = STOP - 1  # a weight on the hold band: the policy's own comparison must decide
            return plan, target
        if priced[s] and mode == EQUAL_WEIGHT and abs(weights[s] - target) >= HOLD_BAND:
            plan[s] = 1 if target > weights[s] else -1
        elif priced[s] and mode == BUY_AND_HOLD and not held[s]:
            plan[s] = 1
    return plan, target


@jit
def _size(gap: float, weight: float, equity: float, price_base: float, fractional: bool) -> int:
    """``size_decision``'s shares for ``gap × equity`` in units (1e-4 shares), or STOP when the floor is unsure.

    The exact size is ``(Decimal(str(target)) - Decimal(str(weight))) × equity / price_base``: its
    inputs are within WEIGHT_ERROR (absolute) and VALUE_ERROR (relative) of these floats.
    """
    raw = gap * equity / price_base * (10_000.0 if fractional else 1.0)
    whole = math.floor(raw)
    margin = raw * (WEIGHT_ERROR * max(1.0, weight) / gap + VALUE_ERROR) + 1e-9
    if not min(raw - whole, whole + 1 - raw) > margin:
        return STOP
    return int(whole) if fractional else int(whole) * 10_000


@jit
def plan_orders(t: int, mode: int, lim: np.ndarray, equity: float, value: np.ndarray, units: np.ndarray,
                tradable: np.ndarray, fractional: np.ndarray, panel_close: np.ndarray, close_units: np.ndarray,
                fx_units: np.ndarray, symbol_fx: np.ndarray, o_sym: np.ndarray, o_buy: np.ndarray,
                o_units: np.ndarray, o_base: np.ndarray) -> tuple[int, int]:
    """The sized orders (sells first), written to ``o_*``: their count and the number of sells, or STOP."""
    weights = value / equity
    plan, target = _plan(t, mode, lim, weights, units > 0, tradable, panel_close)
    if plan[0] == STOP - 1:
        return STOP, 0
    written, sells = 0, 0
    for side in (-1, 1):
        for s in np.flatnonzero(plan == side):
            k = symbol_fx[s]
            if close_units[t, s] == 0 or fx_units[t, k] == 0:
                return STOP, 0
            price_base = (close_units[t, s] / 1e6) * (fx_units[t, k] / 1e8)
            quantity = _size(abs(target - weights[s]), weights[s], equity, price_base, fractional[s])
            if quantity == STOP:
                return STOP, 0
            if side < 0:
                quantity = units[s] if target == 0 else min(quantity, units[s])
            if quantity > 0:
                o_sym[written], o_buy[written], o_units[written], o_base[written] = s, side > 0, quantity, price_base
                written += 1
                sells += int(side < 0)
    return written, sells


@jit
def _sells(t: int, sells: int, lim: np.ndarray, reducing: bool, value_f: np.ndarray, cost: np.ndarray,
           opened: np.ndarray, ordinal: np.ndarray, price_age: np.ndarray, tradable: np.ndarray, o_sym: np.ndarray,
           level: np.ndarray, mask: np.ndarray, clamp: np.ndarray) -> int:
    """``classify_sells``: data rules and the holding period of the first ``sells`` orders; 0 or STOP."""
    for j in range(sells):
        s = o_sym[j]
        bits, found = 0, SAFE
        if not tradable[s]:
            bits, found = bits | UNTRADABLE, UNSAFE
        if price_age[t, s] > lim[MAX_AGE]:
            bits, found = bits | STALE, UNSAFE
        if not reducing and opened[s] >= 0 and ordinal[t] - ordinal[opened[s]] < lim[MIN_HOLD] and cost[s] > 0:
            paid = cost[s] * 0.01
            if abs(value_f[s] - paid) <= TOLERANCE * paid:
                return STOP
            if value_f[s] > paid:
                bits, found = bits | MIN_HOLDING, max(found, BORDERLINE)
        level[j], mask[j], clamp[j] = found, bits, 0
    return 0


@jit
def _project_sells(sells: int, level: np.ndarray, o_sym: np.ndarray, o_units: np.ndarray, price_base: np.ndarray,
                   value: np.ndarray, units: np.ndarray, money: np.ndarray) -> int:
    """``project`` of the SAFE sells in order (``money`` is [equity, cash]); how many there were."""
    applied = 0
    for j in range(sells):
        if level[j] != SAFE:
            continue
        s = o_sym[j]
        notional = o_units[j] * 1e-4 * price_base[j]
        if o_units[j] == units[s]:
            sold = value[s]
            value[s], units[s] = 0.0, 0
        else:
            sold = value[s] * (o_units[j] / units[s])
            value[s] -= sold
            units[s] -= o_units[j]
        money[1] += notional
        money[0] += notional - sold
        applied += 1
    return applied


@jit
def classify_orders(t: int, n: int, sells: int, lim: np.ndarray, equity: float, cash: float, peak: float,
                    value_f: np.ndarray, units_now: np.ndarray, cost: np.ndarray, opened: np.ndarray,
                    last_exit: np.ndarray, trades_week: int, ordinal: np.ndarray, returns: np.ndarray,
                    by_symbol: np.ndarray, blocks: np.ndarray, volatility: np.ndarray, adv_f: np.ndarray,
                    price_age: np.ndarray, tradable: np.ndarray, fractional: np.ndarray, asset_class: np.ndarray,
                    sector: np.ndarray, price_base: np.ndarray, o_sym: np.ndarray, o_units: np.ndarray,
                    level: np.ndarray, mask: np.ndarray, clamp: np.ndarray) -> int:
    """``classify_batch`` of the day's orders into ``level``/``mask``/``clamp``: 0, or STOP when undecided."""
    day_return = float((value_f / equity * returns[t]).sum())
    if abs(day_return + lim[HALT]) <= 1e-9:
        return STOP
    reducing = day_return <= -lim[HALT]
    if _sells(t, sells, lim, reducing, value_f, cost, opened, ordinal, price_age, tradable, o_sym, level, mask,
              clamp) == STOP:
        return STOP
    value, units, money = value_f.copy(), units_now.copy(), np.array([equity, cash])
    applied = _project_sells(sells, level, o_sym, o_units, price_base, value, units, money)
    if n == sells:
        return 0
    rows = min(RETURNS_ROWS, t + 1)
    columns = by_symbol[:, t + 1 - rows:t + 1]  # each symbol's window of returns, contiguous
    drawdown = 0.0 if peak <= 0 else max(0.0, 1 - money[0] / peak)
    for edge in (lim[MAX_DD], lim[FRACTION] * lim[MAX_DD]):
        if abs(drawdown - edge) <= TOLERANCE:
            return STOP
    ok, classes, sectors, large, p, tail, sc, si = _pass_state(lim, money, value, units, asset_class, sector,
                                                               columns, applied, trades_week + applied)
    if not ok:
        return STOP
    for j in range(sells, n):
        s = o_sym[j]
        bits, found = _own_rules(t, s, lim, reducing, drawdown, units, last_exit, ordinal, volatility, adv_f,
                                 price_age, tradable)
        reach_s = reach(blocks, s, t + 1 - rows, t)
        bits, found, offer = classify_buy(s, o_units[j], price_base[j], bits, found, lim, value, classes, sectors,
                                          (asset_class[s], sector[s]), large, adv_f[t, s], fractional[s], columns,
                                          p, reach_s, tail, sc, si)
        if found == STOP:
            return STOP
        level[j], mask[j], clamp[j] = found, bits, offer
        if found == SAFE and not _apply_buy(s, o_units[j], price_base[j], lim, value, units, classes[asset_class[s]:],
                                            sectors[sector[s]:], large, p, columns[s], reach_s, sc, si):
            return STOP
    return 0


@jit
def _pass_state(lim: np.ndarray, money: np.ndarray, value: np.ndarray, units: np.ndarray, asset_class: np.ndarray,
                sector: np.ndarray, columns: np.ndarray, today: int,
                week: int) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """``Pass``: what the buys start from (group values, large holdings, the portfolio's returns and its
    CVaR, cash and its floor, trade counts); False first when a weight sits on the large-holding line."""
    equity, rows = money[0], columns.shape[1]
    tail = max(1, math.ceil(rows * (1 - ALPHA) - 1e-9))
    classes, sectors = np.zeros(asset_class.max() + 1), np.zeros(sector.max() + 1)
    large, p = np.zeros(len(value), dtype=np.bool_), np.zeros(rows)
    ok = True
    for s in np.flatnonzero(units > 0):
        classes[asset_class[s]] += value[s]
        sectors[sector[s]] += value[s]
        weight = value[s] / equity
        ok = ok and abs(weight - lim[LARGE]) > TOLERANCE
        large[s] = weight >= lim[LARGE]
        _add_scaled(p, columns[s], weight)
    sc = np.array([equity, money[1], lim[MIN_CASH] * equity, cvar(p, tail), 0.0])
    return ok, classes, sectors, large, p, tail, sc, np.array([today, week, int(large.sum())])


@jit
def _own_rules(t: int, s: int, lim: np.ndarray, reducing: bool, drawdown: float, units: np.ndarray,
               last_exit: np.ndarray, ordinal: np.ndarray, volatility: np.ndarray, adv_f: np.ndarray,
               price_age: np.ndarray, tradable: np.ndarray) -> tuple[int, int]:
    """``static_findings`` of one buy: the rules its own data decides (bits, level)."""
    bits, found, fraction = 0, SAFE, lim[FRACTION]
    if not tradable[s]:
        bits, found = bits | UNTRADABLE, UNSAFE
    if price_age[t, s] > lim[MAX_AGE]:
        bits, found = bits | STALE, UNSAFE
    if reducing:
        bits, found = bits | REDUCING | BREAKER, UNSAFE
    if drawdown > lim[MAX_DD]:
        bits, found = bits | DD_X, UNSAFE
    elif drawdown > fraction * lim[MAX_DD]:
        bits, found = bits | DD_N, max(found, BORDERLINE)
    vol_bits, vol_level = _volatility(volatility[t, s], lim)
    bits, found = bits | vol_bits, max(found, vol_level)
    if not math.isfinite(adv_f[t, s]):
        bits |= ADV_UNKNOWN
    if last_exit[s] >= 0 and ordinal[t] - ordinal[last_exit[s]] < lim[COOLDOWN] and units[s] <= 0:
        bits, found = bits | COOLING, max(found, BORDERLINE)
    return bits, found


@jit
def _volatility(vol: float, lim: np.ndarray) -> tuple[int, int]:
    """``volatility_limit``: unknown (a note), above the limit (UNSAFE) or near it (BORDERLINE)."""
    if not math.isfinite(vol):
        return VOL_UNKNOWN, SAFE
    if vol > lim[MAX_VOL]:
        return VOL_X, UNSAFE
    if vol > lim[FRACTION] * lim[MAX_VOL]:
        return VOL_N, BORDERLINE
    return 0, SAFE


@jit
def _apply_buy(s: int, quantity: int, price_base: float, lim: np.ndarray, value: np.ndarray, units: np.ndarray,
               class_sum: np.ndarray, sector_sum: np.ndarray, large: np.ndarray, p: np.ndarray, column: np.ndarray,
               reach_s: float, sc: np.ndarray, si: np.ndarray) -> bool:
    """``apply_buy``: a SAFE buy moves the running sums (``*_sum[0]`` is its group's); False when its new weight
    sits on the large-holding line."""
    notional = quantity * 1e-4 * price_base
    units[s] += quantity
    value[s] += notional
    sc[CASH] -= notional
    si[TODAY] += 1
    si[WEEK] += 1
    class_sum[0] += notional
    sector_sum[0] += notional
    if not large[s]:
        weight = value[s] / sc[EQUITY]
        if abs(weight - lim[LARGE]) <= TOLERANCE:
            return False
        large[s] = weight >= lim[LARGE]
        si[LARGE_HELD] += int(large[s])
    change = notional / sc[EQUITY]
    _add_scaled(p, column, change)
    sc[MOVED] += abs(change) * reach_s
    return True
