"""The master allocator: hand cases for each tilt and bound, and properties under generated histories."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.indicators import Regime
from bot.sleeves.allocator import allocate, performance
from bot.sleeves.bounds import Allocation, AllocatorParams, SleeveBounds, check_bounds

EQUITY = SleeveBounds("equity", 0.7, min_weight=0.3, max_weight=0.85)
BONDS = SleeveBounds("bonds", 0.2, min_weight=0.05, max_weight=0.5, defensive=True)
STEADY = [0.02, -0.01] * 40  # mean +0.5% a day, annualised Sharpe about 5
FLAT = [0.01, -0.01] * 40  # mean 0, the same spread


def test_equal_histories_in_a_neutral_regime_keep_the_base_weights() -> None:
    result = allocate([EQUITY, BONDS], {"equity": STEADY, "bonds": STEADY}, "balanced", AllocatorParams())
    assert result.budgets == pytest.approx({"equity": 0.7, "bonds": 0.2}, abs=1e-12)
    assert result.cash == pytest.approx(0.1, abs=1e-12)
    assert all(reason.startswith("unchanged at") for reason in result.reasons.values())


def test_no_history_yet_keeps_the_base_weights_and_says_so() -> None:
    result = allocate([EQUITY, BONDS], {}, "diversified", AllocatorParams())
    assert result.budgets == pytest.approx({"equity": 0.7, "bonds": 0.2}, abs=1e-12)
    assert result.reasons["bonds"] == "unchanged at 20.0%: no history yet"
    assert result.inputs["bonds"].sharpe is None and result.inputs["bonds"].momentum is None


def test_a_clearly_better_sharpe_gains_but_only_by_the_step() -> None:
    result = allocate([EQUITY, BONDS], {"equity": FLAT, "bonds": STEADY}, "balanced", AllocatorParams())
    assert result.budgets == pytest.approx({"equity": 0.65, "bonds": 0.25}, abs=1e-12)
    bonds, equity = result.inputs["bonds"].sharpe, result.inputs["equity"].sharpe
    assert bonds is not None and equity is not None and bonds > equity
    assert result.inputs["bonds"].target > 0.25  # wanted more; the step held it
    assert result.reasons["bonds"].startswith("raised 20.0% → 25.0%: Sharpe ")
    assert result.reasons["bonds"].endswith("capped by the 5.0% step")
    assert result.reasons["equity"].startswith("lowered 70.0% → 65.0%")


def test_the_max_weight_outranks_the_target() -> None:
    tight = SleeveBounds("bonds", 0.2, min_weight=0.05, max_weight=0.22)
    result = allocate([EQUITY, tight], {"equity": FLAT, "bonds": STEADY}, "balanced", AllocatorParams())
    assert result.budgets["bonds"] == pytest.approx(0.22)
    assert result.reasons["bonds"].endswith("held at its max 22.0%")
    assert result.cash == pytest.approx(0.1)  # equity takes the rest within its own step


def test_defensive_regime_raises_cash_and_the_defensive_sleeve() -> None:
    params = AllocatorParams(max_step=0.5)
    result = allocate([EQUITY, BONDS], {}, Regime.DEFENSIVE, params)
    # base × 0.75/0.9, then 5 points from equity to bonds
    assert result.budgets == pytest.approx({"equity": 0.7 * 0.75 / 0.9 - 0.05, "bonds": 0.2 * 0.75 / 0.9 + 0.05})
    assert result.cash == pytest.approx(0.25)
    assert "defensive regime: cash 10% → 25%, defensive sleeves favoured" in result.reasons["bonds"]


def test_opportunistic_regime_trims_the_defensive_sleeve_and_keeps_cash_at_the_floor() -> None:
    result = allocate([EQUITY, BONDS], {}, "opportunistic", AllocatorParams())
    assert result.budgets == pytest.approx({"equity": 0.75, "bonds": 0.15})
    assert result.cash == pytest.approx(0.10)  # opportunistic_cash 5% is below the 10% floor


def test_cash_reaches_the_defensive_target_step_by_step() -> None:
    budgets: dict[str, float] | None = None
    cash = []
    for _ in range(4):
        result = allocate([EQUITY, BONDS], {}, "defensive", AllocatorParams(), budgets)
        budgets = result.budgets
        cash.append(round(result.cash, 9))
    assert cash == [0.2, 0.25, 0.25, 0.25]  # both sleeves give 5 points a step, then hold


def test_a_single_sleeve_gets_no_performance_tilt() -> None:
    alone = SleeveBounds("all", 0.9, min_weight=0.5)
    result = allocate([alone], {"all": STEADY}, "balanced", AllocatorParams())
    assert result.budgets == pytest.approx({"all": 0.9})
    assert result.reasons["all"] == "unchanged at 90.0%: no other sleeve with history to compare with"
    assert allocate([alone], {}, "defensive", AllocatorParams()).budgets["all"] == pytest.approx(0.85)


def test_nan_and_inf_returns_are_dropped() -> None:
    noisy = [math.nan, *STEADY[:40], math.inf, -math.inf, *STEADY[40:], math.nan]
    assert performance(noisy, AllocatorParams()) == performance(STEADY, AllocatorParams())
    assert performance([0.01] * 19, AllocatorParams()) == (None, None)  # too short
    sharpe, momentum = performance([0.001] * 30, AllocatorParams())
    assert sharpe is None and momentum == pytest.approx(1.001**21 - 1)  # constant: no Sharpe


def test_a_budget_far_above_a_new_max_goes_to_the_max_and_says_the_step_gave_way() -> None:
    result = allocate([EQUITY, BONDS], {}, "balanced", AllocatorParams(), {"equity": 0.2, "bonds": 0.7})
    assert result.budgets["bonds"] == pytest.approx(0.5)
    assert "moved more than the step" in result.reasons["bonds"]
    assert result.cash >= 0.1 - 1e-12


def test_budgets_in_force_leaving_too_little_cash_relax_the_step_down_to_the_floor() -> None:
    result = allocate([EQUITY, BONDS], {}, "balanced", AllocatorParams(), {"equity": 0.8, "bonds": 0.45})
    assert result.cash == pytest.approx(0.1)
    assert sum(result.budgets.values()) == pytest.approx(0.9)
    assert any("moved more than the step" in reason for reason in result.reasons.values())


@pytest.mark.parametrize(("sleeves", "params", "message"), [
    ([SleeveBounds("a", 0.6, min_weight=0.7), BONDS], AllocatorParams(), "sleeve 'a': needs 0 ≤ min_weight"),
    ([SleeveBounds("a", 0.6), BONDS], AllocatorParams(), "sum to 0.9, not 1"),
    ([SleeveBounds("a", 0.7, min_weight=0.7), SleeveBounds("b", 0.25, min_weight=0.25)],
     AllocatorParams(cash_target=0.05), "cash_target must be in [cash_floor, 1]"),
    ([EQUITY, EQUITY], AllocatorParams(), "sleeve 'equity': names must be non-empty and unique"),
    ([], AllocatorParams(), "no sleeves configured"),
    ([EQUITY, BONDS], AllocatorParams(max_step=0.0), "max_step must be in (0, 1]"),
    ([EQUITY, BONDS], AllocatorParams(sharpe_tilt=math.nan), "sharpe_tilt must be in [0, 1]"),
    ([EQUITY, BONDS], AllocatorParams(sharpe_window=1), "sharpe_window must be an integer ≥ 2"),
])
def test_check_bounds_names_what_cannot_be_satisfied(sleeves: list[SleeveBounds], params: AllocatorParams,
                                                     message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_bounds(sleeves, params)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_minimums_may_fill_everything_the_floor_leaves() -> None:
    sleeves = [SleeveBounds("a", 0.7, min_weight=0.7), SleeveBounds("b", 0.2, min_weight=0.2)]
    result = allocate(sleeves, {"a": STEADY, "b": FLAT}, "opportunistic", AllocatorParams())
    assert result.budgets == pytest.approx({"a": 0.7, "b": 0.2}) and result.cash == pytest.approx(0.1)


def test_an_unknown_regime_and_a_nan_budget_in_force_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown regime 'panic'"):
        allocate([EQUITY, BONDS], {}, "panic", AllocatorParams())
    with pytest.raises(ValueError, match="sleeve 'bonds': the budget in force"):
        allocate([EQUITY, BONDS], {}, "balanced", AllocatorParams(), {"bonds": math.nan})


# --- properties ---------------------------------------------------------------------------------

RETURN = st.one_of(st.floats(-0.1, 0.1), st.floats(-1e300, 1e300), st.sampled_from([math.nan, math.inf, -math.inf]))
HISTORY = st.one_of(
    st.lists(RETURN, max_size=120),
    st.lists(st.floats(-0.05, 0.05), min_size=15, max_size=100),
    st.builds(lambda value, n: [value] * n, st.floats(-0.05, 0.05), st.integers(0, 80)),
)
REGIMES = st.sampled_from([r.value for r in Regime])


@st.composite
def configs(draw: st.DrawFn) -> tuple[list[SleeveBounds], AllocatorParams]:
    n = draw(st.integers(2, 6))
    floor = draw(st.floats(0.0, 0.3))
    cash_target = floor + draw(st.floats(0.0, 0.2))
    raw = [draw(st.floats(0.01, 1.0)) for _ in range(n)]
    bases = [w / math.fsum(raw) * (1 - cash_target) for w in raw]
    sleeves = [SleeveBounds(f"s{i}", base, min_weight=base * draw(st.floats(0, 1)),
                            max_weight=base + (1 - base) * draw(st.floats(0, 1)), defensive=draw(st.booleans()))
               for i, base in enumerate(bases)]
    params = AllocatorParams(
        cash_target=cash_target, cash_floor=floor, defensive_cash=min(1.0, cash_target + draw(st.floats(0, 0.3))),
        opportunistic_cash=draw(st.floats(0, 0.3)), sharpe_window=draw(st.integers(2, 100)),
        momentum_window=draw(st.integers(1, 60)), sharpe_tilt=draw(st.floats(0, 1)),
        momentum_tilt=draw(st.floats(0, 1)), regime_tilt=draw(st.floats(0, 0.2)), max_step=draw(st.floats(0.001, 0.3)))
    check_bounds(sleeves, params)
    return sleeves, params


def assert_bounded(result: Allocation, sleeves: list[SleeveBounds], params: AllocatorParams,
                   before: dict[str, float], step_feasible: bool) -> None:
    assert list(result.budgets) == [s.name for s in sleeves]
    for s in sleeves:
        budget = result.budgets[s.name]
        assert math.isfinite(budget) and s.min_weight - 1e-12 <= budget <= s.max_weight + 1e-12
        if step_feasible:
            assert abs(budget - before[s.name]) <= params.max_step + 1e-12
        assert result.reasons[s.name]
    assert result.cash >= params.cash_floor - 1e-12
    assert math.fsum(result.budgets.values()) + result.cash == pytest.approx(1.0, abs=1e-9)


def wanted_cash_reachable(sleeves: list[SleeveBounds], params: AllocatorParams,
                          before: dict[str, float], cash: float) -> bool:
    lo = math.fsum(max(s.min_weight, before[s.name] - params.max_step) for s in sleeves)
    hi = math.fsum(min(s.max_weight, before[s.name] + params.max_step) for s in sleeves)
    return lo <= 1 - cash <= hi


@settings(max_examples=300, deadline=None)
@given(configs(), st.lists(st.tuples(REGIMES, st.lists(HISTORY, min_size=6, max_size=6)), min_size=1, max_size=4))
def test_budgets_respect_every_bound_rebalance_after_rebalance(config: tuple[list[SleeveBounds], AllocatorParams],
                                                               rounds: list[tuple[str, list[list[float]]]]) -> None:
    sleeves, params = config
    before = {s.name: s.base_weight for s in sleeves}
    for regime, histories in rounds:
        returns = {s.name: history for s, history in zip(sleeves, histories, strict=False)}
        result = allocate(sleeves, returns, regime, params, before)
        assert_bounded(result, sleeves, params, before, step_feasible=True)
        cash = {"defensive": params.defensive_cash, "opportunistic": params.opportunistic_cash}.get(
            regime, params.cash_target)
        if wanted_cash_reachable(sleeves, params, before, max(cash, params.cash_floor)):
            assert result.cash == pytest.approx(max(cash, params.cash_floor), abs=1e-9)
        before = result.budgets


@settings(max_examples=200, deadline=None)
@given(configs(), REGIMES, st.lists(st.floats(0, 1), min_size=6, max_size=6), st.lists(HISTORY, min_size=6, max_size=6))
def test_budgets_in_force_from_another_config_still_end_within_bounds(
        config: tuple[list[SleeveBounds], AllocatorParams], regime: str, current: list[float],
        histories: list[list[float]]) -> None:
    sleeves, params = config
    before = {s.name: c for s, c in zip(sleeves, current, strict=False)}
    lows = [max(s.min_weight, before[s.name] - params.max_step) for s in sleeves]
    highs = [min(s.max_weight, before[s.name] + params.max_step) for s in sleeves]
    feasible = all(lo <= hi for lo, hi in zip(lows, highs, strict=True)) and math.fsum(lows) <= 1 - params.cash_floor
    returns = {s.name: h for s, h in zip(sleeves, histories, strict=False)}
    result = allocate(sleeves, returns, regime, params, before)
    assert_bounded(result, sleeves, params, before, step_feasible=feasible)
