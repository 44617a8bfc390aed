"""The sleeve rule, sleeve limits that only tighten, and classification under a sleeve's limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk import classify, classify_batch
from risk import rules_sleeve as r
from risk.limits import RiskLimits
from risk.models import Level, Sleeve, SleeveBook
from tests.risk.cases import Case, check, params
from tests.risk.factories import context, limits, proposal, sell

U, B = Level.UNSAFE, Level.BORDERLINE


def sleeved(budget: float = 0.20, sleeve_limits: RiskLimits | None = None) -> SleeveBook:
    """US equity (SPY at 10 %, IWM) under ``budget``; gold and Paris in their own sleeves; TLT in none."""
    return SleeveBook((Sleeve("us", frozenset({"SPY", "IWM"}), budget, sleeve_limits),
                       Sleeve("gold", frozenset({"GLD"}), 0.30),
                       Sleeve("paris", frozenset({"MC.PA", "AIR.PA"}), 0.30)))


# Equity 100,000; IWM costs 50 (100 shares are 5 %); SPY holds 10 % of the "us" sleeve's 20 %.
CASES = [
    Case("sleeve-within-budget", r.sleeve_budget, proposal("IWM", 100), None, ctx=context(sleeves=sleeved())),
    Case("sleeve-over-budget", r.sleeve_budget, proposal("IWM", 300), "SLEEVE_OVER_BUDGET", B,
         ctx=context(sleeves=sleeved()), clamp=Decimal(200)),
    Case("sleeve-full-after-a-move", r.sleeve_budget, proposal("IWM", 1), "SLEEVE_OVER_BUDGET", B,
         ctx=context(sleeves=sleeved(budget=0.08))),
    Case("no-sleeve", r.sleeve_budget, proposal("TLT", 1), "NOT_IN_SLEEVE", U, ctx=context(sleeves=sleeved())),
    Case("sleeve-sell", r.sleeve_budget, sell("SPY", 100), None, ctx=context(sleeves=sleeved(budget=0.01))),
    Case("no-sleeves-configured", r.sleeve_budget, proposal("TLT", 1000), None),
]


@pytest.mark.parametrize("case", params(CASES))
def test_sleeve_rule(case: Case) -> None:
    check(case)


def test_over_budget_detail_names_the_sleeve() -> None:
    hit = r.sleeve_budget(proposal("IWM", 300), context(sleeves=sleeved()), limits())
    assert hit is not None
    assert hit.describe() == "SLEEVE_OVER_BUDGET: sleeve=us, weight=0.25, budget=0.2"


def test_a_sleeve_is_classified_under_its_own_tighter_limits() -> None:
    """IWM at 8 % is SAFE on the desk's 25 % position limit, BORDERLINE under the sleeve's 6 %, clamped to 6 %."""
    buy = proposal("IWM", 160)
    desk = limits()
    assert classify(buy, context(sleeves=sleeved(budget=0.5)), desk).level is Level.SAFE
    tight = desk.tightened({"max_position_weight": 0.06}, "sleeve us")
    verdict = classify(buy, context(sleeves=sleeved(budget=0.5, sleeve_limits=tight)), desk)
    assert verdict.level is Level.BORDERLINE
    assert "POSITION_WEIGHT_EXCEEDS_MAX" in verdict.codes
    assert verdict.clamped is not None and verdict.clamped.quantity == Decimal(120)
    # Another sleeve's instrument keeps the desk's limits.
    assert classify(proposal("MC.PA", 1), context(sleeves=sleeved(sleeve_limits=tight)), desk).level is not U


def test_batch_budget_counts_the_buys_before() -> None:
    """Two SAFE buys of 5 % each fill the sleeve's 20 %: the third is over budget."""
    ctx = context(sleeves=sleeved())
    verdicts = classify_batch([proposal("IWM", 100, pid="a"), proposal("SPY", 50, pid="b"),
                               proposal("IWM", 100, pid="c")], ctx, limits(max_position_weight=0.5))
    assert [v.level for v in verdicts][:2] == [Level.SAFE, Level.SAFE]
    assert "SLEEVE_OVER_BUDGET" in verdicts[2].codes


@pytest.mark.parametrize(("key", "value"), [("max_position_weight", 0.30), ("min_cash_weight", 0.05),
                                            ("min_confidence", 0.5), ("max_trades_per_day", 11)])
def test_sleeve_limits_may_only_tighten(key: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"sleeve x: {key} = .* is looser than the desk's"):
        limits().tightened({key: value}, "sleeve x")


def test_sleeve_limits_refuse_unknown_and_desk_wide_keys() -> None:
    with pytest.raises(ValueError, match="unknown risk limit 'max_positon_weight'"):
        limits().tightened({"max_positon_weight": 0.1}, "sleeve x")
    with pytest.raises(ValueError, match="intraday_drop_halt applies to the whole desk"):
        limits().tightened({"intraday_drop_halt": 0.01}, "sleeve x")


def test_tightened_keeps_the_other_limits() -> None:
    tight = limits().tightened({"max_position_weight": 0.1, "min_holding_days": 10}, "sleeve x")
    assert replace_limits(tight) == replace_limits(limits())
    assert (tight.max_position_weight, tight.min_holding_days) == (0.1, 10)


def replace_limits(value: RiskLimits) -> dict[str, object]:
    return {k: v for k, v in value.model_dump().items() if k not in {"max_position_weight", "min_holding_days"}}

