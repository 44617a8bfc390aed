"""The master allocator: each sleeve's budget (its share of desk equity), set on the sleeves' schedule.

Policy (issue 17):

1. Targets: ``target_i = base_i·k + sharpe_tilt·(S_i − mean S) + momentum_tilt·(M_i − mean M) + shift_i``.
   ``S`` is the annualised Sharpe of the sleeve's last ``sharpe_window`` finite daily returns (zero
   risk-free rate: ``bot.evaluation.metrics.sharpe``, the backtests' and reports' one Sharpe), capped to
   ±``SHARPE_CAP``; ``M`` the cumulative return of the last
   ``momentum_window``, capped to [−1, ``MOMENTUM_CAP``]. A sleeve with fewer than ``MIN_HISTORY``
   finite returns has neither (no performance tilt), a constant one (up to rounding) has no Sharpe;
   the means are over the sleeves that have the figure, so the tilts sum to zero. ``k = (1 − regime
   cash) / (1 − cash_target)`` scales the base weights to the regime's cash: defensive →
   ``defensive_cash``, opportunistic → ``opportunistic_cash`` but never below ``cash_floor`` (with the
   defaults, 5% → 10%), else ``cash_target``. ``shift``: in a defensive regime each defensive sleeve
   gains ``regime_tilt``, taken from the others pro rata to their base weights; in an opportunistic
   one the reverse; nothing when all or none of the sleeves are defensive.
2. The targets are bounded by ``bot.sleeves.bounds.settle`` (cash floor, [min, max], the step), and every
   sleeve gets one plain sentence saying how it moved and why.

Failure contract: pure and deterministic; ``ValueError`` (one line) from ``check_bounds`` for a configuration
that cannot be satisfied, and for an unknown regime. NaN/inf returns are dropped.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bot.evaluation.metrics import sharpe as annualised_sharpe
from bot.sleeves.bounds import (
    DEFENSIVE,
    OPPORTUNISTIC,
    Allocation,
    AllocatorParams,
    Figures,
    SleeveBounds,
    check_bounds,
    regime_cash,
    settle,
    starting_budgets,
)

MIN_HISTORY = 20
SHARPE_CAP, MOMENTUM_CAP = 20.0, 10.0
CONSTANT_SPREAD = 1e-9  # a daily std below this fraction of the mean return is rounding, not risk


def performance(returns: Sequence[float], params: AllocatorParams) -> Figures:
    """(annualised Sharpe, momentum) of a sleeve's daily returns; None where undefined or too short."""
    values = np.asarray(returns, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size < MIN_HISTORY:
        return None, None
    with np.errstate(all="ignore"):  # huge returns overflow to inf, which is then "undefined"
        window = values[-params.sharpe_window:]
        mean, std = float(np.mean(window)), float(np.std(window, ddof=1))
        constant = not std > CONSTANT_SPREAD * abs(mean)  # a constant series, up to rounding
        sharpe = math.nan if constant else annualised_sharpe(pd.Series(window))
        momentum = float(np.prod(1.0 + values[-params.momentum_window:])) - 1.0
    return _capped(sharpe, -SHARPE_CAP, SHARPE_CAP), _capped(momentum, -1.0, MOMENTUM_CAP)


def _capped(value: float, low: float, high: float) -> float | None:
    return min(max(value, low), high) if math.isfinite(value) else None


def allocate(sleeves: Sequence[SleeveBounds], returns: Mapping[str, Sequence[float]], regime: str,
             params: AllocatorParams, current: Mapping[str, float] | None = None) -> Allocation:
    """One rebalance: the rule-based targets, bounded (see the module docstring)."""
    check_bounds(sleeves, params)
    figures = {s.name: performance(returns.get(s.name, ()), params) for s in sleeves}
    targets, why = _targets(sleeves, figures, regime, params)
    return settle(sleeves, targets, starting_budgets(sleeves, current), regime, params, why, figures)


def _targets(sleeves: Sequence[SleeveBounds], figures: Mapping[str, Figures], regime: str,
             params: AllocatorParams) -> tuple[dict[str, float], dict[str, str]]:
    """The unbounded targets and, per sleeve, the figures and regime that set them."""
    cash = regime_cash(regime, params)
    invested = 1 - params.cash_target
    scale = (1 - cash) / invested if invested > 0 else 0.0
    targets = {s.name: s.base_weight * scale for s in sleeves}
    why: dict[str, list[str]] = {s.name: [] for s in sleeves}
    for index, label, tilt in ((0, "Sharpe", params.sharpe_tilt), (1, "momentum", params.momentum_tilt)):
        known = {name: value for name, f in figures.items() if (value := f[index]) is not None}
        mean = statistics.fmean(known.values()) if known else 0.0
        for name, value in known.items():
            targets[name] += tilt * (value - mean)
            if len(known) > 1:
                why[name].append(f"{label} {_figure(index, value)} vs mean {_figure(index, mean)}")
    shifts = _regime_shift(sleeves, regime, params)
    reasons = {}
    for s in sleeves:
        notes = [f"cash {params.cash_target:.0%} → {cash:.0%}"] if cash != params.cash_target else []
        if s.name in shifts:
            targets[s.name] += shifts[s.name][0]
            notes.append(shifts[s.name][1])
        groups = [", ".join(why[s.name]), f"{regime} regime: " + ", ".join(notes) if notes else ""]
        reasons[s.name] = "; ".join(filter(None, groups)) or (
            "no history yet" if figures[s.name] == (None, None) else "no other sleeve with history to compare with")
    return targets, reasons


def _figure(index: int, value: float) -> str:
    return f"{value:.2f}" if index == 0 else f"{value:+.1%}"


def _regime_shift(sleeves: Sequence[SleeveBounds], regime: str,
                  params: AllocatorParams) -> dict[str, tuple[float, str]]:
    """Defensive: +tilt to each defensive sleeve, pro rata from the others; opportunistic: the reverse."""
    sign = {DEFENSIVE: 1.0, OPPORTUNISTIC: -1.0}.get(regime, 0.0)
    defensive = [s for s in sleeves if s.defensive]
    others = [s for s in sleeves if not s.defensive]
    if not sign or not defensive or not others or params.regime_tilt == 0:
        return {}
    moved = sign * params.regime_tilt
    shift = {s.name: (moved, "defensive sleeves favoured" if sign > 0 else "defensive sleeves trimmed")
             for s in defensive}
    total = math.fsum(s.base_weight for s in others)
    for s in others:
        share = s.base_weight / total if total > 0 else 1 / len(others)
        shift[s.name] = (-moved * len(defensive) * share,
                         "funds the defensive sleeves" if sign > 0 else "takes from the defensive sleeves")
    return shift
