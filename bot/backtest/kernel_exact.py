"""Compiled: exact unsigned 128-bit sums of products, for the Decimal equity of a replayed close.

Policy: a position's value is ``units × price × rate`` in 1e-18 of the base currency, an integer
below 10**28 (the kernel leaves larger ones to Python), so it and the day's sum fit 128 bits.
They are computed in two 64-bit words with carries; Python joins them (``joined``). The fixed-point
conversion of quotes (``fixed_units``) runs here too, leaving the few values it cannot round
certainly to ``bot.backtest.fast_quotes.fixed``.
"""

from __future__ import annotations

import numpy as np

from bot.backtest.kernel_jit import cached, jit

# Relative error bounds of the float notional (a product of four integers, scaled) and cost part
# (a product over a quotient), a few roundings of 2**-53 each, with room: a float farther than that
# from a half rounds as the exact value does.
FILL_ERROR, PART_ERROR = 4e-15, 2e-15
# A position's value in 1e-18 of base below this, and the equity below this × 1e-18, keep every
# Decimal product and sum of the valuation within 28 digits, so it is exact.
DIGITS_28 = 5e27
MASK = np.uint64(0xFFFFFFFF)
SHIFT = np.uint64(32)


@jit
def _mul(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    """``a × b`` as (high, low) 64-bit words."""
    a0, a1, b0, b1 = a & MASK, a >> SHIFT, b & MASK, b >> SHIFT
    low, cross, other, high = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    middle = (low >> SHIFT) + (cross & MASK) + (other & MASK)
    return high + (cross >> SHIFT) + (other >> SHIFT) + (middle >> SHIFT), (low & MASK) | (middle << SHIFT)


@jit
def add_product(total: np.ndarray, units: int, price: int, rate: int) -> None:
    """``total += units × price × rate``; ``total`` is [high, low], the product below 2**128."""
    high, low = _mul(np.uint64(units), np.uint64(price))
    top, low = _mul(low, np.uint64(rate))
    high = high * np.uint64(rate) + top
    low = total[1] + low
    carry = np.uint64(1) if low < total[1] else np.uint64(0)
    total[0] = total[0] + high + carry
    total[1] = low


def joined(high: int, low: int) -> int:
    """The Python integer of two 64-bit words."""
    return (int(high) << 64) | int(low)


@cached
def fixed_units(values: np.ndarray, scale: float, units: np.ndarray, unsure: np.ndarray) -> bool:
    """``round(v × scale)`` of the positive values into ``units`` (0 elsewhere); ``unsure`` marks the ones
    within an ulp of a half, for an exact rounding. False when a value is too large for exact integers."""
    flat, out, doubt = values.ravel(), units.ravel(), unsure.ravel()
    for i in range(flat.size):
        value = flat[i]
        out[i], doubt[i] = 0, False
        if not (value > 0 and np.isfinite(value)):
            continue
        scaled = value * scale
        if scaled >= 2.0**52:
            return False
        whole = np.floor(scaled)
        doubt[i] = abs(scaled - whole - 0.5) <= scaled * 4.5e-16  # two ulps at least
        out[i] = np.int64(np.rint(scaled))
    return True
