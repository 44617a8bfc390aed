"""Sizing arithmetic of the rules policy: capped inverse-volatility weights and the budget fit.

``allocate`` scales weights ∝ ``inverse_vol`` by one factor k, clamps each at ``cap`` and then
scales down any group (asset class, then sector) above ``group_cap``; k is found by bisection as
the largest value whose total stays within ``budget``, so every cap holds and the total never
exceeds the budget (excess stays in cash). ``fit_budget`` shaves targets that sum above the
budget: first the increases, then weights above the fresh allocation, then everything pro rata.
Pure functions over plain dicts; they never raise on empty input.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

_BISECTIONS = 60
_EPS = 1e-12


def allocate(
    inverse_vol: Mapping[str, float],
    groups: Mapping[str, tuple[str, ...]],
    budget: float,
    cap: float,
    group_cap: float,
) -> dict[str, float]:
    """Inverse-volatility weights within ``budget`` with per-symbol and per-group caps."""
    if not inverse_vol or budget <= 0:
        return {}
    low, high = 0.0, budget / min(inverse_vol.values())
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if sum(_capped(middle, inverse_vol, groups, cap, group_cap).values()) <= budget:
            low = middle
        else:
            high = middle
    return _capped(low, inverse_vol, groups, cap, group_cap)


def _capped(
    k: float, inverse_vol: Mapping[str, float], groups: Mapping[str, tuple[str, ...]], cap: float, group_cap: float
) -> dict[str, float]:
    weights = {s: min(cap, k * v) for s, v in inverse_vol.items()}
    levels = max((len(g) for g in groups.values()), default=0)
    for level in range(levels):
        totals: dict[str, float] = defaultdict(float)
        for symbol, weight in weights.items():
            totals[groups[symbol][level]] += weight
        weights = {
            s: w * min(1.0, group_cap / totals[groups[s][level]]) if totals[groups[s][level]] > 0 else w
            for s, w in weights.items()
        }
    return weights


def fit_budget(
    targets: Mapping[str, float], current: Mapping[str, float], fresh: Mapping[str, float], budget: float
) -> dict[str, float]:
    """Targets shaved to sum within ``budget``: increases first, then excess over ``fresh``, then all."""
    result = dict(targets)
    floors = (
        {s: min(t, current.get(s, 0.0)) for s, t in result.items()},
        {s: min(t, fresh.get(s, 0.0)) if s in fresh or s not in current else t for s, t in result.items()},
        dict.fromkeys(result, 0.0),
    )
    for floor in floors:
        excess = sum(result.values()) - budget
        if excess <= _EPS:
            break
        room = sum(result[s] - floor[s] for s in result)
        if room <= _EPS:
            continue
        share = min(1.0, excess / room)
        result = {s: t - share * (t - floor[s]) for s, t in result.items()}
    return result


def floor4(weight: float) -> float:
    """``weight`` rounded down to 4 decimals (a rounded weight never exceeds a cap)."""
    return math.floor(weight * 10_000 + 1e-9) / 10_000
