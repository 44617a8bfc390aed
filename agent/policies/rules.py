"""The deterministic rules policy: trend filter, inverse-volatility weights, loss-averse pacing.

Method (same context in, same decision out; no clock, no randomness):

1. Trend: a symbol trends when close > SMA200 and SMA50 > SMA200 (close > SMA50 when SMA200 is
   unknown). Trend strength = close / SMA200 − 1 (or / SMA50); score = strength / vol60 (vol20
   when vol60 is unknown).
2. Cash target by regime: defensive 30%, balanced 15%, diversified 12%, opportunistic 10%, never
   below ``context.min_cash_weight``; the invested budget is 1 − cash target (less 0.05% so that
   float rounding can never breach the floor). Inside a sleeve (``context.sleeve``) the master
   allocator already holds the regime's cash, so the sleeve's own target is its cash floor (0).
3. Selection: held symbols that still trend keep their place (no churn at the rank boundary),
   then the best-scoring trending tradable symbols fill up to ``max_positions``, skipping one
   whose 60-day correlation with an already selected symbol exceeds ``max_pair_correlation`` or
   whose asset class or sector already has ⌈``max_group_weight`` × ``max_positions`` / budget⌉
   members (slots are not wasted on names the group cap would shrink).
4. Weights ∝ 1 / vol60 scaled to the budget, each capped at min(``max_weight``,
   0.8 × ``context.max_position_weight``) and each asset class and sector at ``max_group_weight``
   (so proposals normally stay below the risk engine's borderline band); excess stays in cash.
5. Loss aversion (λ ≈ 2.25: losses weigh more than gains, so cuts are immediate and adds gradual):
   a held symbol that lost its trend, whose unrealised loss is worse than −8%, or whose
   ``drawdown_252`` is worse than −15% is sold to 0 at once; an increase of a held position is at
   most ``add_step`` per cycle; a change smaller than ``rebalance_band`` is not proposed (held
   symbols get a HOLD at their current weight) except full exits. Targets never sum above the
   budget (buys shrink first, then in-band holds are trimmed).
6. Confidence 0.45–0.85 from trend strength (full at 20% above the long average), minus 0.10
   (+0.01 per point above 70) when RSI > 70 (overbought), within [0.4, 0.9]; weak trends
   (< 5%) and overbought names fall under the risk engine's 0.55 and need a human. Exits: 0.8.
7. Percent fields are fractions (0.05 = 5%) over a 20-day horizon, with σ₂₀ = vol60 × √(20/252):
   ``worst_case_loss_pct`` = 2.33 σ₂₀ (a positive loss), ``stop_loss_pct`` = max(5%, 2 σ₂₀),
   ``expected_upside_pct`` = half the 20-day return within [σ₂₀/4, 1.5 σ₂₀] (0 for exits).

The policy reads the day's indicators as numpy arrays (``IndicatorSet.arrays``: one row of floats
per symbol, one correlation row per candidate), never the pandas frames, so the live cycle and a
replay day run the same code, in under a millisecond a day.

Failure contract: never raises on NaN indicators (such symbols are not bought; a held one without
indicators gets a HOLD unless its loss triggers an exit); proposes only symbols of
``context.instruments``; invalid parameters raise ``ValueError`` at construction.
"""

from __future__ import annotations

import math

import numpy as np

from agent.indicators import IndicatorArrays, Regime
from agent.policies.base import HoldingView, PolicyContext
from agent.policies.rules_ideas import (
    MAX_DRAWDOWN,
    MAX_UNREALISED_LOSS,
    Signals,
    exit_reason,
    fmt_num,
    fmt_pct,
    make_idea,
    read_signals,
)
from agent.policies.rules_sizing import allocate, fit_budget, group_names
from agent.schema import PolicyDecision

CASH_TARGET = {
    Regime.DEFENSIVE: 0.30, Regime.BALANCED: 0.15, Regime.DIVERSIFIED: 0.12, Regime.OPPORTUNISTIC: 0.10,
}
BORDERLINE_SHARE = 0.8
BUDGET_MARGIN = 0.0005  # so that float sums of rounded weights never touch the cash floor
__all__ = ["CASH_TARGET", "MAX_DRAWDOWN", "MAX_UNREALISED_LOSS", "RulesPolicy"]


