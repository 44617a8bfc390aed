"""The replay: no look-ahead, and a cost-free buy-and-hold reproduces its benchmark exactly."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from agent.indicator_panels import indicator_panels, indicators_at
from agent.indicators import compute_indicators
from agent.market.base import PriceHistory
from agent.market.synthetic import SyntheticMarketData
from agent.policies.baselines import BuyAndHoldPolicy, EqualWeightPolicy
from agent.policies.rules import RulesPolicy
from agent.universe import Universe, load_universe
from bot.backtest.engine import Replay, ReplayResult, replay
from bot.evaluation.benchmarks import base_opens, base_prices, buy_and_hold
from broker.models import AssetClass, Instrument
from broker.simulated import SimConfig
from risk.limits import RiskLimits

SYMBOLS = ("SPY", "QQQ", "TLT", "GLD", "CAC.PA", "AI.PA", "IWM", "USO")


def _seed_subset() -> Universe:
    universe = load_universe("seed")
    return replace(universe, instruments=tuple(i for i in universe.instruments if i.symbol in SYMBOLS))


def _history(universe: Universe) -> PriceHistory:
    return SyntheticMarketData(seed=11, base_currency=universe.base_currency).history(
        universe.instruments, date(2022, 6, 30), 420)


def _run(history: PriceHistory, universe: Universe, policy: object, rows: range, **kw: object) -> ReplayResult:
    spec = Replay(history=history, panels=indicator_panels(history), rows=rows, universe=universe,
                  policy=policy, limits=kw.pop("limits", RiskLimits()),  # type: ignore[arg-type]
                  sim=kw.pop("sim", SimConfig(base_currency=universe.base_currency)), **kw)  # type: ignore[arg-type]
    return asyncio.run(replay(spec))


def _until(result: ReplayResult, day: date) -> tuple[list[object], list[object], list[Decimal]]:
    decisions = [d for d in result.decisions if d.day <= day]
    fills = [f for f in result.fills if f.day <= day]
    equity = [e for d, e in zip(result.dates, result.equity, strict=True) if d <= day]
    return decisions, fills, equity


@pytest.mark.parametrize("policy", [RulesPolicy(), EqualWeightPolicy()], ids=["rules", "equal_weight"])
def test_changing_prices_after_day_t_changes_no_decision_up_to_t(policy: object) -> None:
    universe = _seed_subset()
    history = _history(universe)
    rows = range(260, len(history.close))
    cut = 330
    factor = np.where(history.close.index > history.close.index[cut], 3.0, 1.0)
    shocked = replace(history, close=history.close.mul(factor, axis=0))
    base, moved = _run(history, universe, policy, rows), _run(shocked, universe, policy, rows)
    day = history.close.index[cut].date()
    before, after = _until(base, day), _until(moved, day)
    assert before[0], "the policy made no decision before the cut: the test would prove nothing"
    assert before[1], "nothing was filled before the cut: the test would prove nothing"
    assert before == after
    assert base.equity[-1] != moved.equity[-1]  # the shock is visible after the cut


def test_indicator_panels_match_compute_indicators_on_the_same_window() -> None:
    universe = _seed_subset()
    history = _history(universe)
    panels = indicator_panels(history)
    t = 300
    live = compute_indicators(replace(history, close=history.close.iloc[:t + 1], volume=history.volume.iloc[:t + 1]))
    replayed = indicators_at(panels, t)
    columns = ["close", "sma20", "sma50", "sma200", "bb_pct", "vol20", "vol60", "return_20d", "adv_base"]
    pd.testing.assert_frame_equal(replayed.table[columns], live.table[columns], rtol=1e-9)
    assert list(replayed.table["price_date"]) == list(live.table["price_date"])
    pd.testing.assert_frame_equal(replayed.correlations, live.correlations, rtol=1e-9)
    assert replayed.regime == live.regime


def _one_fund_history(n: int = 120) -> tuple[PriceHistory, Universe]:
    rng = np.random.default_rng(5)
    steps = np.round(100.0 * np.cumprod(1 + rng.normal(0.0004, 0.01, n - 2)), 4)
    prices = np.concatenate([[100.0, 100.0], steps])  # decided at the first close, filled at the second
    index = pd.bdate_range("2023-01-02", periods=n)
    close = pd.DataFrame({"FUND": prices}, index=index)
    history = PriceHistory(close=close, volume=close * 0 + 1e9, fx={}, source="test", synthetic=True,
                           base_currency="EUR", currencies={"FUND": "EUR"})
    fund = Instrument(symbol="FUND", asset_class=AssetClass.US_EQUITY, sector="broad", currency="EUR",
                      exchange="XPAR", fractional=True)
    return history, Universe(base_currency="EUR", instruments=(fund,), name="one fund")


def test_cost_free_buy_and_hold_reproduces_the_benchmark_exactly() -> None:
    history, universe = _one_fund_history()
    limits = RiskLimits(max_position_weight=1.0, min_cash_weight=0.0, max_asset_class_weight=1.0,
                        max_sector_weight=1.0, max_volatility=5.0, max_cvar_95=1.0, borderline_fraction=1.0)
    sim = SimConfig(base_currency="EUR", slippage_bps=Decimal(0), commission_bps=Decimal(0), min_commission=Decimal(0))
    result = _run(history, universe, BuyAndHoldPolicy(), range(0, len(history.close)), limits=limits, sim=sim)
    assert result.counts["filled"] == 1
    equity = pd.Series([float(e) for e in result.equity], index=pd.DatetimeIndex(result.dates))
    benchmark = buy_and_hold(base_prices(history)["FUND"], result.dates, 100_000.0)
    assert benchmark is not None
    np.testing.assert_allclose(equity.to_numpy(), benchmark.to_numpy(), rtol=1e-9, atol=0)


def test_orders_fill_at_the_next_open_and_buy_and_hold_still_reproduces_the_benchmark() -> None:
    history, universe = _one_fund_history()
    close = history.close.copy()
    close.iloc[1:] *= 1.01  # day 2 opens at the decision close (orders are sized there) and closes 1% higher
    opens = close * np.nan
    opens.iloc[1] = 100.0
    history = replace(history, close=close, open=opens)
    limits = RiskLimits(max_position_weight=1.0, min_cash_weight=0.0, max_asset_class_weight=1.0,
                        max_sector_weight=1.0, max_volatility=5.0, max_cvar_95=1.0, borderline_fraction=1.0)
    sim = SimConfig(base_currency="EUR", slippage_bps=Decimal(0), commission_bps=Decimal(0), min_commission=Decimal(0))
    result = _run(history, universe, BuyAndHoldPolicy(), range(0, len(history.close)), limits=limits, sim=sim)
    (fill,) = result.fills
    assert fill.day == result.dates[1] and Decimal(fill.price) == Decimal(100)  # day 2's open, not its close
    equity = pd.Series([float(e) for e in result.equity], index=pd.DatetimeIndex(result.dates))
    benchmark = buy_and_hold(base_prices(history)["FUND"], result.dates, 100_000.0, base_opens(history)["FUND"])
    assert benchmark is not None and equity.iloc[1] == pytest.approx(101_000)  # bought at the open, valued at the close
    np.testing.assert_allclose(equity.to_numpy(), benchmark.to_numpy(), rtol=1e-9, atol=0)


def test_borderline_proposals_wait_for_nobody_unless_approved() -> None:
    universe = _seed_subset()
    history = _history(universe)
    rows = range(300, 330)
    strict = _run(history, universe, BuyAndHoldPolicy(), rows)
    approved = _run(history, universe, BuyAndHoldPolicy(), rows, approve_borderline=True)
    assert strict.counts["proposals_borderline"] > 0
    executed = [d for d in strict.decisions if d.executed]
    assert all(d.level == "SAFE" for d in executed)
    assert any(d.level == "BORDERLINE" and d.executed for d in approved.decisions)
    assert not any(d.level == "UNSAFE" and d.executed for d in approved.decisions)
