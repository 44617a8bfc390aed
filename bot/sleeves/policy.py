"""A desk divided into sleeves: each sleeve's policy decides inside its budget; one decision comes out.

Policy:

- Each sleeve owns a set of instruments (a symbol belongs to at most one; the wiring checks it),
  a policy and a budget, the share of desk equity the master allocator gives it. Its policy sees a
  context restricted to its instruments and measured in its own capital: equity × budget, its
  holdings' weights over its budget, its cash the unused part of its budget, its weight limits
  scaled to the sleeve, no cash floor of its own (the allocator keeps the desk's cash). Its targets,
  fractions of the sleeve, become desk weights (× budget), which the desk sizes and classifies as
  any decision: the risk engine then holds the whole book to the desk's limits and each sleeve's
  buys to its budget and its own limits (``risk.rules_sleeve``).
- A proposal of a sleeve's policy for a symbol outside the sleeve is dropped (OUTSIDE_SLEEVE). A
  sleeve whose policy abstains holds this cycle (its reason is in the market view); when every
  sleeve abstains, the decision abstains.
- The allocator (the rules', or an LLM's under the same bounds: ``bot.sleeves.llm_allocator``) runs
  when the decision day is ``every_days`` or more after the allocation in force (or none exists),
  from each sleeve's recorded day returns and the day's regime; every decision
  day first records each sleeve's day (``SleeveDay``) from the holdings and the day's returns.
  The same code runs live (its log in the database) and in a replay (in memory).

Failure contract: ``PolicyAbstained`` when every sleeve abstains; an allocator's ``ValueError`` and
anything a sleeve's policy raises other than ``PolicyAbstained`` propagate.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from agent.indicators import IndicatorSet
from agent.policies.base import DroppedIdea, Policy, PolicyAbstained, PolicyContext, ScreenedDecision
from agent.schema import PolicyDecision
from bot.sleeves.allocator import allocate
from bot.sleeves.bounds import Allocation, AllocatorParams, SleeveBounds
from bot.sleeves.log import AllocationLog, SleeveDay, StoredAllocation

WEIGHT_LIMITS = ("max_position_weight", "max_asset_class_weight", "max_sector_weight", "large_holding_weight")
# (sleeves, their day returns, the regime, the parameters, the budgets in force, the day's context)
#   -> (the allocation, how it was made: rules, llm or rules-fallback)
Allocator = Callable[[Sequence[SleeveBounds], Mapping[str, Sequence[float]], str, AllocatorParams,
                      Mapping[str, float] | None, PolicyContext], Awaitable[tuple[Allocation, str]]]


@dataclass(frozen=True)
class SleeveSpec:
    """One sleeve as configured."""

    bounds: SleeveBounds
    symbols: frozenset[str]
    policy: Policy
    limits: Mapping[str, float]  # its risk limits (the desk's, tightened), as the prompt shows them
    instructions: str = ""  # its mandate, added to an LLM policy's system prompt

    @property
    def name(self) -> str:
        return self.bounds.name


async def rules_allocator(sleeves: Sequence[SleeveBounds], returns: Mapping[str, Sequence[float]], regime: str,
                          params: AllocatorParams, current: Mapping[str, float] | None,
                          context: PolicyContext) -> tuple[Allocation, str]:
    """The deterministic master allocator (``bot.sleeves.allocator.allocate``)."""
    return allocate(sleeves, returns, regime, params, current), "rules"


class SleevedPolicy:
    """The master allocator over the sleeves' policies."""

    def __init__(self, sleeves: Sequence[SleeveSpec], params: AllocatorParams, log: AllocationLog, *,
                 every_days: int = 7, allocator: Allocator = rules_allocator) -> None:
        self.sleeves = tuple(sleeves)
        self.params = params
        self.log = log
        self.every_days = every_days
        self.allocator = allocator
        self.name = "sleeves"

    def with_log(self, log: AllocationLog) -> SleevedPolicy:
        """The same sleeves and allocator keeping their records in ``log`` (a fresh replay's)."""
        return SleevedPolicy(self.sleeves, self.params, log, every_days=self.every_days, allocator=self.allocator)

    def budgets(self) -> dict[str, float]:
        """The budgets in force: the latest allocation's, else the base weights."""
        latest = self.log.latest()
        if latest is not None:
            return {s.name: latest.allocation.budgets.get(s.name, 0.0) for s in self.sleeves}
        return {s.name: s.bounds.base_weight for s in self.sleeves}

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """Record the sleeves' day, allocate when due, then one decision from every sleeve's policy."""
        before = self.budgets()
        self.log.record_days(sleeve_days(self.sleeves, before, context))
        budgets = await self._allocate_if_due(context, before)
        ideas, dropped, views = [], [], []
        abstained: dict[str, str] = {}
        for spec in self.sleeves:
            budget = budgets[spec.name]
            try:
                decision = await spec.policy.decide(sleeve_context(context, spec, budget))
            except PolicyAbstained as exc:
                abstained[spec.name] = exc.reason
                continue
            views.append(f"[{spec.name} {budget:.0%}, {spec.policy.name}] {decision.market_view}")
            for idea in decision.proposals:
                if idea.symbol not in spec.symbols:
                    dropped.append(DroppedIdea(idea.symbol, "OUTSIDE_SLEEVE", f"proposed by sleeve {spec.name}"))
                    continue
                ideas.append(idea.model_copy(update={"target_weight": idea.target_weight * budget}))
            dropped.extend(getattr(decision, "dropped", []))
        if len(abstained) == len(self.sleeves):
            raise PolicyAbstained("every sleeve abstained: " + "; ".join(f"{n}: {r}" for n, r in abstained.items()))
        views += [f"[{name}] abstained: {reason}" for name, reason in abstained.items()]
        return ScreenedDecision(market_view=" ".join(views), proposals=ideas, dropped=dropped)

    async def _allocate_if_due(self, context: PolicyContext, before: dict[str, float]) -> dict[str, float]:
        latest = self.log.latest()
        if latest is not None and (context.as_of - latest.as_of).days < self.every_days:
            return before
        window = max(self.params.sharpe_window, self.params.momentum_window)
        returns = {s.name: self.log.returns(s.name, window) for s in self.sleeves}
        allocation, method = await self.allocator([s.bounds for s in self.sleeves], returns,
                                                  context.indicators.regime.value, self.params,
                                                  before if latest is not None else None, context)
        self.log.record_allocation(StoredAllocation(as_of=context.as_of, method=method, allocation=allocation))
        return {s.name: allocation.budgets.get(s.name, 0.0) for s in self.sleeves}


