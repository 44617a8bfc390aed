"""The risk engine's fast paths give the same answers as the direct computations they replace.

``ReturnsMatrix`` (numpy, built once per context) against the pandas reindex-and-multiply it
replaced; the memo a projected context inherits (weights, group values, large holdings, the
portfolio return vector) against a context that computes everything afresh; and
``classify_batch`` with and without the memo, on random inputs.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from broker.models import Side
from risk import classify, classify_batch, derived, project
from risk.derived import weights
from risk.limits import RiskLimits
from risk.measures import ReturnsMatrix, historical_cvar, portfolio_returns
from risk.models import Level, RiskContext, TradeProposal
from risk.rules_portfolio import cvar_curve
from tests.risk.factories import UNIVERSE, context, proposal

SEEDS = range(20)


def pandas_portfolio(returns: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    """The previous implementation: reindex the frame to the weights' symbols, NaN as 0, multiply."""
    frame = returns.reindex(columns=list(weights)).fillna(0.0)
    return frame.to_numpy(dtype=float) @ np.array(list(weights.values()), dtype=float)


def random_returns(rng: np.random.Generator, symbols: list[str], days: int = 120) -> pd.DataFrame:
    """Normal returns with a sprinkling of NaNs."""
    values = rng.normal(0.0, 0.02, size=(days, len(symbols)))
    values[rng.random(values.shape) < 0.05] = np.nan
    return pd.DataFrame(values, columns=symbols)


@pytest.mark.parametrize("seed", SEEDS)
def test_returns_matrix_portfolio_equals_the_pandas_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    returns = random_returns(rng, [f"S{i}" for i in range(12)])
    names = [f"S{i}" for i in rng.permutation(12)[:8]] + ["MISSING"]
    weights = {s: float(w) for s, w in zip(names, rng.random(len(names)), strict=True)}
    expected = pandas_portfolio(returns, weights)
    np.testing.assert_allclose(ReturnsMatrix.of(returns).portfolio(weights), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(portfolio_returns(returns, weights), expected, rtol=1e-12, atol=1e-15)
    assert historical_cvar(portfolio_returns(returns, weights)) == pytest.approx(historical_cvar(expected), abs=1e-12)


def test_returns_matrix_of_an_unknown_symbol_is_zero() -> None:
    matrix = ReturnsMatrix.of(pd.DataFrame({"A": [0.01, np.nan]}))
    assert matrix.column("B").tolist() == [0.0, 0.0]
    assert matrix.column("A").tolist() == [0.01, 0.0]


@pytest.mark.parametrize("seed", SEEDS)
def test_cvar_curve_equals_the_pandas_curve(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ctx = context(returns=random_returns(rng, list(UNIVERSE)))
    symbol = str(rng.choice(list(UNIVERSE)))
    others = {s: w for s, w in dict(weights(ctx)).items() if s != symbol}
    base, column = pandas_portfolio(ctx.returns, others), pandas_portfolio(ctx.returns, {symbol: 1.0})
    curve = cvar_curve(ctx, symbol)
    for weight in rng.random(5):
        assert curve(float(weight)) == pytest.approx(historical_cvar(base + weight * column), abs=1e-12)


def random_batch(rng: np.random.Generator, n: int = 12) -> list[TradeProposal]:
    """Buys and sells of random sizes over the test universe."""
    out = []
    for k in range(n):
        symbol = str(rng.choice(list(UNIVERSE)))
        side = Side.BUY if rng.random() < 0.6 else Side.SELL
        out.append(proposal(symbol, int(rng.integers(1, 120)), side, pid=f"p{k}"))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_projected_memo_equals_a_fresh_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ctx = context(returns=random_returns(rng, list(UNIVERSE)))
    assert_same_derived_values(ctx, replace(ctx))  # fills the memo that project() carries
    limits = RiskLimits(max_position_weight=0.5, max_asset_class_weight=0.9, max_sector_weight=0.9)
    carried = 0
    for p in random_batch(rng):
        if classify(p, ctx, limits).level is Level.SAFE:
            ctx = project(ctx, p)
            carried += "portfolio_returns" in ctx.memo
            assert_same_derived_values(ctx, replace(ctx))
    assert carried > 0


def assert_same_derived_values(carried: RiskContext, fresh: RiskContext) -> None:
    """Everything ``risk.derived`` carried equals a fresh computation (the return vector to rounding)."""
    assert list(derived.weights(carried).items()) == list(derived.weights(fresh).items())
    for symbol, instrument in UNIVERSE.items():
        for kind, group in (("asset_class", instrument.asset_class), ("sector", instrument.sector)):
            assert derived.group_value(carried, kind, group) == derived.group_value(fresh, kind, group), symbol
    for threshold in (0.0, 0.05, 0.1, 0.2):
        assert derived.large_holdings(carried, threshold) == derived.large_holdings(fresh, threshold)
    carried_returns, fresh_returns = derived.portfolio_returns(carried), derived.portfolio_returns(fresh)
    assert carried_returns is not None and fresh_returns is not None
    np.testing.assert_allclose(carried_returns, fresh_returns, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", SEEDS)
def test_classify_batch_with_memo_equals_classify_on_fresh_contexts(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ctx = context(returns=random_returns(rng, list(UNIVERSE)), cash=Decimal(int(rng.integers(5_000, 60_000))))
    limits = RiskLimits(max_cvar_95=float(rng.uniform(0.005, 0.04)))
    batch = random_batch(rng)
    expected, fresh = [], ctx
    for p in batch:
        verdict = classify(p, replace(fresh), limits)
        expected.append(verdict)
        if verdict.level is Level.SAFE:
            fresh = replace(project(fresh, p))
    assert classify_batch(batch, ctx, limits) == expected
