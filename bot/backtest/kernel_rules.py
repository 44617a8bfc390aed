"""Compiled: one buy of the ordered pass against the day's running sums, with the sizes offered.

Policy: ``risk.batch_evaluate`` (and ``batch_quick``, which decides its common case the same way)
in compiled form, over the float mirrors of the running sums: position, asset-class and sector
weights, the cash floor, correlation with a large holding, ADV, the trade budgets and CVaR
(``bot.backtest.kernel_cvar``). A finding whose level depends on an offer (EXCEEDS) gets the
offer of its rule's helper (``weight_clamp``, ``cash_clamp``, ``adv_clamp``, ``cvar_clamp``)
computed in floats, in ten-thousandths of a share. Every comparison that lies within
``TOLERANCE`` of its limit, and every floor of an estimate that lies near a whole step, makes the
buy undecided (``STOP``): the Decimal rules could decide it either way.
"""

from __future__ import annotations

import math

import numpy as np

from bot.backtest.kernel_cvar import CASH, EQUITY, FLOOR, STOP, cvar_bits, cvar_offer
from bot.backtest.kernel_jit import jit
from risk.batch import BIT, BORDERLINE, EXCEEDS, SAFE, TOLERANCE, UNSAFE

# positions in the limits vector
(MAX_POS, MAX_CLASS, MAX_SECTOR, MIN_CASH, MAX_DD, HALT, MAX_VOL, MAX_CORR, LARGE, MAX_ADV, PER_DAY, PER_WEEK,
 MIN_HOLD, COOLDOWN, MAX_CVAR, FRACTION, MAX_AGE) = range(17)
TODAY, WEEK, LARGE_HELD = 0, 1, 2  # positions in the int scratch vector of a day
POSITION, CLASS, SECTOR, CASH_FLOOR, ADV, CVAR = range(6)  # the rules that offer sizes
X_BITS = (BIT["POSITION_WEIGHT_EXCEEDS_MAX"], BIT["ASSET_CLASS_WEIGHT_EXCEEDS_MAX"], BIT["SECTOR_WEIGHT_EXCEEDS_MAX"])
N_BITS = (BIT["POSITION_WEIGHT_NEAR_MAX"], BIT["ASSET_CLASS_WEIGHT_NEAR_MAX"], BIT["SECTOR_WEIGHT_NEAR_MAX"])
CASH_X, ADV_X, CORRELATED = BIT["CASH_BELOW_FLOOR"], BIT["ADV_EXCEEDS_MAX"], BIT["CORRELATED_WITH_HOLDING"]
DAY_X, DAY_N = BIT["TRADES_PER_DAY_EXCEEDED"], BIT["TRADES_PER_DAY_NEAR_MAX"]
WEEK_X, WEEK_N = BIT["TRADES_PER_WEEK_EXCEEDED"], BIT["TRADES_PER_WEEK_NEAR_MAX"]
CORRELATION_ROWS = 60
VALUE_ERROR = 1e-12
ADV_ROUNDING = 5e-7
CLAMP_NOT_SAFE = BIT["CLAMP_NOT_SAFE"]
UNSURE = -9.0  # a correlation floats cannot settle


@jit
def correlation(tail: np.ndarray, a: int, b: int) -> float:
    """``np.corrcoef`` of two symbols' returns (rows of ``tail``): NaN when either is all zeros or there are
    fewer than 2 rows, UNSURE when a variance is too small a part of its raw moment for floats to agree."""
    if tail.shape[1] < 2:
        return math.nan
    x, y = tail[a], tail[b]
    raw_x, raw_y = float((x * x).sum()), float((y * y).sum())
    if raw_x == 0 or raw_y == 0:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float((dx * dx).sum()), float((dy * dy).sum())
    if sxx <= 1e-12 * raw_x or syy <= 1e-12 * raw_y:
        return UNSURE
    value = float((dx * dy).sum()) / math.sqrt(sxx * syy)
    return min(1.0, max(-1.0, value))


@jit
def correlated(s: int, large: np.ndarray, tail: np.ndarray, limit: float) -> int:
    """1 when the buy moves with a large holding beyond ``limit``, 0 when not, STOP when too close."""
    for other in np.flatnonzero(large):
        if other == s:
            continue
        value = correlation(tail, s, int(other))
        if value == UNSURE:
            return STOP
        if math.isfinite(value):
            if abs(value - limit) <= TOLERANCE:
                return STOP
            if value > limit:
                return 1
    return 0


@jit
def _steps(estimate: float, error: float, step: int, asked: int) -> int:
    """``min(floor_quantity(estimate), asked)`` in steps (``estimate`` within ``error``); STOP - 1 when unsure."""
    size = step * 1e-4
    steps, margin = estimate / size, error / size + 1e-12 * abs(estimate / size)
    if steps - margin >= asked:
        return asked
    whole = math.floor(steps)
    if steps - whole <= margin or whole + 1 - steps <= margin:
        return STOP - 1
    return min(int(whole), asked)


