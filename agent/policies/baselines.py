"""Baseline policies: the strategies that do (almost) nothing, for backtests and benchmarks.

- ``buy_and_hold``: buy every priced, tradable instrument not held yet at an equal weight (so a
  purchase the risk engine refused or capped today is asked again tomorrow); hold every position
  forever (never rebalances, never sells).
- ``equal_weight``: every cycle, move every priced, tradable instrument back to an equal weight
  (a daily rebalance; the desk skips changes smaller than one share).

The weight of each of n instruments is ``min(max_position_weight, (1 − min_cash_weight) / n)``
so the baselines respect the same cash floor and position cap as the risk engine (they still go
through it). Confidence is 1 (a baseline is not a forecast), expected upside 0, and the worst case
is 2.33 σ over the horizon (σ from ``vol60``, 0 when unknown). Deterministic; never raises on NaN
indicators (an instrument without a close is simply not bought).
"""

from __future__ import annotations

import math

from agent.policies.base import PolicyContext
from agent.schema import Action, PolicyDecision, ProposalIdea

HORIZON_DAYS = 20


def equal_target(context: PolicyContext, count: int) -> float:
    """The weight each of ``count`` instruments gets (floored to 4 decimals)."""
    return equal_weight(count, context.max_position_weight, context.min_cash_weight)


def equal_weight(count: int, max_position_weight: float, min_cash_weight: float) -> float:
    """``equal_target`` from the two limits it reads."""
    if count == 0:
        return 0.0
    weight = min(max_position_weight, (1 - min_cash_weight) / count)
    return math.floor(weight * 10_000) / 10_000


def priced_symbols(context: PolicyContext) -> list[str]:
    """Tradable instruments of the context that have a close on this day, in universe order."""
    closes = context.indicators.table["close"]
    return [s for s, instrument in context.instruments.items()
            if instrument.tradable and s in closes.index and math.isfinite(float(closes[s]))]


def _idea(context: PolicyContext, symbol: str, action: Action, target: float, why: str) -> ProposalIdea:
    vol = float(context.indicators.table["vol60"].get(symbol, math.nan))
    sigma = vol * math.sqrt(HORIZON_DAYS / 252) if math.isfinite(vol) else 0.0
    return ProposalIdea(symbol=symbol, action=action, target_weight=target, confidence=1.0, thesis=why,
                        expected_upside_pct=0.0, worst_case_loss_pct=round(2.33 * sigma, 6),
                        time_horizon_days=HORIZON_DAYS, stop_loss_pct=None, risk_factors=[], catalysts=[],
                        exit_triggers=[])


class BuyAndHoldPolicy:
    """Buy the priced universe once at equal weights, then hold."""

    name = "buy_and_hold"

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """Hold every position; buy every priced instrument not held yet at the equal weight."""
        symbols = priced_symbols(context)
        target = equal_target(context, len(symbols))
        ideas = [_idea(context, s, Action.HOLD, min(1.0, max(0.0, h.weight)), "buy and hold: keep the position")
                 for s, h in context.holdings.items()]
        ideas += [_idea(context, s, Action.BUY, target, f"buy and hold: initial equal weight {target:.2%}")
                  for s in symbols if s not in context.holdings]
        return PolicyDecision(market_view=f"buy and hold over {len(symbols)} instruments", proposals=ideas)


class EqualWeightPolicy:
    """Rebalance the priced universe to equal weights every cycle."""

    name = "equal_weight"

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """Targets back to equal weights; sells of instruments without a price today are not forced."""
        symbols = priced_symbols(context)
        target = equal_target(context, len(symbols))
        ideas = []
        for symbol in symbols:
            held = context.holdings.get(symbol)
            current = held.weight if held is not None else 0.0
            action = Action.HOLD if abs(current - target) < 1e-9 else (Action.BUY if target > current else Action.SELL)
            ideas.append(_idea(context, symbol, action, target, f"equal weight {target:.2%}"))
        return PolicyDecision(market_view=f"equal weight over {len(ideas)} instruments", proposals=ideas)