def sleeve_context(context: PolicyContext, spec: SleeveSpec, budget: float) -> PolicyContext:
    """The desk's context as one sleeve sees it: its instruments, in its own capital."""
    scale = 1 / budget if budget > 0 else 0.0
    holdings = {s: replace(h, weight=h.weight * scale) for s, h in context.holdings.items() if s in spec.symbols}
    invested = sum(h.weight for h in holdings.values())
    limits = {k: (min(1.0, v * scale) if k in WEIGHT_LIMITS else v) for k, v in spec.limits.items()}
    limits["min_cash_weight"] = 0.0
    return replace(
        context, instruments={s: i for s, i in context.instruments.items() if s in spec.symbols},
        equity=context.equity * budget, cash_weight=max(0.0, 1.0 - invested), holdings=holdings,
        max_position_weight=limits.get("max_position_weight", min(1.0, context.max_position_weight * scale)),
        min_cash_weight=0.0, limits=limits, sleeve=spec.name, instructions=spec.instructions,
        recent_decisions=[line for line in context.recent_decisions if _symbol_of(line) in spec.symbols],
    )


def sleeve_days(sleeves: Sequence[SleeveSpec], budgets: Mapping[str, float], context: PolicyContext) -> list[SleeveDay]:
    """Each sleeve's record of the context's day, from its holdings and the day's returns."""
    last = _last_returns(context.indicators)
    moved = {s: h.weight * r / (1 + r) for s, h in context.holdings.items()
             if (r := last.get(s)) is not None and r > -1}
    yesterday = 1 - sum(moved.values())  # yesterday's equity over today's
    out = []
    for spec in sleeves:
        budget = budgets[spec.name]
        contribution = sum(v for s, v in moved.items() if s in spec.symbols) / yesterday if yesterday > 0 else 0.0
        bench = [r for s in spec.symbols if (r := last.get(s)) is not None]
        out.append(SleeveDay(
            as_of=context.as_of, sleeve=spec.name, budget=budget, base_weight=spec.bounds.base_weight,
            weight=sum(h.weight for s, h in context.holdings.items() if s in spec.symbols),
            day_return=contribution / budget if budget > 0 else 0.0,
            benchmark_return=sum(bench) / len(bench) if bench else 0.0, contribution=contribution))
    return out


def _last_returns(indicators: IndicatorSet) -> dict[str, float]:
    """Each symbol's return on the indicators' last day (finite values only)."""
    arrays = indicators.arrays
    if arrays.returns.size == 0:
        return {}
    last = arrays.returns[-1]
    return {s: value for s, row in arrays.rows.items() if math.isfinite(value := float(last[row]))}


def _symbol_of(line: str) -> str:
    parts = line.split(" ", 2)
    return parts[1] if len(parts) > 1 else ""

