"""Risk measures against hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from risk.measures import (
    ReturnsMatrix,
    drawdown,
    historical_cvar,
    max_drawdown,
    portfolio_cvar,
    portfolio_returns,
    tail_size,
)

# 40 days: two bad days and 38 days of +1 %.
FORTY_DAYS = [-0.04, -0.02] + [0.01] * 38


def test_cvar_95_is_the_mean_of_the_worst_5_percent_as_a_loss() -> None:
    # 5 % of 40 days = the 2 worst days: (-4 % - 2 %) / 2 = -3 %.
    assert historical_cvar(FORTY_DAYS) == pytest.approx(0.03)


def test_cvar_90_takes_the_worst_10_percent() -> None:
    # 10 % of 40 days = 4 days: (-4 % - 2 % + 1 % + 1 %) / 4 = -1 %.
    assert historical_cvar(FORTY_DAYS, alpha=0.90) == pytest.approx(0.01)


def test_cvar_ignores_order_and_nans() -> None:
    shuffled = [*reversed(FORTY_DAYS), math.nan]
    assert historical_cvar(np.array(shuffled)) == pytest.approx(0.03)


def test_cvar_of_nothing_is_zero() -> None:
    assert historical_cvar([]) == 0.0


def test_cvar_of_an_empty_portfolio_is_plus_zero_for_one_column_and_all() -> None:
    # An empty portfolio returns 0 every day: its CVaR printed as "-0.00%" in the LLM's prompt.
    assert math.copysign(1.0, historical_cvar([0.0] * 60)) == 1.0
    matrix = ReturnsMatrix.of(pd.DataFrame({"AAA": [0.0] * 60, "BBB": FORTY_DAYS + [0.0] * 20}))
    assert math.copysign(1.0, matrix.cvar_by_column()["AAA"]) == 1.0
    assert f"{portfolio_cvar(matrix, {}):.2%}" == "0.00%"


def test_cvar_of_gains_only_is_negative() -> None:
    assert historical_cvar([0.01, 0.02]) == pytest.approx(-0.01)


@pytest.mark.parametrize(
    ("n", "alpha", "k"), [(100, 0.95, 5), (40, 0.95, 2), (20, 0.95, 1), (3, 0.95, 1), (101, 0.95, 6)]
)
def test_tail_size(n: int, alpha: float, k: int) -> None:
    assert tail_size(n, alpha) == k


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.5, 1.5])
def test_alpha_outside_0_1_is_refused(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        historical_cvar(FORTY_DAYS, alpha)


def test_portfolio_returns_treat_missing_symbols_and_nans_as_zero() -> None:
    returns = pd.DataFrame({"A": [0.02, math.nan, -0.1], "B": [0.04, 0.01, 0.0]})
    result = portfolio_returns(returns, {"A": 0.5, "B": 0.25, "CASHLIKE": 0.25})
    assert result == pytest.approx([0.02, 0.0025, -0.05])


def test_portfolio_returns_without_weights_are_zero() -> None:
    returns = pd.DataFrame({"A": [0.02, -0.1]})
    assert portfolio_returns(returns, {}).tolist() == [0.0, 0.0]


def test_portfolio_cvar_hand_computed() -> None:
    # 20 days: CVaR 95 % is the single worst day.
    # Day 3: 0.5 × -8 % + 0.5 × +2 % = -3 %; day 7: 0.5 × -2 % + 0.5 × -3 % = -2.5 %.
    a = [0.0] * 20
    b = [0.0] * 20
    a[3], b[3] = -0.08, 0.02
    a[7], b[7] = -0.02, -0.03
    returns = pd.DataFrame({"A": a, "B": b})
    assert portfolio_cvar(returns, {"A": 0.5, "B": 0.5}) == pytest.approx(0.03)
    # At 90 % the 2 worst days: (-3 % - 2.5 %) / 2.
    assert portfolio_cvar(returns, {"A": 0.5, "B": 0.5}, alpha=0.9) == pytest.approx(0.0275)


def test_drawdown_is_measured_from_the_running_peak() -> None:
    equity = [100.0, 120.0, 90.0, 108.0]
    assert drawdown(equity) == pytest.approx(0.1)
    assert max_drawdown(pd.Series(equity)) == pytest.approx(0.25)


def test_drawdown_at_a_new_peak_is_zero() -> None:
    assert drawdown([100.0, 90.0, 130.0]) == 0.0
    assert max_drawdown([100.0, 90.0, 130.0]) == pytest.approx(0.1)


def test_drawdown_of_nothing_is_zero() -> None:
    assert drawdown([]) == 0.0
    assert max_drawdown([]) == 0.0


def test_cvar_by_column_is_historical_cvar_of_each_column_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    for rows, width in [(1, 1), (19, 3), (60, 30), (252, 12), (301, 5)]:
        values = rng.normal(0, 0.02, (rows, width))
        values[rng.random((rows, width)) < 0.05] = np.nan
        matrix = ReturnsMatrix.of_array(values, {f"s{i}": i for i in range(width)})
        assert matrix.cvar_by_column(0.95) == {s: historical_cvar(matrix.column(s), 0.95) for s in matrix.columns}
    assert ReturnsMatrix.of_array(np.zeros((0, 2)), {"a": 0, "b": 1}).cvar_by_column() == {"a": 0.0, "b": 0.0}
