"""Sizing arithmetic of the rules policy: capped inverse-volatility weights and the budget fit.

``allocate`` scales weights ∝ ``inverse_vol`` by one factor k, clamps each at ``cap`` and then
scales down any group (asset class, then sector) above ``group_cap``; k is found by bisection as
the largest value whose total stays within ``budget``, so every cap holds and the total never
exceeds the budget (excess stays in cash). The bisection takes at most 60 steps (fewer once the
interval cannot shrink any more) over plain lists in the symbols' order, so every step does the
same float operations in the same order as a straightforward dict version; a group that cannot
exceed its cap even with every member at ``cap`` is never checked.
``fit_budget`` shaves targets that sum above the budget: first the increases, then weights above
the fresh allocation, then everything pro rata. Pure functions; they never raise on empty input.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

from broker.models import Instrument

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
    symbols = list(inverse_vol)
    values = [inverse_vol[s] for s in symbols]
    levels = _capped_groups([groups[s] for s in symbols], cap, group_cap)
    low, high = 0.0, budget / min(values)
    limit = high
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if middle == low or (middle == high and high < limit):
            break  # no float left between: ``low`` fits, a lowered ``high`` did not, the rest repeats this step
        if sum(_capped(middle, values, levels, cap, group_cap)) <= budget:
            low = middle
        else:
            high = middle
    return dict(zip(symbols, _capped(low, values, levels, cap, group_cap), strict=True))


def _capped_groups(memberships: list[tuple[str, ...]], cap: float, group_cap: float) -> list[list[list[int]]]:
    """Per level, the member positions of each group that could exceed ``group_cap``."""
    levels: list[list[list[int]]] = []
    for level in range(max(map(len, memberships))):
        members: dict[str, list[int]] = {}
        for position, names in enumerate(memberships):
            if level < len(names):
                members.setdefault(names[level], []).append(position)
        # Weights never exceed ``cap``: a group whose members at ``cap`` fit is never scaled.
        levels.append([m for m in members.values() if sum([cap] * len(m)) > group_cap])
    return levels


def _capped(k: float, values: list[float], levels: list[list[list[int]]], cap: float, group_cap: float) -> list[float]:
    """Weights ``min(cap, k·v)``, then each group above ``group_cap`` scaled down to it, level by level."""
    weights = [w if (w := k * v) < cap else cap for v in values]
    for level in levels:
        for members in level:
            total = 0.0
            for position in members:
                total += weights[position]
            if total > group_cap:
                scale = group_cap / total
                for position in members:
                    weights[position] *= scale
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


def group_names(instrument: Instrument) -> tuple[str, str]:
    """The asset class and sector groups whose weight (``allocate``'s ``groups``) and member count are capped."""
    return _group_names(instrument.asset_class, instrument.sector)


@functools.cache
def _group_names(asset_class: str, sector: str) -> tuple[str, str]:
    return f"class:{asset_class}", f"sector:{sector}"
