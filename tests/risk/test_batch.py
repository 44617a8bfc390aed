"""``risk.batch.classify_day`` gives ``classify_batch``'s levels, codes and clamps, on random days.

The scenarios are the property tests' random portfolios and batches (messy ones included), made
into a day's batch: one order per symbol, sells first. ``classify_day`` may decline a day (it
returns None, and the caller uses ``classify_batch``); the days it decides must match order by order.
"""

from __future__ import annotations

import re
from pathlib import Path
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.models import Side
from risk import (
    RULES,
    batch_buys,
    classify_batch,
    engine,
    rules_activity,
    rules_data,
    rules_exposure,
    rules_market,
    rules_portfolio,
    rules_state,
)
from risk.batch import BIT, CODES, COVERED_RULES, DayVerdicts, codes_of
from risk.limits import RiskLimits
from risk.models import Level, RiskVerdict, TradeProposal
from tests.risk.batch_inputs import classify_context
from tests.risk.factories import context, proposal, sell
from tests.risk.test_properties import Scenario, scenarios

LEVELS = {0: Level.SAFE, 1: Level.BORDERLINE, 2: Level.UNSAFE}


def day_batch(proposals: list[TradeProposal]) -> list[TradeProposal]:
    """One order per symbol (the first), sells before buys, otherwise in order."""
    seen: set[str] = set()
    unique = [p for p in proposals if not (p.symbol in seen or seen.add(p.symbol))]  # type: ignore[func-returns-value]
    return sorted(unique, key=lambda p: p.side is Side.BUY)


def assert_same(verdicts: list[RiskVerdict], day: DayVerdicts) -> None:
    for row, verdict in enumerate(verdicts):
        assert LEVELS[int(day.level[row])] is verdict.level, (row, verdict.codes, day.codes(row))
        assert list(day.codes(row)) == verdict.codes, row
        clamped = verdict.clamped.quantity if verdict.clamped is not None else None
        assert day.clamp.get(row) == clamped, row
        if clamped is not None:
            assert str(day.clamp[row]) == str(clamped)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.booleans(), st.booleans())
def test_classify_day_equals_classify_batch(scenario: Scenario, loose: bool, screened: bool) -> None:
    limits = scenario.limits
    if loose:  # let most buys through, so later orders see the SAFE ones before them
        limits = RiskLimits(**{**limits.model_dump(), "max_trades_per_day": 100, "max_trades_per_week": 100})
    proposals = day_batch(scenario.proposals)
    expected = classify_batch(proposals, scenario.ctx, limits)
    # The vector screen only runs on large batches; ``screened`` runs it on these small ones too.
    with patch.object(batch_buys, "SCREEN_FROM", 0 if screened else 10**9):
        day = classify_context(proposals, scenario.ctx, limits)
    if day is not None:
        assert_same(expected, day)


def test_a_plain_day_is_decided_with_clamps_and_safe_buys_seen_by_later_ones() -> None:
    ctx = context()
    proposals = [sell("TLT", 50, pid="s1"), proposal("IWM", 90, pid="b1"), proposal("QQQ", 310, pid="b2"),
                 proposal("SPY", 125, pid="b3"), proposal("AIR.PA", 20, confidence=0.3, pid="b4")]
    limits = RiskLimits(max_cvar_95=0.05)
    expected = classify_batch(proposals, ctx, limits)
    day = classify_context(proposals, ctx, limits)
    assert day is not None
    assert_same(expected, day)
    assert [v.level for v in expected].count(Level.SAFE) >= 2
    assert any(v.clamped is not None for v in expected)


def test_a_day_it_cannot_decide_is_left_to_classify_batch() -> None:
    ctx = context()
    twice = [proposal("IWM", 10, pid="a"), proposal("IWM", 20, pid="b")]
    assert classify_context(twice, ctx, RiskLimits()) is None
    assert classify_context([proposal("ZZZ", 10)], ctx, RiskLimits()) is None
    assert classify_context([sell("SPY", 1_000)], ctx, RiskLimits()) is None


def test_every_rule_has_a_batch_counterpart_and_every_code_a_bit() -> None:
    assert {rule.__name__ for rule in RULES} == COVERED_RULES
    sources = "".join(Path(module.__file__).read_text() for module in (rules_activity, rules_data, rules_exposure,
                                                                        rules_market, rules_portfolio, rules_state,
                                                                        engine) if module.__file__)
    assert set(re.findall(r'"([A-Z][A-Z_]{3,})"', sources)) == set(CODES)


def test_codes_of_lists_codes_in_rule_order() -> None:
    assert codes_of(BIT["LOW_CONFIDENCE"] | BIT["STALE_PRICE"]) == ("STALE_PRICE", "LOW_CONFIDENCE")
