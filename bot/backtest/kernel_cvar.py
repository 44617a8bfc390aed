"""Compiled: the CVaR rule of one buy and its size offer, for ``bot.backtest.kernel``.

Policy: ``risk.batch_cvar`` in compiled form. The day's true portfolio return series ``p`` moves
by ``Δw · column`` with each SAFE buy; a historical CVaR moves by at most ``|Δw| · max|column|``,
so a buy whose bound keeps its value away from both limits by more than ``CVAR_TOLERANCE`` is decided
from the last exact value, and every other one is computed exactly. A value within
``CVAR_TOLERANCE`` of a limit is undecided (``STOP``): the day goes to the exact Python replay.
"""

from __future__ import annotations

import numpy as np

from bot.backtest.kernel_jit import cached, jit
from risk.batch import BIT, BORDERLINE, EXCEEDS, SAFE, UNSAFE

STOP = -1
CVAR_X, CVAR_NEAR = BIT["CVAR_EXCEEDS_MAX"], BIT["CVAR_NEAR_MAX"]
# positions in the float scratch vector of a day
EQUITY, CASH, FLOOR, CVAR0, MOVED = 0, 1, 2, 3, 4
BLOCK = 16
# How close a CVaR may come to a limit before the kernel leaves it to Decimal. A portfolio return is
# a float sum of at most ~1,000 weighted returns (the holdings, then the day's SAFE buys), so it is
# within 1,000 ulps of the largest absolute return (0.1 here: 1e-14) of the exact sum, as is the
# rules' own (numpy's) sum; a tail mean moves by no more. 5e-14 leaves room over 2e-14.
CVAR_TOLERANCE = 5e-14


@jit
def cvar(series: np.ndarray, tail: int) -> float:
    """``historical_cvar``: minus the mean of the ``tail`` worst values."""
    return moved_cvar(series, series, 0.0, tail)


@jit
def moved_cvar(p: np.ndarray, column: np.ndarray, delta: float, tail: int) -> float:
    """The CVaR of ``p + delta × column``, in one pass keeping the ``tail`` worst values in order."""
    worst = np.empty(tail)
    kept = 0
    for i in range(len(p)):
        value = p[i] + delta * column[i]
        if kept == tail:
            if value >= worst[tail - 1]:
                continue
            kept -= 1
        at = kept
        while at > 0 and worst[at - 1] > value:
            worst[at] = worst[at - 1]
            at -= 1
        worst[at] = value
        kept += 1
    return float(-(worst[:kept].sum() / tail))


@jit
def reach(blocks: np.ndarray, symbol: int, first: int, last: int) -> float:
    """An upper bound of a symbol's largest absolute return on rows ``first..last``: how far a unit of its
    weight can move a CVaR. ``blocks[symbol, b]`` is the largest over rows ``b × BLOCK`` to the next block."""
    top = 0.0
    for block in range(first // BLOCK, last // BLOCK + 1):
        top = max(top, blocks[symbol, block])
    return top


@cached
def reach_blocks(returns: np.ndarray) -> np.ndarray:
    """``reach``'s table: each symbol's largest absolute return per block of ``BLOCK`` rows (symbols × blocks)."""
    rows, symbols = returns.shape
    blocks = np.zeros((symbols, -(-rows // BLOCK)))
    for row in range(rows):
        for s in range(symbols):
            blocks[s, row // BLOCK] = max(blocks[s, row // BLOCK], abs(returns[row, s]))
    return blocks


@jit
def refresh(p: np.ndarray, tail: int, sc: np.ndarray) -> float:
    """The true portfolio's CVaR, made the base of the bounds again."""
    sc[CVAR0] = cvar(p, tail)
    sc[MOVED] = 0.0
    return float(sc[CVAR0])


@jit
def cvar_bits(p: np.ndarray, column: np.ndarray, reach_s: float, before: float, after: float, tail: int,
              limit: float, near: float, sc: np.ndarray) -> tuple[int, int]:
    """The CVaR bit and level of a buy moving its weight from ``before`` to ``after`` (level STOP: undecided)."""
    delta = after - before
    for _ in range(2):  # from the bounds; again after measuring the true portfolio when they had moved
        spread = sc[MOVED] + abs(delta) * reach_s
        low, high = sc[CVAR0] - spread, sc[CVAR0] + spread
        if high < near - CVAR_TOLERANCE:
            return 0, SAFE
        if low > near + CVAR_TOLERANCE and high < limit - CVAR_TOLERANCE:
            return CVAR_NEAR, BORDERLINE
        if sc[MOVED] == 0:
            break
        refresh(p, tail, sc)
    value = moved_cvar(p, column, delta, tail)
    if abs(value - limit) <= CVAR_TOLERANCE or abs(value - near) <= CVAR_TOLERANCE:
        return 0, STOP
    if value > limit:
        now = refresh(p, tail, sc)
        if abs(now - limit) <= CVAR_TOLERANCE:
            return 0, STOP
        return CVAR_X, UNSAFE if now > limit else EXCEEDS
    if value > near:
        return CVAR_NEAR, BORDERLINE
    return 0, SAFE


@jit
def cvar_offer(p: np.ndarray, column: np.ndarray, weight: float, value: float, price_base: float, equity: float,
               asked: int, step: int, tail: int, limit: float) -> int:
    """``cvar_clamp`` in units (1e-4 shares): bisection over whole steps; STOP when a value is too close."""
    lo, hi = 0, asked // step
    while lo < hi:
        mid = (lo + hi + 1) // 2
        after = (value + mid * step * 1e-4 * price_base) / equity
        measured = moved_cvar(p, column, after - weight, tail)
        if abs(measured - limit) <= CVAR_TOLERANCE:
            return STOP
        if measured <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo * step
