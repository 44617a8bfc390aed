"""The sleeved policy: each sleeve decides in its own capital, inside its budget; the allocator on schedule."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from agent.indicators import IndicatorSet
from agent.policies.base import HoldingView, PolicyAbstained, PolicyContext, ScreenedDecision
from agent.schema import Action, PolicyDecision, ProposalIdea
from bot.sleeves.bounds import AllocatorParams, SleeveBounds
from bot.sleeves.log import MemoryAllocationLog
from bot.sleeves.policy import SleevedPolicy, SleeveSpec, sleeve_context, sleeve_days
from tests.agent.factories import AS_OF, context, row


def idea(symbol: str, weight: float, action: Action = Action.BUY) -> ProposalIdea:
    return ProposalIdea(symbol=symbol, action=action, target_weight=weight, confidence=0.8, thesis="t",
                        expected_upside_pct=0.05, worst_case_loss_pct=0.04, time_horizon_days=10,
                        stop_loss_pct=None, risk_factors=[], catalysts=[], exit_triggers=[])


@dataclass
class Scripted:
    """A policy that answers with fixed ideas and keeps the contexts it saw (or abstains)."""

    ideas: list[ProposalIdea]
    abstain: str | None = None
    name: str = "scripted"
    seen: list[PolicyContext] = field(default_factory=list)

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        self.seen.append(context)
        if self.abstain:
            raise PolicyAbstained(self.abstain)
        return PolicyDecision(market_view=f"view of {len(context.instruments)}", proposals=self.ideas)


def spec(name: str, symbols: set[str], policy: Scripted, base: float, **limits: float) -> SleeveSpec:
    return SleeveSpec(bounds=SleeveBounds(name=name, base_weight=base, min_weight=0.1, max_weight=0.9),
                      symbols=frozenset(symbols), policy=policy,
                      limits={"max_position_weight": 0.25, "min_cash_weight": 0.10, **limits},
                      instructions=f"mandate of {name}")


def desk_context(returns: dict[str, float] | None = None, holdings: dict[str, float] | None = None) -> PolicyContext:
    """Four instruments; ``returns``: the last day's return per symbol; ``holdings``: desk weights."""
    base = context({s: row() for s in ("A", "B", "C", "D")},
                   holdings={s: HoldingView(s, w, 0.0) for s, w in (holdings or {}).items()})
    if returns is None:
        return base
    frame = pd.DataFrame([[returns.get(s, 0.0) for s in ("A", "B", "C", "D")]], columns=["A", "B", "C", "D"],
                         index=pd.DatetimeIndex([pd.Timestamp(AS_OF)]))
    ind = base.indicators
    indicators = IndicatorSet(as_of=AS_OF, table=ind.table, correlations=ind.correlations, returns=frame,
                              regime=ind.regime, regime_inputs=ind.regime_inputs)
    return replace(base, indicators=indicators)


PARAMS = AllocatorParams(cash_target=0.1, cash_floor=0.1, defensive_cash=0.25, opportunistic_cash=0.1)


def test_a_sleeve_sees_its_instruments_in_its_own_capital() -> None:
    ctx = desk_context(holdings={"A": 0.20, "C": 0.30})
    seen = sleeve_context(ctx, spec("us", {"A", "B"}, Scripted([]), 0.4), 0.4)
    assert set(seen.instruments) == {"A", "B"}
    assert seen.holdings["A"].weight == pytest.approx(0.5) and "C" not in seen.holdings
    assert seen.equity == pytest.approx(40_000.0)
    assert seen.cash_weight == pytest.approx(0.5)
    assert seen.max_position_weight == pytest.approx(0.625)  # 25 % of the desk is 62.5 % of a 40 % sleeve
    assert seen.limits["max_position_weight"] == pytest.approx(0.625)
    assert seen.min_cash_weight == 0.0 and seen.limits["min_cash_weight"] == 0.0
    assert (seen.sleeve, seen.instructions) == ("us", "mandate of us")


