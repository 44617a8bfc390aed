"""The LLM master allocator: the prompt states the bounds, the answer is validated, then bounded like the rules'."""

from __future__ import annotations

import json
import math

import pytest

from bot.sleeves.allocator_llm import allocation_messages, parse_allocation
from bot.sleeves.bounds import Allocation, AllocatorParams, SleeveBounds, SleeveInputs

EQUITY = SleeveBounds("equity", 0.7, min_weight=0.3, max_weight=0.85)
BONDS = SleeveBounds("bonds", 0.2, min_weight=0.05, max_weight=0.5, defensive=True)
SLEEVES = [EQUITY, BONDS]
PARAMS = AllocatorParams()


def answer(budgets: object, reasons: object | None = None) -> str:
    document = {"budgets": budgets} if reasons is None else {"budgets": budgets, "reasons": reasons}
    return json.dumps(document)


def parse(content: str, before: dict[str, float] | None = None, regime: str = "balanced") -> Allocation:
    return parse_allocation(content, SLEEVES, PARAMS, before, regime)


def test_the_prompt_shows_each_sleeves_range_figures_and_the_cash_target() -> None:
    inputs = {"equity": SleeveInputs(1.25, 0.031, 0.7, 0.7, 0.7), "bonds": SleeveInputs(None, None, 0.2, 0.2, 0.2)}
    system, user = allocation_messages(SLEEVES, inputs, "defensive", PARAMS)
    assert system["role"] == "system" and '"budgets"' in system["content"]
    assert "Cash target: 25.0%" in user["content"] and "sum to 75.0%" in user["content"]
    assert "equity | no | 70.0% | 30.0% | 85.0% | 70.0% | 65.0%..75.0% | 1.25 | +3.1%" in user["content"]
    assert "bonds | yes | 20.0% | 5.0% | 50.0% | 20.0% | 15.0%..25.0% | - | -" in user["content"]


def test_a_valid_fenced_answer_becomes_the_budgets_with_the_models_reasons() -> None:
    content = "```json\n" + answer({"equity": 0.68, "bonds": 0.22}, {"bonds": "rates  look\nsafer"}) + "\n```"
    result = parse(content)
    assert result.budgets == pytest.approx({"equity": 0.68, "bonds": 0.22})
    assert result.cash == pytest.approx(0.1)
    assert result.reasons["bonds"] == "raised 20.0% → 22.0%: proposed 22.0% (rates look safer)"
    assert result.inputs["bonds"].target == 0.22


def test_budgets_beyond_the_bounds_are_bounded_by_the_same_step() -> None:
    result = parse(answer({"equity": 0.0, "bonds": 0.9}))
    assert result.budgets == pytest.approx({"equity": 0.65, "bonds": 0.25})  # min, max and the 5% step
    assert result.cash == pytest.approx(0.1)
    assert result.reasons["bonds"].endswith("capped by the 5.0% step")


def test_an_answer_keeping_too_much_invested_still_leaves_the_regimes_cash() -> None:
    result = parse(answer({"equity": 0.8, "bonds": 0.2}), regime="defensive")
    assert result.cash == pytest.approx(0.2)  # 10% → 25% is wanted; two 5-point steps allow 20% this time
    assert result.budgets == pytest.approx({"equity": 0.65, "bonds": 0.15})


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "the answer is not valid JSON"),
    ("", "the answer is empty"),
    ("[1, 2]", "must be a JSON object"),
    (json.dumps({"weights": {}}), "needs the key 'budgets'"),
    (answer({"equity": 0.7, "bonds": 0.2, "crypto": 0.1}), "budgets names unknown sleeve(s) crypto"),
    (answer({"equity": 0.7}), "budgets omits sleeve(s) bonds"),
    (answer({"equity": "0.7", "bonds": 0.2}), "budget for sleeve 'equity' must be a fraction of equity in 0..1"),
    (answer({"equity": -0.1, "bonds": 0.2}), "budget for sleeve 'equity'"),
    (answer({"equity": 70, "bonds": 20}), "got 70"),
    (answer({"equity": True, "bonds": 0.2}), "got true"),
    ('{"budgets": {"equity": NaN, "bonds": 0.2}}', "got nan"),
    (answer({"equity": 0.7, "bonds": 0.2}, {"gold": "shiny"}), "reasons names unknown sleeve(s) gold"),
    (answer({"equity": 0.7, "bonds": 0.2}, {"bonds": 3}), "reason for sleeve 'bonds' must be a string"),
    (answer({"equity": 0.7, "bonds": 0.2}, ["x"]), "reasons must be an object keyed by sleeve"),
])
def test_a_bad_answer_is_refused_with_one_line(content: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse(content)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_answer_never_yields_a_nan_budget_from_the_budgets_in_force() -> None:
    result = parse(answer({"equity": 0.7, "bonds": 0.2}), before={"equity": 0.9, "bonds": 0.3})
    assert all(math.isfinite(b) for b in result.budgets.values())
    assert result.cash >= PARAMS.cash_floor - 1e-12
