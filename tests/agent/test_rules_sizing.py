"""Sizing arithmetic: every cap holds and the budget is never exceeded, whatever the inputs; the
fast bisection gives the straightforward one's weights to the last bit, and quickly."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from agent.policies.rules_sizing import allocate, fit_budget, floor4

SYMBOLS = [f"S{i}" for i in range(12)]
AllocationInputs = tuple[dict[str, float], dict[str, tuple[str, ...]], float, float, float]


def reference_allocate(
    inverse_vol: Mapping[str, float], groups: Mapping[str, tuple[str, ...]], budget: float, cap: float,
    group_cap: float,
) -> dict[str, float]:
    """The oracle: a 60-step bisection over dicts, every cap and group recomputed at each step."""
    if not inverse_vol or budget <= 0:
        return {}
    low, high = 0.0, budget / min(inverse_vol.values())
    for _ in range(60):
        middle = (low + high) / 2
        if sum(_reference_capped(middle, inverse_vol, groups, cap, group_cap).values()) <= budget:
            low = middle
        else:
            high = middle
    return _reference_capped(low, inverse_vol, groups, cap, group_cap)


def _reference_capped(
    k: float, inverse_vol: Mapping[str, float], groups: Mapping[str, tuple[str, ...]], cap: float, group_cap: float
) -> dict[str, float]:
    weights = {s: min(cap, k * v) for s, v in inverse_vol.items()}
    for level in range(max(len(groups[s]) for s in inverse_vol)):
        totals: dict[str, float] = defaultdict(float)
        for symbol, weight in weights.items():
            totals[groups[symbol][level]] += weight
        weights = {
            s: w * min(1.0, group_cap / totals[groups[s][level]]) if totals[groups[s][level]] > 0 else w
            for s, w in weights.items()
        }
    return weights


@st.composite
def allocation_inputs(draw: st.DrawFn) -> tuple[dict[str, float], dict[str, tuple[str, ...]], float, float, float]:
    count = draw(st.integers(1, len(SYMBOLS)))
    symbols = SYMBOLS[:count]
    inverse_vol = {s: draw(st.floats(0.5, 50)) for s in symbols}
    groups = {s: (f"class{draw(st.integers(0, 3))}", f"sector{draw(st.integers(0, 5))}") for s in symbols}
    return inverse_vol, groups, draw(st.floats(0.05, 1.0)), draw(st.floats(0.01, 0.5)), draw(st.floats(0.05, 1.0))


NICE = (0.1, 0.15, 0.2, 0.25, 0.3, 0.32, 0.5, 0.8495, 1.0)


@st.composite
def binding_inputs(draw: st.DrawFn) -> AllocationInputs:
    """Round numbers and few groups, so that caps bind exactly and totals land on the budget."""
    count = draw(st.integers(1, len(SYMBOLS)))
    depth = draw(st.integers(1, 3))
    volatility = st.one_of(st.sampled_from((1.0, 2.0, 4.0, 5.0, 10.0)), st.floats(0.5, 50))
    fraction = st.one_of(st.sampled_from(NICE), st.floats(0.01, 1.0))
    inverse_vol = {s: draw(volatility) for s in SYMBOLS[:count]}
    groups: dict[str, tuple[str, ...]] = {
        s: tuple(f"g{level}-{draw(st.integers(0, 2))}" for level in range(depth)) for s in inverse_vol
    }
    return inverse_vol, groups, draw(fraction), draw(fraction), draw(fraction)


@given(st.one_of(allocation_inputs(), binding_inputs()))
@example(({"A": 1.0, "B": 1.0}, {"A": ("x",), "B": ("x",)}, 0.5, 0.25, 0.5))  # the caps sum to the budget
@example(({"A": 2.0, "B": 1.0, "C": 1.0}, {"A": ("x", "p"), "B": ("x", "q"), "C": ("y", "p")}, 0.8495, 0.15, 0.32))
def test_allocation_equals_the_straightforward_bisection_bit_for_bit(inputs: AllocationInputs) -> None:
    weights = allocate(*inputs)
    expected = reference_allocate(*inputs)

    assert list(weights) == list(expected)
    assert [w.hex() for w in weights.values()] == [w.hex() for w in expected.values()]


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
