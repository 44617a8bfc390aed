"""Baseline policies: the strategies that do (almost) nothing, for backtests and benchmarks.

- ``buy_and_hold``: buy every eligible instrument (``eligible_symbols``: priced, tradable, and
  not too volatile for the risk engine) not held yet at its baseline weight (so a purchase the
  risk engine refused or capped today, or one the trade pace left for later, is asked again
  tomorrow); hold every position forever (never rebalances, never sells).
- ``equal_weight``: move every eligible instrument back to its baseline weight when it has
  drifted from it by more than ``REBALANCE_BAND`` of that weight (sells first, then the largest
  gaps); a smaller drift is held, and a holding that is no longer eligible is kept.

A baseline sizes and paces itself inside the risk limits so that its buys are SAFE, not
BORDERLINE (a backtest has nobody to approve them):

- weights (``baseline_weights``): every position at most ``max_position_weight ×
  borderline_fraction``, every asset class and every sector at most ``min(max_asset_class_weight,
  max_sector_weight) × borderline_fraction`` (a group over it is scaled down, so its members weigh
  less than the others), the whole at most ``1 − min_cash_weight``; equal within those caps,
  floored to 4 decimals, so a rounded weight never crosses a cap;
- pace: at most ``min(max_trades_per_day, max_trades_per_week / 5) × borderline_fraction`` trades
  a cycle (floored, at least 1); the rest wait for the next cycles.

``sizing_note`` says this in one line for the backtest summary. The risk engine still classifies
every proposal. Confidence is 1 (a baseline is not a forecast), expected upside 0, and the worst
case is 2.33 σ over the horizon (σ from ``vol60``, 0 when unknown). Deterministic; never raises on
NaN indicators (an instrument without a close is simply not bought).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import NamedTuple

from agent.indicators import risk_volatility
from agent.policies.base import PolicyContext
from agent.policies.rules_sizing import allocate, floor4, group_names
from agent.schema import Action, PolicyDecision, ProposalIdea

HORIZON_DAYS = 20
REBALANCE_BAND = 0.2
WEEK_DAYS = 5
NAMES = ("buy_and_hold", "equal_weight")


class Caps(NamedTuple):
    """What a baseline stays within: weight per position, per asset class or sector, in total; trades a cycle."""

    position: float
    group: float
    budget: float
    trades: int


def caps(limits: Mapping[str, float]) -> Caps:
    """The caps from the ``[risk]`` limits (a missing key does not bind; the fraction then is 1)."""
    share = limits.get("borderline_fraction", 1.0)
    group = min(limits.get("max_asset_class_weight", 1.0), limits.get("max_sector_weight", 1.0))
    pace = min(limits.get("max_trades_per_day", math.inf), limits.get("max_trades_per_week", math.inf) / WEEK_DAYS)
    trades = max(1, math.floor(pace * share)) if math.isfinite(pace) else 1_000_000
    return Caps(position=limits.get("max_position_weight", 1.0) * share, group=group * share,
                budget=1 - limits.get("min_cash_weight", 0.0), trades=trades)


def context_caps(context: PolicyContext) -> Caps:
    """``caps`` of the context's limits."""
    return caps({**context.limits, "max_position_weight": context.max_position_weight,
                 "min_cash_weight": context.min_cash_weight})


def baseline_weights(context: PolicyContext, symbols: list[str]) -> dict[str, float]:
    """Equal weights of ``symbols`` within the caps (floored to 4 decimals)."""
    limit = context_caps(context)
    groups = tuple(_groups(context, s) for s in symbols)
    return dict(_equal_weights(tuple(symbols), groups, limit.budget, limit.position, limit.group))


@functools.lru_cache(maxsize=8)
def _equal_weights(symbols: tuple[str, ...], groups: tuple[tuple[str, str], ...], budget: float, position: float,
                   group: float) -> dict[str, float]:
    """``baseline_weights``' arithmetic, kept for the same inputs: a replay asks for the same weights
    nearly every day (on 498 symbols, the bisection cost about 4 ms a day). Shared: copy it."""
    raw = allocate(dict.fromkeys(symbols, 1.0), dict(zip(symbols, groups, strict=True)), budget, position, group)
    return {s: floor4(w) for s, w in raw.items()}


def sizing_note(policy: str, limits: Mapping[str, float]) -> str:
    """One line saying how the baseline ``policy`` sized and paced itself under ``limits``."""
    limit = caps(limits)
    return (f"{policy} sizes itself inside the risk limits (so its buys are SAFE): at most {limit.position:.1%} "
            f"a position, {limit.group:.1%} an asset class or sector (limits × borderline_fraction), "
            f"{limit.trades} trade(s) a day; cash at least {1 - limit.budget:.1%}"
            + (f"; buys nothing more volatile than {vol:.0%} a year" if math.isfinite(vol := _volatility_cap(limits))
               else ""))


