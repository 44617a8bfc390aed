"""The validation gate: whole-document failures, per-proposal drop codes, and no escape for junk."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.llm.gate import parse_content, screen
from agent.policies.base import ScreenedDecision
from agent.schema import ProposalIdea
from tests.fakes.llm_answers import decision, idea

UNIVERSE = frozenset({"SPY", "GLD", "TLT"})


def run(document: Any, holdings: dict[str, float] | None = None, floor: float = 0.10):
    return screen(document, UNIVERSE, holdings or {}, floor)


def codes(result) -> dict[str, str]:
    return {d.symbol: d.code for d in result.dropped}


def test_a_valid_answer_passes_whole() -> None:
    result = run(decision(idea("SPY", 0.2), idea("GLD", 0.1, action="BUY")))
    assert result.errors == []
    assert isinstance(result.decision, ScreenedDecision)
    assert [p.symbol for p in result.decision.proposals] == ["SPY", "GLD"]


def test_unknown_symbol_out_of_range_weight_and_duplicates_are_dropped_with_codes() -> None:
    result = run(decision(idea("XYZ", 0.2), idea("TLT", 1.5), idea("GLD", 0.1), idea("GLD", 0.05),
                          idea("SPY", 0.1)))
    assert codes(result) == {"XYZ": "UNKNOWN_SYMBOL", "TLT": "WEIGHT_OUT_OF_RANGE", "GLD": "DUPLICATE_SYMBOL"}
    assert [p.symbol for p in result.decision.proposals] == ["SPY"]
    assert sum(1 for d in result.dropped if d.code == "DUPLICATE_SYMBOL") == 2  # every copy goes


def test_hold_with_a_different_size_is_dropped_but_a_true_hold_passes() -> None:
    result = run(decision(idea("SPY", 0.20, action="HOLD"), idea("GLD", 0.101, action="HOLD")),
                 holdings={"SPY": 0.10, "GLD": 0.10})
    assert codes(result) == {"SPY": "HOLD_WITH_SIZE"}
    assert [p.symbol for p in result.decision.proposals] == ["GLD"]


def test_targets_above_one_minus_the_cash_floor_invalidate_the_document() -> None:
    result = run(decision(idea("SPY", 0.5), idea("GLD", 0.45)))
    assert result.decision is None
    assert "above the 90% allowed by the 10% cash floor" in result.errors[0]


def test_holdings_the_answer_does_not_mention_count_towards_the_sum() -> None:
    assert run(decision(idea("SPY", 0.5)), holdings={"TLT": 0.45}).decision is None
    assert run(decision(idea("SPY", 0.5), idea("TLT", 0.0, action="SELL")), holdings={"TLT": 0.45}).decision


def test_schema_violations_invalidate_the_document() -> None:
    missing = idea("SPY", 0.1)
    del missing["thesis"]
    for bad in ([], "text", {"market_view": "x"}, {"market_view": 1, "proposals": []},
                {"market_view": "x", "proposals": [], "extra": 1}, decision(missing),
                decision(idea("SPY", "0.1")), decision(idea("SPY", 0.1, action="SHORT")),
                decision(idea("SPY", 0.1, expected_upside_pct=math.nan)), decision(idea("SPY", 0.1, bonus=1))):
        result = run(bad)
        assert result.decision is None and result.errors, bad


def test_parse_content_reports_empty_and_malformed_text() -> None:
    assert parse_content(None)[1] == "the answer is empty"
    assert "not valid JSON" in (parse_content('{"market_view": ')[1] or "")
    assert parse_content('{"a": 1}') == ({"a": 1}, None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**5000)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
    | st.sampled_from(["NaN", "Infinity", "-1e999", "SPY", "BUY", "HOLD"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25)
proposal_like = st.fixed_dictionaries(
    {"symbol": st.sampled_from(["SPY", "GLD", "XYZ", ""]) | json_values,
     "action": st.sampled_from(["BUY", "SELL", "HOLD"]) | json_values,
     "target_weight": st.floats(allow_nan=True) | st.integers() | json_values,
     "confidence": st.floats(0, 1) | json_values, "thesis": st.text(max_size=10),
     "expected_upside_pct": st.floats(allow_nan=True), "worst_case_loss_pct": st.floats(allow_nan=True),
     "time_horizon_days": st.integers(), "stop_loss_pct": st.none() | st.floats(),
     "risk_factors": st.lists(st.text(max_size=5)), "catalysts": st.lists(st.text(max_size=5)),
     "exit_triggers": json_values})
plausible = st.lists(st.tuples(st.sampled_from(["SPY", "GLD", "TLT", "XYZ"]), st.floats(-0.5, 1.5),
                               st.sampled_from(["BUY", "SELL", "HOLD"])), max_size=6).map(
    lambda items: decision(*[idea(s, w, action=a) for s, w, a in items]))
documents = plausible | json_values | st.fixed_dictionaries(
    {"market_view": st.text(max_size=10) | json_values, "proposals": st.lists(proposal_like, max_size=5) | json_values})


@settings(max_examples=400, deadline=None)
@given(document=documents, held=st.dictionaries(st.sampled_from(sorted(UNIVERSE)), st.floats(0, 0.3), max_size=3))
def test_no_input_escapes_the_gate_unvalidated(document: Any, held: dict[str, float]) -> None:
    result = run(document, holdings=held)
    if result.decision is None:
        assert result.errors
        return
    assert result.errors == []
    invested = sum(p.target_weight for p in result.decision.proposals if p.action != "SELL")
    named = {p.symbol for p in result.decision.proposals}
    assert invested + sum(w for s, w in held.items() if s not in named) <= 0.9 + 1e-9
    for p in result.decision.proposals:
        assert type(p) is ProposalIdea and p.symbol in UNIVERSE and 0 <= p.target_weight <= 1
        assert math.isfinite(p.confidence) and math.isfinite(p.expected_upside_pct)
    assert len(named) == len(result.decision.proposals)
