"""The allocator's bounds: the sleeves' budget ranges, the allocation's values, and the one bounding step.

Policy (issue 17): ``settle`` turns targets (the rules allocator's, ``bot.sleeves.allocator``, or an LLM's,
``bot.sleeves.allocator_llm``) into budgets, so both obey every bound by construction.

Bounds, in priority: cash ≥ ``cash_floor``; each budget in [min_i, max_i]; |after − before| ≤
``max_step``; then as close to the targets as the rest allows, with the budgets summing to 1 − regime
cash. Each sleeve gets the box [max(min_i, before_i − step), min(max_i, before_i + step)] and
``b_i = clip(target_i + μ, box_i)`` (the Euclidean projection of the targets), μ found by bisection so
that Σb hits the wanted total, or the nearest total the boxes allow: cash takes the rest, so it moves
towards a new regime's target a step at a time. The step gives way only to the stronger bounds, when
the budgets in force came from another configuration: a sleeve outside its [min, max] by more than a
step goes to the nearest bound, and when the boxes' lower ends would leave cash below the floor they
drop to the minimums; the reason says so.

Every sleeve gets one plain sentence: how it moved, what moved it (figures, regime), what held it.

Failure contract: pure and deterministic. ``check_bounds`` (run by ``allocate`` and ``settle``) raises
``ValueError`` with one line naming the sleeve or parameter when the configuration cannot be satisfied:
names not unique, not 0 ≤ min ≤ base ≤ max ≤ 1, base weights + ``cash_target`` ≠ 1 (±1e-9; so the
minimums always leave the floor), ``cash_target`` or ``defensive_cash`` below ``cash_floor``, a tilt
outside [0, 1], ``max_step`` outside (0, 1], windows too short. An unknown regime or a non-finite budget
in ``current`` is a ``ValueError`` too. Cash ≥ ``cash_floor`` holds to the 1e-9 that sum check allows.
NaN/inf returns are dropped and a budget is never NaN. Sleeves missing from ``current`` start at their
base weight; names in ``current`` that are no sleeve are ignored (their budget goes back to cash).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SUM_TOLERANCE = 1e-9
DEFENSIVE, OPPORTUNISTIC = "defensive", "opportunistic"
REGIMES = (DEFENSIVE, "diversified", OPPORTUNISTIC, "balanced")  # agent.indicators.Regime values
_BISECTIONS = 200
_SHOWN_AS_ZERO = 5e-5  # a move under half a hundredth of a point reads "unchanged"
Figures = tuple[float | None, float | None]  # (Sharpe, momentum)


@dataclass(frozen=True)
class SleeveBounds:
    """One sleeve's budget bounds: its share of desk equity at rest and its range."""

    name: str
    base_weight: float
    min_weight: float = 0.0
    max_weight: float = 1.0
    defensive: bool = False  # gains weight in a defensive regime, loses it in an opportunistic one


@dataclass(frozen=True)
class AllocatorParams:
    """How the allocator tilts and bounds the budgets (fractions of desk equity)."""

    cash_target: float = 0.10
    defensive_cash: float = 0.25
    opportunistic_cash: float = 0.05
    cash_floor: float = 0.10
    sharpe_window: int = 63
    momentum_window: int = 21
    sharpe_tilt: float = 0.05
    momentum_tilt: float = 0.25
    regime_tilt: float = 0.05
    max_step: float = 0.05


@dataclass(frozen=True)
class SleeveInputs:
    """What the allocator saw and decided for one sleeve (stored and shown)."""

    sharpe: float | None
    momentum: float | None
    before: float
    target: float
    after: float


@dataclass(frozen=True)
class Allocation:
    """The budgets of one rebalance, the cash left, and why each budget moved."""

    budgets: dict[str, float]
    cash: float
    regime: str
    inputs: dict[str, SleeveInputs]
    reasons: dict[str, str]