def test_targets_become_desk_weights_and_strays_are_dropped() -> None:
    us = Scripted([idea("A", 0.5), idea("C", 0.3)])  # C is not the us sleeve's
    gold = Scripted([idea("C", 1.0)])
    policy = SleevedPolicy([spec("us", {"A", "B"}, us, 0.6), spec("gold", {"C", "D"}, gold, 0.3)], PARAMS,
                           MemoryAllocationLog())
    decision = asyncio.run(policy.decide(desk_context()))
    assert isinstance(decision, ScreenedDecision)
    assert {(i.symbol, round(i.target_weight, 6)) for i in decision.proposals} == {("A", 0.3), ("C", 0.3)}
    assert [(d.symbol, d.code) for d in decision.dropped] == [("C", "OUTSIDE_SLEEVE")]
    assert "[us 60%, scripted]" in decision.market_view and "[gold 30%, scripted]" in decision.market_view


def test_one_sleeve_abstaining_holds_that_sleeve_only() -> None:
    policy = SleevedPolicy([spec("us", {"A"}, Scripted([idea("A", 0.5)]), 0.6),
                            spec("gold", {"C"}, Scripted([], abstain="model down"), 0.3)], PARAMS,
                           MemoryAllocationLog())
    decision = asyncio.run(policy.decide(desk_context()))
    assert [i.symbol for i in decision.proposals] == ["A"]
    assert "[gold] abstained: model down" in decision.market_view


def test_every_sleeve_abstaining_is_an_abstention() -> None:
    policy = SleevedPolicy([spec("us", {"A"}, Scripted([], abstain="x"), 0.6),
                            spec("gold", {"C"}, Scripted([], abstain="y"), 0.3)], PARAMS, MemoryAllocationLog())
    with pytest.raises(PolicyAbstained, match="every sleeve abstained: us: x; gold: y"):
        asyncio.run(policy.decide(desk_context()))


def test_the_allocator_runs_on_its_schedule() -> None:
    log = MemoryAllocationLog()
    policy = SleevedPolicy([spec("us", {"A"}, Scripted([]), 0.6), spec("gold", {"C"}, Scripted([]), 0.3)], PARAMS,
                           log, every_days=7)
    ctx = desk_context()
    for days in (0, 1, 6, 7, 8, 14):
        asyncio.run(policy.decide(replace(ctx, as_of=AS_OF + timedelta(days=days))))
    assert [a.as_of for a in log.allocations()] == [AS_OF, AS_OF + timedelta(days=7), AS_OF + timedelta(days=14)]
    assert len(log.days()) == 12  # two sleeves a day
    assert policy.budgets() == log.allocations()[-1].allocation.budgets


def test_a_sleeves_day_is_its_holdings_pnl_over_its_budget() -> None:
    """A at 20 % of the desk rises 10 %, C at 10 % falls 5 %: P&L over yesterday's equity and the budgets."""
    ctx = desk_context(returns={"A": 0.10, "B": 0.02, "C": -0.05, "D": 0.01}, holdings={"A": 0.20, "C": 0.10})
    specs = [spec("us", {"A", "B"}, Scripted([]), 0.5), spec("gold", {"C", "D"}, Scripted([]), 0.4)]
    us, gold = sleeve_days(specs, {"us": 0.5, "gold": 0.4}, ctx)
    pnl_a, pnl_c = 0.20 * 0.10 / 1.10, 0.10 * -0.05 / 0.95  # today's weight × r / (1 + r)
    yesterday = 1 - pnl_a - pnl_c
    assert us.contribution == pytest.approx(pnl_a / yesterday)
    assert us.day_return == pytest.approx(pnl_a / yesterday / 0.5)
    assert us.benchmark_return == pytest.approx(0.06)
    assert gold.contribution == pytest.approx(pnl_c / yesterday)
    assert gold.benchmark_return == pytest.approx(-0.02)
    assert us.weight == pytest.approx(0.2)
    assert gold.weight == pytest.approx(0.1)
    assert np.isclose(us.contribution + gold.contribution, (pnl_a + pnl_c) / yesterday)


def test_a_day_recorded_again_replaces_the_first() -> None:
    log = MemoryAllocationLog()
    policy = SleevedPolicy([spec("us", {"A"}, Scripted([]), 0.9)], PARAMS, log)
    asyncio.run(policy.decide(desk_context(returns={"A": 0.01}, holdings={"A": 0.3})))
    asyncio.run(policy.decide(desk_context(returns={"A": 0.02}, holdings={"A": 0.3})))
    assert len(log.days()) == 1
    assert log.returns("us", 10) == [log.days()[0].day_return]
    assert log.days()[0].day_return == pytest.approx(0.3 * 0.02 / 1.02 / (1 - 0.3 * 0.02 / 1.02) / 0.9)
