"""Activity rules: trade budgets, the re-entry cooldown and low confidence."""

from __future__ import annotations

from datetime import timedelta

import pytest

from risk import rules_activity as r
from risk.models import Level
from tests.risk.cases import Case, check, params
from tests.risk.factories import AS_OF, context, proposal, sell

U, B = Level.UNSAFE, Level.BORDERLINE
RECENT_EXITS = {"IWM": AS_OF - timedelta(days=3), "SPY": AS_OF - timedelta(days=3)}

CASES = [
    # 10 trades a day, 30 a week; more than 80 % of either budget is BORDERLINE.
    Case(
        "11th-trade-today",
        r.trades_per_day,
        proposal(),
        "TRADES_PER_DAY_EXCEEDED",
        U,
        ctx=context(trades_today=10),
    ),
    Case(
        "9th-trade-today",
        r.trades_per_day,
        proposal(),
        "TRADES_PER_DAY_NEAR_MAX",
        B,
        ctx=context(trades_today=8),
    ),
    Case("8th-trade-today", r.trades_per_day, proposal(), None, ctx=context(trades_today=7)),
    Case("sell-after-10-today", r.trades_per_day, sell("SPY", 1), None, ctx=context(trades_today=10)),
    Case(
        "31st-trade-this-week",
        r.trades_per_week,
        proposal(),
        "TRADES_PER_WEEK_EXCEEDED",
        U,
        ctx=context(trades_this_week=30),
    ),
    Case(
        "25th-trade-this-week",
        r.trades_per_week,
        proposal(),
        "TRADES_PER_WEEK_NEAR_MAX",
        B,
        ctx=context(trades_this_week=24),
    ),
    Case("24th-trade-this-week", r.trades_per_week, proposal(), None, ctx=context(trades_this_week=23)),
    Case(
        "rebuy-3-days-after-exit",
        r.reentry_cooldown,
        proposal(),
        "REENTRY_COOLDOWN",
        B,
        ctx=context(last_exit=RECENT_EXITS),
    ),
    Case(
        "rebuy-10-days-after-exit",
        r.reentry_cooldown,
        proposal(),
        None,
        ctx=context(last_exit={"IWM": AS_OF - timedelta(days=10)}),
    ),
    Case(
        "add-to-held-after-partial-exit",
        r.reentry_cooldown,
        proposal("SPY"),
        None,
        ctx=context(last_exit=RECENT_EXITS),
    ),
    Case("never-held", r.reentry_cooldown, proposal(), None),
    Case("confidence-0.5", r.low_confidence, proposal(confidence=0.5), "LOW_CONFIDENCE", B),
    Case("confidence-0.55", r.low_confidence, proposal(confidence=0.55), None),
    Case("sell-confidence-0.1", r.low_confidence, sell("SPY", 1, confidence=0.1), None),
]


@pytest.mark.parametrize("case", params(CASES))
def test_activity_rule(case: Case) -> None:
    check(case)