def check_bounds(sleeves: Sequence[SleeveBounds], params: AllocatorParams) -> None:
    """Raise ``ValueError`` (one line) when the configuration cannot be satisfied."""
    _check_params(params)
    if not sleeves:
        raise ValueError("no sleeves configured: the allocator needs at least one")
    names = [s.name for s in sleeves]
    for s in sleeves:
        if not s.name or names.count(s.name) > 1:
            raise ValueError(f"sleeve {s.name!r}: names must be non-empty and unique")
        if not all(map(math.isfinite, (s.min_weight, s.base_weight, s.max_weight))) \
                or not 0 <= s.min_weight <= s.base_weight <= s.max_weight <= 1:
            raise ValueError(f"sleeve {s.name!r}: needs 0 ≤ min_weight ≤ base_weight ≤ max_weight ≤ 1, got "
                             f"min {s.min_weight:g}, base {s.base_weight:g}, max {s.max_weight:g}")
    total = math.fsum(s.base_weight for s in sleeves) + params.cash_target
    if abs(total - 1) > SUM_TOLERANCE:
        raise ValueError(f"base weights plus cash_target sum to {total:.6g}, not 1: adjust the base weights "
                         f"or cash_target {params.cash_target:g}")
    # so the minimums leave the cash floor: Σmin ≤ Σbase = 1 − cash_target ≤ 1 − cash_floor


def _check_params(p: AllocatorParams) -> None:
    checks = (
        ("cash_floor", p.cash_floor, 0.0, 1.0, "a fraction in [0, 1)"),
        ("cash_target", p.cash_target, p.cash_floor, 1.0, "in [cash_floor, 1]"),
        ("defensive_cash", p.defensive_cash, p.cash_floor, 1.0, "in [cash_floor, 1]"),
        ("opportunistic_cash", p.opportunistic_cash, 0.0, 1.0, "in [0, 1]"),  # raised to the floor in use
        ("sharpe_tilt", p.sharpe_tilt, 0.0, 1.0, "in [0, 1]"),
        ("momentum_tilt", p.momentum_tilt, 0.0, 1.0, "in [0, 1]"),
        ("regime_tilt", p.regime_tilt, 0.0, 1.0, "in [0, 1]"),
        ("max_step", p.max_step, 0.0, 1.0, "in (0, 1]"),
    )
    for name, value, low, high, wanted in checks:
        bad_end = value == 1.0 if name == "cash_floor" else value == 0.0 and name == "max_step"
        if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high) or bad_end:
            raise ValueError(f"allocator parameter {name} must be {wanted}, got {value!r}")
    if not isinstance(p.sharpe_window, int) or p.sharpe_window < 2:
        raise ValueError(f"allocator parameter sharpe_window must be an integer ≥ 2 days, got {p.sharpe_window!r}")
    if not isinstance(p.momentum_window, int) or p.momentum_window < 1:
        raise ValueError(f"allocator parameter momentum_window must be an integer ≥ 1 day, got {p.momentum_window!r}")


def regime_cash(regime: str, params: AllocatorParams) -> float:
    """The cash target in force for a regime (``ValueError`` for an unknown regime)."""
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}: expected one of {', '.join(REGIMES)}")
    cash = {DEFENSIVE: params.defensive_cash, OPPORTUNISTIC: params.opportunistic_cash}.get(regime, params.cash_target)
    return max(cash, params.cash_floor)


def starting_budgets(sleeves: Sequence[SleeveBounds], current: Mapping[str, float] | None) -> dict[str, float]:
    """The budgets in force: ``current`` where it names the sleeve, else the base weight."""
    before = {s.name: float((current or {}).get(s.name, s.base_weight)) for s in sleeves}
    for name, value in before.items():
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"sleeve {name!r}: the budget in force must be a finite fraction ≥ 0, got {value!r}")
    return before