@jit
def _fits(kind: int, units: int, price_base: float, current: float, limit: float, sc: np.ndarray) -> int:
    """The rule's ``fits``: 1 or 0, STOP when the float is within tolerance of the limit."""
    notional = units * 1e-4 * price_base
    if kind == CASH_FLOOR:
        gap, scale = sc[CASH] - notional - sc[FLOOR], max(sc[EQUITY], 1.0)
        return STOP if abs(gap) <= TOLERANCE * scale else int(gap >= 0)
    if kind == ADV:  # ``limit`` is how far the float cap may be from the rule's (its ADV's rounding)
        gap, scale = current - notional, max(current, 1.0)
        return STOP if abs(gap) <= TOLERANCE * scale + limit else int(gap >= 0)
    weight = (current + notional) / sc[EQUITY]
    return STOP if abs(weight - limit) <= TOLERANCE else int(weight <= limit)


@jit
def largest_fitting(kind: int, asked: int, step: int, price_base: float, current: float, limit: float,
                    sc: np.ndarray) -> int:
    """``weight_clamp`` / ``cash_clamp`` / ``adv_clamp``: ``current`` is the group's value and ``limit`` its
    weight limit, or ``current`` is the ADV cap and ``limit`` how far it may be from the rule's."""
    # The float sums behind the estimate are within VALUE_ERROR of their magnitude (group sums of many
    # values, cash moved by the day's sells): the estimate is within that of their total, over the price.
    if kind == CASH_FLOOR:
        estimate, scale = (sc[CASH] - sc[FLOOR]) / price_base, abs(sc[CASH]) + sc[FLOOR] + sc[EQUITY]
    elif kind == ADV:
        estimate, scale = current / price_base, current + limit / VALUE_ERROR
    else:
        estimate, scale = (limit * sc[EQUITY] - current) / price_base, limit * sc[EQUITY] + abs(current)
    steps = _steps(estimate, VALUE_ERROR * scale / price_base, step, asked // step)
    if steps == STOP - 1:
        return STOP
    for _ in range(3):
        if steps <= 0:
            return 0
        fit = _fits(kind, steps * step, price_base, current, limit, sc)
        if fit == STOP:
            return STOP
        if fit:
            return steps * step
        steps -= 1
    return 0


@jit
def _exposure(s: int, group: tuple[int, int], notional: float, lim: np.ndarray, value: np.ndarray,
              classes: np.ndarray, sectors: np.ndarray, sc: np.ndarray, exceeding: np.ndarray) -> tuple[int, int]:
    """Position, asset-class and sector weights and the cash floor: bits and level (EXCEEDS in ``exceeding``)."""
    bits, level, equity = 0, SAFE, sc[EQUITY]
    currents = (value[s], classes[group[0]], sectors[group[1]])
    limits = (lim[MAX_POS], lim[MAX_CLASS], lim[MAX_SECTOR])
    for kind in range(3):
        after = (currents[kind] + notional) / equity
        near = lim[FRACTION] * limits[kind]
        if abs(after - limits[kind]) <= TOLERANCE or abs(after - near) <= TOLERANCE:
            return bits, STOP
        if after > limits[kind]:
            bits |= X_BITS[kind]
            exceeding[kind] = True
        elif after > near:
            bits, level = bits | N_BITS[kind], BORDERLINE
    short = sc[FLOOR] - (sc[CASH] - notional)
    if abs(short) <= TOLERANCE * equity:
        return bits, STOP
    if short > 0:
        bits |= CASH_X
        exceeding[CASH_FLOOR] = True
    return bits, level


@jit
def _activity(s: int, notional: float, adv_f: float, screened: bool, lim: np.ndarray, large: np.ndarray,
              columns: np.ndarray, si: np.ndarray, exceeding: np.ndarray) -> tuple[int, int]:
    """Correlation with a large holding, ADV and the trade budgets: bits and level."""
    bits, level = 0, SAFE
    if si[LARGE_HELD]:
        found = correlated(s, large, columns[:, -CORRELATION_ROWS:], lim[MAX_CORR])
        if found == STOP:
            return bits, STOP
        if found:
            bits, level = bits | CORRELATED, BORDERLINE
    if math.isfinite(adv_f):
        # Screened, the rule compares with the float ADV; at a clamped size, with the ADV rounded to 6
        # decimals (``decimal_6``), within ADV_ROUNDING of it.
        cap = adv_f * lim[MAX_ADV]
        if abs(notional - cap) <= TOLERANCE * max(cap, 1.0) + (0.0 if screened else adv_slack(adv_f, lim)):
            return bits, STOP
        if notional > cap:
            bits |= ADV_X
            exceeding[ADV] = True
    for count, budget, x_bit, n_bit in ((si[TODAY] + 1, lim[PER_DAY], DAY_X, DAY_N),
                                        (si[WEEK] + 1, lim[PER_WEEK], WEEK_X, WEEK_N)):
        if count > budget:
            bits, level = bits | x_bit, UNSAFE
        elif count > lim[FRACTION] * budget:
            bits, level = bits | n_bit, max(level, BORDERLINE)
    return bits, level


@jit
def adv_slack(adv_f: float, lim: np.ndarray) -> float:
    """How far the float ADV cap may lie from the rule's, whose ADV is rounded to 6 decimals."""
    return float((ADV_ROUNDING + 1e-15 * adv_f) * lim[MAX_ADV])


@jit
def _offer(kind: int, s: int, group: tuple[int, int], units: int, step: int, price_base: float, adv_f: float,
           lim: np.ndarray, value: np.ndarray, classes: np.ndarray, sectors: np.ndarray, columns: np.ndarray,
           p: np.ndarray, tail: int, sc: np.ndarray) -> int:
    """The size (units) the rule behind an EXCEEDS finding offers, or STOP."""
    if kind == CVAR:
        return cvar_offer(p, columns[s], value[s] / sc[EQUITY], value[s], price_base, sc[EQUITY], units, step, tail,
                          lim[MAX_CVAR])
    if kind == ADV:
        return largest_fitting(ADV, units, step, price_base, adv_f * lim[MAX_ADV], adv_slack(adv_f, lim), sc)
    if kind == CASH_FLOOR:
        return largest_fitting(CASH_FLOOR, units, step, price_base, 0.0, 0.0, sc)
    current = (value[s], classes[group[0]], sectors[group[1]])[kind]
    limit = (lim[MAX_POS], lim[MAX_CLASS], lim[MAX_SECTOR])[kind]
    return largest_fitting(kind, units, step, price_base, current, limit, sc)


@jit
def evaluate(s: int, units: int, price_base: float, bits: int, level: int, screened: bool, lim: np.ndarray,
             value: np.ndarray, classes: np.ndarray, sectors: np.ndarray, group: tuple[int, int],
             large: np.ndarray, adv_f: float, fractional: bool, columns: np.ndarray, p: np.ndarray,
             reach_s: float, tail: int, sc: np.ndarray, si: np.ndarray) -> tuple[int, int, int]:
    """Bits, level and the smallest offer (units, 0 when none) of a buy of ``units``; level STOP: undecided."""
    notional = units * 1e-4 * price_base
    exceeding = np.zeros(6, dtype=np.bool_)
    limit = lim[MAX_CVAR]
    found = (_exposure(s, group, notional, lim, value, classes, sectors, sc, exceeding),
             _activity(s, notional, adv_f, screened, lim, large, columns, si, exceeding),
             cvar_bits(p, columns[s], reach_s, value[s] / sc[EQUITY], (value[s] + notional) / sc[EQUITY], tail,
                       limit, lim[FRACTION] * limit, sc))
    for k in range(3):
        if found[k][1] == STOP:
            return bits, STOP, 0
        bits |= found[k][0]
        if found[k][1] == EXCEEDS:
            exceeding[CVAR] = True
        else:
            level = max(level, found[k][1])
    if not exceeding.any() or level == UNSAFE:
        return bits, level, 0
    smallest = -1
    for kind in np.flatnonzero(exceeding):
        offer = _offer(int(kind), s, group, units, 1 if fractional else 10_000, price_base, adv_f, lim, value, classes,
                       sectors, columns, p, tail, sc)
        if offer == STOP:
            return bits, STOP, 0
        smallest = offer if smallest < 0 else min(smallest, offer)
    if smallest <= 0:
        return bits, UNSAFE, 0
    return bits, max(level, BORDERLINE), smallest


@jit
def classify_buy(s: int, units: int, price_base: float, bits: int, level: int, lim: np.ndarray, value: np.ndarray,
                 classes: np.ndarray, sectors: np.ndarray, group: tuple[int, int], large: np.ndarray,
                 adv_f: float, fractional: bool, columns: np.ndarray, p: np.ndarray, reach_s: float, tail: int,
                 sc: np.ndarray, si: np.ndarray) -> tuple[int, int, int]:
    """``classify`` of one buy: bits, level (STOP: undecided) and the clamp offered (units, 0 when none).

    A buy offered a size is classified again at it; UNSAFE there makes it CLAMP_NOT_SAFE.
    """
    bits, found, offer = evaluate(s, units, price_base, bits, level, True, lim, value, classes, sectors, group,
                                  large, adv_f, fractional, columns, p, reach_s, tail, sc, si)
    if found != BORDERLINE or offer == 0:
        return bits, found, 0
    _, again, _ = evaluate(s, offer, price_base, bits, level, False, lim, value, classes, sectors, group, large,
                           adv_f, fractional, columns, p, reach_s, tail, sc, si)
    if again == STOP:
        return bits, STOP, 0
    if again == UNSAFE:
        return bits | CLAMP_NOT_SAFE, UNSAFE, 0
    return bits, BORDERLINE, offer