def eligible_symbols(context: PolicyContext) -> list[str]:
    """Tradable instruments of the context that have a close on this day and whose volatility the risk
    engine passes as SAFE, in universe order.

    The volatility is the engine's (vol60, else vol20); above ``max_volatility × borderline_fraction``
    a buy is BORDERLINE or UNSAFE, so a baseline asked for it every cycle and spent its trade pace on
    refusals (an S&P 500 equal-weight desk: 120 UNSAFE and 79 BORDERLINE buys in 2015). An unknown
    volatility passes, as the engine only notes it.
    """
    closes, cap = _column(context, "close"), _volatility_cap(context.limits)
    vol60, vol20 = _column(context, "vol60"), _column(context, "vol20")
    eligible = []
    for symbol, instrument in context.instruments.items():
        if not instrument.tradable or not math.isfinite(closes.get(symbol, math.nan)):
            continue
        vol = risk_volatility(vol60.get(symbol, math.nan), vol20.get(symbol, math.nan))
        if vol is None or vol <= cap:  # unknown passes
            eligible.append(symbol)
    return eligible


def _volatility_cap(limits: Mapping[str, float]) -> float:
    """The highest volatility the engine passes as SAFE (no cap without a ``max_volatility`` limit)."""
    return limits.get("max_volatility", math.inf) * limits.get("borderline_fraction", 1.0)


def _column(context: PolicyContext, name: str) -> dict[str, float]:
    """One indicator per symbol as plain floats, read from the day's arrays (no pandas: a replay day of a
    500-symbol universe built a frame and looked each symbol up in it, 40 ms a day)."""
    arrays = context.indicators.arrays
    values = arrays.column(name).tolist()
    return {s: values[row] for s, row in arrays.rows.items()}


def _idea(context: PolicyContext, symbol: str, action: Action, target: float, why: str,
          vols: Mapping[str, float]) -> ProposalIdea:
    vol = vols.get(symbol, math.nan)
    sigma = vol * math.sqrt(HORIZON_DAYS / 252) if math.isfinite(vol) else 0.0
    return ProposalIdea(symbol=symbol, action=action, target_weight=target, confidence=1.0, thesis=why,
                        expected_upside_pct=0.0, worst_case_loss_pct=round(2.33 * sigma, 6),
                        time_horizon_days=HORIZON_DAYS, stop_loss_pct=None, risk_factors=[], catalysts=[],
                        exit_triggers=[])


def _held(context: PolicyContext, symbol: str) -> float:
    held = context.holdings.get(symbol)
    return min(1.0, max(0.0, held.weight)) if held is not None else 0.0


def _groups(context: PolicyContext, symbol: str) -> tuple[str, str]:
    return group_names(context.instruments[symbol])


def fit_buys(context: PolicyContext, buys: dict[str, float]) -> dict[str, float]:
    """Buy targets shrunk, in order, to the cash above the floor and the room left in each group's cap."""
    limit = context_caps(context)
    cash = context.cash_weight - context.min_cash_weight
    weight_of: dict[str, float] = {}
    for held in context.holdings:
        if held in context.instruments:
            for group in _groups(context, held):
                weight_of[group] = weight_of.get(group, 0.0) + _held(context, held)
    fitted = {}
    for symbol, target in buys.items():
        groups = _groups(context, symbol)
        room = min([cash, *(limit.group - weight_of.get(g, 0.0) for g in groups)])
        step = floor4(min(target - _held(context, symbol), room))
        if step <= 0:
            continue
        fitted[symbol] = _held(context, symbol) + step
        cash -= step
        for group in groups:
            weight_of[group] = weight_of.get(group, 0.0) + step
    return fitted


class BuyAndHoldPolicy:
    """Buy the priced universe once at the baseline weights, then hold."""

    name = "buy_and_hold"

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """Hold every position; buy eligible instruments not held yet (a cycle's pace of them) at their weight."""
        symbols = eligible_symbols(context)
        targets = baseline_weights(context, symbols)
        vols = _column(context, "vol60")
        ideas = [_idea(context, s, Action.HOLD, _held(context, s), "buy and hold: keep the position", vols)
                 for s in context.holdings]
        new = [s for s in symbols if s not in context.holdings and targets[s] > 0][:context_caps(context).trades]
        ideas += [_idea(context, s, Action.BUY, target, f"buy and hold: initial weight {target:.2%}", vols)
                  for s, target in fit_buys(context, {s: targets[s] for s in new}).items()]
        return PolicyDecision(market_view=f"buy and hold over {len(symbols)} instruments", proposals=ideas)


class EqualWeightPolicy:
    """Bring the priced universe back to its baseline weights when they drift."""

    name = "equal_weight"

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """Sells, then the largest drifts beyond the band, up to the pace; holdings not eligible are kept."""
        targets = baseline_weights(context, eligible_symbols(context))
        held = {s: _held(context, s) for s in targets}  # read once: every step below compares with it
        drifted = [s for s, t in targets.items() if abs(held[s] - t) > REBALANCE_BAND * t]
        drifted.sort(key=lambda s: (targets[s] > held[s], -abs(targets[s] - held[s])))
        moving = drifted[:context_caps(context).trades]
        sells = {s: targets[s] for s in moving if targets[s] < held[s]}
        changes = {**sells, **fit_buys(context, {s: targets[s] for s in moving if s not in sells})}
        ideas, vols = [], _column(context, "vol60")
        for symbol, target in targets.items():
            current = held[symbol]
            if symbol in changes:
                action = Action.BUY if changes[symbol] > current else Action.SELL
                ideas.append(_idea(context, symbol, action, changes[symbol], f"equal weight {target:.2%}", vols))
            elif symbol in context.holdings:
                ideas.append(_idea(context, symbol, Action.HOLD, current, f"equal weight {target:.2%}: held", vols))
        return PolicyDecision(market_view=f"equal weight over {len(ideas)} instruments", proposals=ideas)
