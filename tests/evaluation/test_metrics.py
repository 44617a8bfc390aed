"""The metrics equal empyrical's on the same series (daily returns, 252 periods, risk-free 0)."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pandas as pd
import pytest

from bot.evaluation import metrics


def _returns(seed: int, n: int, drift: float = 0.0003, vol: float = 0.012) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2020-01-01", periods=n)
    return pd.Series(rng.normal(drift, vol, n), index=index)


SERIES = [_returns(1, 500), _returns(2, 60, drift=-0.001), _returns(3, 2520, vol=0.02), _returns(4, 21)]


@pytest.mark.parametrize("returns", SERIES, ids=["500d", "60d_falling", "10y", "21d"])
def test_metrics_equal_empyrical(returns: pd.Series) -> None:
    assert metrics.cagr(returns) == pytest.approx(empyrical.cagr(returns), rel=1e-10)
    assert metrics.annual_volatility(returns) == pytest.approx(empyrical.annual_volatility(returns), rel=1e-10)
    assert metrics.sharpe(returns) == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-10)
    assert metrics.sortino(returns) == pytest.approx(empyrical.sortino_ratio(returns), rel=1e-10)
    assert metrics.max_drawdown(returns) == pytest.approx(-empyrical.max_drawdown(returns), rel=1e-10)
    assert metrics.calmar(returns) == pytest.approx(empyrical.calmar_ratio(returns), rel=1e-10)
    assert metrics.cvar_95(returns) == pytest.approx(-empyrical.conditional_value_at_risk(returns), rel=1e-10)


def test_cvar_tail_size_matches_empyrical_for_every_length() -> None:
    for n in range(1, 300):
        returns = _returns(n, n)
        assert metrics.cvar_95(returns) == pytest.approx(-empyrical.conditional_value_at_risk(returns), rel=1e-10), n


def test_a_first_day_loss_counts_in_the_drawdown() -> None:
    returns = pd.Series([-0.10, 0.05, 0.02])
    assert metrics.max_drawdown(returns) == pytest.approx(0.10)
    assert metrics.max_drawdown(returns) == pytest.approx(-empyrical.max_drawdown(returns))


def test_equity_curve_metrics_use_its_daily_returns() -> None:
    equity = pd.Series([100.0, 110.0, 99.0, 99.0, 120.0], index=pd.bdate_range("2024-01-01", periods=5))
    returns = metrics.returns_of(equity)
    assert returns.tolist() == pytest.approx([0.10, -0.10, 0.0, 120 / 99 - 1])
    summary = metrics.summarize(equity, traded=pd.Series([0.0, 50.0, 0.0, 0.0, 50.0], index=equity.index))
    assert summary["total_return"] == pytest.approx(0.20)
    assert summary["hit_rate"] == pytest.approx(0.5)
    assert summary["profit_factor"] == pytest.approx((10 + 21) / 11)
    assert summary["max_drawdown_days"] == 2  # the two days at 99
    assert summary["turnover"] == pytest.approx(100 / equity.mean() * 252 / 4)
    assert summary["sharpe"] == pytest.approx(empyrical.sharpe_ratio(returns))


def test_undefined_figures_are_nan_and_json_none() -> None:
    flat = pd.Series([100.0, 100.0, 100.0])
    summary = metrics.summarize(flat)
    assert math.isnan(summary["sharpe"]) and math.isnan(summary["calmar"]) and math.isnan(summary["profit_factor"])
    assert metrics.as_json(summary)["sharpe"] is None
    assert math.isnan(metrics.summarize(pd.Series([100.0]))["cagr"])
