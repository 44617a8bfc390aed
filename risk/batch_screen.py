"""Which buys of a day the orders before them cannot change, and their findings, as vectors.

Policy: every order-dependent input of a buy only moves one way as SAFE buys before it are
applied: its asset class and sector sums grow by at most the notional of the earlier buys of that
group, cash falls by at most their total, the trade counts grow by at most their number, and the
CVaR moves by at most the sum of their bounds (``risk.batch_cvar``). A buy whose every rule gives
the same finding at both ends of those ranges, each end further than ``TOLERANCE`` from every
limit, is decided here. The rest (and every buy a rule offers a size to, whose offer needs the
exact running sums) are left to the ordered pass. A large holding, or a buy that could make one,
leaves every buy to the pass. The ranges only need the earlier buys that could be SAFE: the screen
runs again without the ones it found certainly not SAFE, while that narrows them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk.batch import BIT, BORDERLINE, TOLERANCE, UNSAFE, BoolArray, FloatArray, IntArray


@dataclass(frozen=True)
class Screen:
    """Per buy: decided here, and if so its bits and level."""

    decided: BoolArray
    bits: IntArray
    level: IntArray


def _side(value: FloatArray, limit: float, scale: float | FloatArray) -> IntArray:
    """1 above the limit, 0 below, -1 within tolerance."""
    return np.where(np.abs(value - limit) <= TOLERANCE * scale, -1, (value > limit).astype(np.int64))


class Findings:
    """The findings of the decided buys, accumulated rule by rule."""

    def __init__(self, bits: IntArray, level: IntArray) -> None:
        self.bits, self.level = bits.copy(), level.copy()
        self.decided = np.ones(len(bits), dtype=bool)
        # Certainly not SAFE, whatever the undecided rules find: a finding that fires for sure.
        self.not_safe: BoolArray = level > 0

    def range_rule(self, low: FloatArray, high: FloatArray, limit: float, near: float | None, exceeds: str,
                   near_code: str | None, scale: float | FloatArray = 1.0, *,
                   exceeds_level: int | None = None) -> None:
        """A rule firing above ``limit`` (and above ``near``), on a value somewhere in [low, high].

        ``exceeds_level`` None: exceeding the limit is a size offer, left to the ordered pass.
        """
        above = self._threshold(low, high, limit, scale)
        if exceeds_level is None:
            self.decided &= ~above
            self.not_safe |= above
        else:
            self.fire(above, exceeds, exceeds_level)
        if near is not None and near_code is not None:
            self.fire(self._threshold(low, high, near, scale) & ~above, near_code, BORDERLINE)

    def _threshold(self, low: FloatArray, high: FloatArray, threshold: float, scale: float | FloatArray) -> BoolArray:
        lo, hi = _side(low, threshold, scale), _side(high, threshold, scale)
        self.decided &= (lo == hi) & (lo >= 0)
        fires: BoolArray = (lo == 1) & (hi == 1)
        return fires

    def fire(self, where: BoolArray, code: str, level: int) -> None:
        self.bits[where] |= BIT[code]
        self.level[where] = np.maximum(self.level[where], level)
        self.not_safe |= where

    def result(self) -> Screen:
        return Screen(decided=self.decided, bits=self.bits, level=self.level)


def exclusive_group_sums(groups: IntArray, amounts: FloatArray) -> FloatArray:
    """For each row, the sum of ``amounts`` of the earlier rows of its group."""
    width = int(groups.max(initial=0)) + 1
    table = np.zeros((len(groups), width))
    table[np.arange(len(groups)), groups] = amounts
    return (np.cumsum(table, axis=0) - table)[np.arange(len(groups)), groups]


def count_rule(findings: Findings, first: int, earlier: IntArray, limit: int, fraction: float, exceeds: str,
               near: str) -> None:
    """A trade budget: the count once this trade is counted is in [first, first + earlier]."""
    low, high = first + np.zeros_like(earlier), first + earlier
    over = [(low > threshold, high > threshold) for threshold in (limit, fraction * limit)]
    for lo, hi in over:
        findings.decided &= lo == hi
    above = over[0][0] & over[0][1]
    findings.fire(above, exceeds, UNSAFE)
    findings.fire(over[1][0] & over[1][1] & ~above, near, BORDERLINE)