def settle(sleeves: Sequence[SleeveBounds], targets: Mapping[str, float], before: Mapping[str, float],
           regime: str, params: AllocatorParams, why: Mapping[str, str],
           figures: Mapping[str, Figures] | None = None) -> Allocation:
    """Bound the targets (every sleeve named) into budgets; ``why`` explains each target."""
    check_bounds(sleeves, params)
    wanted = 1 - regime_cash(regime, params)
    if not all(math.isfinite(targets[s.name]) for s in sleeves):
        raise ValueError("allocation targets must be finite numbers")
    boxes = [budget_range(s, before[s.name], params.max_step) for s in sleeves]
    lo, hi = [b[0] for b in boxes], [b[1] for b in boxes]
    relaxed = [b[2] for b in boxes]
    if math.fsum(lo) > 1 - params.cash_floor:  # budgets from another config: the floor outranks the step
        relaxed = [r or low > s.min_weight for r, low, s in zip(relaxed, lo, sleeves, strict=True)]
        lo = [min(s.min_weight, high) for s, high in zip(sleeves, hi, strict=True)]
    after = _solve([targets[s.name] for s in sleeves], lo, hi, min(max(wanted, math.fsum(lo)), math.fsum(hi)))
    budgets = {s.name: b for s, b in zip(sleeves, after, strict=True)}
    inputs, reasons = {}, {}
    for i, s in enumerate(sleeves):
        sharpe, momentum = (figures or {}).get(s.name, (None, None))
        inputs[s.name] = SleeveInputs(sharpe, momentum, before[s.name], targets[s.name], after[i])
        broke_step = relaxed[i] and abs(after[i] - before[s.name]) > params.max_step
        held = _held(s, inputs[s.name], lo[i], hi[i], broke_step, params.max_step)
        reasons[s.name] = _sentence(inputs[s.name], "; ".join(filter(None, (why.get(s.name, ""), held))))
    return Allocation(budgets, 1 - math.fsum(after), regime, inputs, reasons)


def budget_range(s: SleeveBounds, before: float, step: float) -> tuple[float, float, bool]:
    """The [lo, hi] a budget may take this rebalance, and whether the step gave way to [min, max]."""
    lo, hi = max(s.min_weight, before - step), min(s.max_weight, before + step)
    if lo <= hi:
        return lo, hi, False
    edge = s.max_weight if before > s.max_weight else s.min_weight
    return edge, edge, True


def _solve(targets: list[float], lo: list[float], hi: list[float], total: float) -> list[float]:
    """clip(target + μ, lo, hi) with the largest μ found whose sum stays ≤ total (the cash floor holds)."""
    if total <= math.fsum(lo):
        return list(lo)
    if total >= math.fsum(hi):
        return list(hi)

    def fill(mu: float) -> list[float]:
        return [min(max(t + mu, a), b) for t, a, b in zip(targets, lo, hi, strict=True)]

    low = min(a - t for t, a in zip(targets, lo, strict=True))
    high = max(b - t for t, b in zip(targets, hi, strict=True))
    for _ in range(_BISECTIONS):
        mid = (low + high) / 2
        if not low < mid < high:
            break
        if math.fsum(fill(mid)) <= total:
            low = mid
        else:
            high = mid
    result = fill(low)
    return result if math.fsum(result) <= total else list(lo)


def _held(s: SleeveBounds, x: SleeveInputs, lo: float, hi: float, relaxed: bool, step: float) -> str:
    """What held the budget short of its target, if anything."""
    if relaxed:
        return "moved more than the step: the budgets in force broke this configuration's bounds"
    if x.target > x.after + _SHOWN_AS_ZERO and x.after >= hi:
        return f"held at its max {s.max_weight:.1%}" if hi == s.max_weight else f"capped by the {step:.1%} step"
    if x.target < x.after - _SHOWN_AS_ZERO and x.after <= lo:
        return f"held at its min {s.min_weight:.1%}" if lo == s.min_weight else f"capped by the {step:.1%} step"
    if abs(x.after - x.target) > _SHOWN_AS_ZERO:  # an interior budget moved with μ: others are held
        side = "below" if x.after < x.target else "above"
        return f"{side} its {x.target:.1%} target to meet the cash target while other sleeves are held"
    return ""


def _sentence(x: SleeveInputs, why: str) -> str:
    moved = x.after - x.before
    if abs(moved) < _SHOWN_AS_ZERO:
        return f"unchanged at {x.after:.1%}: {why}"
    return f"{'raised' if moved > 0 else 'lowered'} {x.before:.1%} → {x.after:.1%}: {why}"