class RulesPolicy:
    """Trend-following, inverse-volatility, loss-averse target weights."""

    name = "rules"

    def __init__(
        self,
        max_weight: float = 0.15,
        max_positions: int = 12,
        rebalance_band: float = 0.02,
        add_step: float = 0.05,
        *,
        max_group_weight: float = 0.32,
        max_pair_correlation: float = 0.8,
    ) -> None:
        fractions = {"max_weight": max_weight, "add_step": add_step, "max_group_weight": max_group_weight,
                     "max_pair_correlation": max_pair_correlation}
        for label, value in fractions.items():
            if not 0 < value <= 1:
                raise ValueError(f"{label} must be in (0, 1], got {value}")
        if max_positions < 1 or not 0 <= rebalance_band < 1:
            raise ValueError(f"need max_positions >= 1 and rebalance_band in [0, 1), got "
                             f"{max_positions} and {rebalance_band}")
        self.max_weight, self.max_positions = max_weight, max_positions
        self.rebalance_band, self.add_step = rebalance_band, add_step
        self.max_group_weight, self.max_pair_correlation = max_group_weight, max_pair_correlation

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """One decision for the cycle (synchronous work; see ``plan``)."""
        return self.plan(context)

    def plan(self, context: PolicyContext) -> PolicyDecision:
        """The decision for ``context``."""
        arrays = context.indicators.arrays
        signals = read_signals(arrays, sorted(context.instruments))
        held = {s: h for s, h in sorted(context.holdings.items()) if s in context.instruments}
        exits = {s: r for s, h in held.items() if (r := exit_reason(h, signals.get(s))) is not None}
        # Inside a sleeve the master allocator holds the regime's cash; the sleeve invests its budget.
        regime_cash = 0.0 if context.sleeve is not None else CASH_TARGET[context.indicators.regime]
        cash_target = max(regime_cash, context.min_cash_weight)
        budget = 1 - cash_target - BUDGET_MARGIN
        cap = min(self.max_weight, context.max_position_weight * BORDERLINE_SHARE)
        per_group = math.ceil(self.max_group_weight * self.max_positions / budget)
        chosen, groups = self._select(context, arrays, signals, held, exits, per_group)
        inverse_vol = {s: 1 / signals[s].vol for s in chosen}
        raw = allocate(inverse_vol, groups, budget, cap, self.max_group_weight)
        current = {s: h.weight for s, h in held.items()}
        paced = self._band(self._pace(raw, held, exits, signals), current, exits)
        targets = fit_budget(paced, current, raw, budget)
        ideas = []
        for symbol, target in sorted(targets.items()):
            idea = make_idea(symbol, target, held.get(symbol), signals.get(symbol), exits.get(symbol), context)
            if idea is not None:
                ideas.append(idea)
        view = self._market_view(context, cash_target, signals, chosen)
        return PolicyDecision(market_view=view, proposals=ideas)

    def _select(
        self,
        context: PolicyContext,
        arrays: IndicatorArrays,
        signals: Signals,
        held: dict[str, HoldingView],
        exits: dict[str, str],
        per_group: int,
    ) -> tuple[list[str], dict[str, tuple[str, str]]]:
        """Held trending symbols first, then the best new ones (at most ``per_group`` per class or
        sector, none too correlated with one already chosen); with the groups of the chosen."""
        groups: dict[str, tuple[str, str]] = {}
        chosen: list[str] = []
        chosen_rows: list[int] = []
        members: dict[str, int] = {}
        full: set[str] = set()  # groups with ``per_group`` members
        for symbol in signals.ranked(first=held, left_out=exits):
            if len(chosen) >= self.max_positions:
                break
            instrument = context.instruments[symbol]
            if not instrument.tradable:
                continue
            symbol_groups = group_names(instrument)
            if symbol not in held and (per_group <= 0 or not full.isdisjoint(symbol_groups)):
                continue
            row = arrays.rows[symbol]
            if symbol not in held and self._too_correlated(arrays.correlations[row], chosen_rows):
                continue
            chosen.append(symbol)
            chosen_rows.append(row)
            groups[symbol] = symbol_groups
            for group in symbol_groups:
                members[group] = members.get(group, 0) + 1
                if members[group] >= per_group:
                    full.add(group)
        return chosen, groups

    def _too_correlated(self, correlations: np.ndarray, chosen_rows: list[int]) -> bool:
        """True when the candidate (``correlations``: its row of 60-day correlations) moves too much
        like a symbol already chosen; an unknown (NaN) correlation never excludes. Read item by item: a
        day has a dozen chosen at most, where numpy's gather costs more than the comparisons."""
        limit, correlation = self.max_pair_correlation, correlations.item
        return any(correlation(row) > limit for row in chosen_rows)

    def _pace(
        self,
        raw: dict[str, float],
        held: dict[str, HoldingView],
        exits: dict[str, str],
        signals: Signals,
    ) -> dict[str, float]:
        """Cuts at once, adds by at most ``add_step``; unknown held symbols keep their weight."""
        targets: dict[str, float] = {}
        for symbol in sorted(set(raw) | set(held)):
            current = held[symbol].weight if symbol in held else 0.0
            if symbol in exits:
                targets[symbol] = 0.0
            elif symbol in held and (symbol not in signals or not signals[symbol].known):
                targets[symbol] = current
            elif symbol in held and raw.get(symbol, 0.0) > current:
                targets[symbol] = min(raw[symbol], current + self.add_step)
            else:
                targets[symbol] = raw.get(symbol, 0.0)
        return targets

    def _band(
        self, targets: dict[str, float], current: dict[str, float], exits: dict[str, str]
    ) -> dict[str, float]:
        """Changes smaller than ``rebalance_band`` are dropped (the weight stays), except exits."""
        return {
            s: t if s in exits or abs(t - current.get(s, 0.0)) >= self.rebalance_band else current.get(s, 0.0)
            for s, t in targets.items()
        }

    def _market_view(
        self, context: PolicyContext, cash_target: float, signals: Signals, chosen: list[str]
    ) -> str:
        inputs = context.indicators.regime_inputs
        trending = int(signals.trending.sum())
        return (
            f"Regime {context.indicators.regime.value}: "
            f"median vol20 {fmt_pct(inputs.get('median_vol20'))}, "
            f"average 60-day correlation {fmt_num(inputs.get('avg_corr60'))}, median drawdown "
            f"{fmt_pct(inputs.get('median_drawdown_252'), '+')}; cash target {cash_target:.0%}; "
            f"{trending} of {len(signals)} symbols trending, {len(chosen)} selected."
        )
