"""Sizing arithmetic: every cap holds and the budget is never exceeded, whatever the inputs."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.policies.rules_sizing import allocate, fit_budget, floor4

SYMBOLS = [f"S{i}" for i in range(12)]


@st.composite
def allocation_inputs(draw: st.DrawFn) -> tuple[dict[str, float], dict[str, tuple[str, ...]], float, float, float]:
    count = draw(st.integers(1, len(SYMBOLS)))
    symbols = SYMBOLS[:count]
    inverse_vol = {s: draw(st.floats(0.5, 50)) for s in symbols}
    groups = {s: (f"class{draw(st.integers(0, 3))}", f"sector{draw(st.integers(0, 5))}") for s in symbols}
    return inverse_vol, groups, draw(st.floats(0.05, 1.0)), draw(st.floats(0.01, 0.5)), draw(st.floats(0.05, 1.0))


@given(allocation_inputs())
def test_allocation_respects_every_cap_and_the_budget(
    inputs: tuple[dict[str, float], dict[str, tuple[str, ...]], float, float, float],
) -> None:
    inverse_vol, groups, budget, cap, group_cap = inputs

    weights = allocate(inverse_vol, groups, budget, cap, group_cap)

    assert sum(weights.values()) <= budget + 1e-9
    assert all(0 <= w <= cap + 1e-12 for w in weights.values())
    for level in range(2):
        totals: dict[str, float] = defaultdict(float)
        for symbol, weight in weights.items():
            totals[groups[symbol][level]] += weight
        assert all(total <= group_cap + 1e-9 for total in totals.values())


def test_unconstrained_allocation_is_proportional_to_inverse_volatility() -> None:
    weights = allocate({"A": 10.0, "B": 5.0}, {"A": ("a",), "B": ("b",)}, 0.9, 1.0, 1.0)

    assert weights["A"] == pytest.approx(0.6) and weights["B"] == pytest.approx(0.3)


def test_capped_weight_spills_over_to_the_others() -> None:
    weights = allocate({"A": 100.0, "B": 1.0, "C": 1.0}, {s: (s,) for s in "ABC"}, 0.6, 0.25, 1.0)

    assert weights["A"] == pytest.approx(0.25)
    assert weights["B"] == pytest.approx(0.175) and weights["C"] == pytest.approx(0.175)
    assert sum(weights.values()) == pytest.approx(0.6)


def test_when_every_name_is_capped_the_rest_stays_in_cash() -> None:
    weights = allocate({"A": 1.0, "B": 2.0}, {"A": ("a",), "B": ("b",)}, 0.9, 0.2, 1.0)

    assert weights == pytest.approx({"A": 0.2, "B": 0.2})


def test_empty_allocation() -> None:
    assert allocate({}, {}, 0.9, 0.2, 0.4) == {}


@given(
    st.dictionaries(st.sampled_from(SYMBOLS), st.floats(0, 0.3), min_size=1),
    st.dictionaries(st.sampled_from(SYMBOLS), st.floats(0, 0.3)),
    st.floats(0.1, 0.9),
)
def test_fit_budget_never_exceeds_the_budget(
    targets: dict[str, float], current: dict[str, float], budget: float
) -> None:
    fitted = fit_budget(targets, current, {}, budget)

    assert sum(fitted.values()) <= budget + 1e-9
    assert all(0 <= fitted[s] <= targets[s] + 1e-12 for s in targets)


def test_fit_budget_shrinks_increases_before_existing_weights() -> None:
    fitted = fit_budget({"OLD": 0.5, "NEW": 0.4}, {"OLD": 0.5}, {"OLD": 0.5, "NEW": 0.4}, 0.7)

    assert fitted == pytest.approx({"OLD": 0.5, "NEW": 0.2})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.12345, 0.1234), (0.2, 0.2), (0.1 + 0.1 - 1e-16, 0.2), (0.4 * 0.5, 0.2), (0.0, 0.0)],
)
def test_floor4_rounds_down_to_four_decimals(value: float, expected: float) -> None:
    assert floor4(value) == expected
