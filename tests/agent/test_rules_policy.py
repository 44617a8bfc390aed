"""The rules policy: caps and cash by regime, loss-averse cuts, gradual adds, no churn, determinism,
and a replay day decided from numpy arrays in about a millisecond."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from agent.indicators import IndicatorSet, Regime
from agent.policies.base import HoldingView, Policy
from agent.policies.rules import CASH_TARGET, RulesPolicy
from agent.schema import Action, PolicyDecision
from broker.models import AssetClass
from tests.agent.factories import context, instrument, row

VOLS = {"AAA": 0.10, "BBB": 0.15, "CCC": 0.20, "DDD": 0.25, "EEE": 0.30}


def policy(**overrides: float) -> RulesPolicy:
    """The policy with group caps off (one asset class in most fixtures); the group test turns them on."""
    return RulesPolicy(**{"max_group_weight": 1.0, **overrides})  # type: ignore[arg-type]


def trending(**overrides: float) -> dict[str, dict[str, object]]:
    return {symbol: row(vol60=vol, **overrides) for symbol, vol in VOLS.items()}


def by_symbol(decision: PolicyDecision) -> dict[str, object]:
    return {p.symbol: p for p in decision.proposals}


async def test_rules_policy_satisfies_the_policy_port() -> None:
    port: Policy = RulesPolicy()

    decision = await port.decide(context(trending()))

    assert port.name == "rules"
    assert isinstance(decision, PolicyDecision)


async def test_empty_portfolio_buys_inverse_volatility_weights_within_caps() -> None:
    decision = await policy().decide(context(trending()))
    weights = {p.symbol: p.target_weight for p in decision.proposals}

    assert all(p.action is Action.BUY for p in decision.proposals)
    assert set(weights) == set(VOLS)
    assert max(weights.values()) <= 0.15
    assert sum(weights.values()) <= 1 - CASH_TARGET[Regime.BALANCED]


async def test_uncapped_weights_keep_inverse_volatility_proportions() -> None:
    decision = await policy(max_weight=0.5).decide(context(trending()))
    weights = {p.symbol: p.target_weight for p in decision.proposals}

    assert weights["AAA"] == weights["BBB"] == pytest.approx(0.20)  # 0.8 x the 25% risk limit
    assert weights["CCC"] / weights["EEE"] == pytest.approx(0.30 / 0.20, rel=1e-3)
    assert weights["DDD"] / weights["EEE"] == pytest.approx(0.30 / 0.25, rel=1e-3)
    assert sum(weights.values()) == pytest.approx(0.85, abs=0.001)


async def test_caps_follow_the_risk_limit_with_a_margin() -> None:
    decision = await policy(max_weight=0.5).decide(context(trending(), max_position_weight=0.10))

    assert max(p.target_weight for p in decision.proposals) == pytest.approx(0.08)


@pytest.mark.parametrize("regime", list(Regime))
async def test_invested_budget_depends_on_the_regime(regime: Regime) -> None:
    rows = {f"S{i:02d}": row(vol60=0.1) for i in range(20)}

    decision = await policy(max_positions=20).decide(context(rows, regime=regime))
    total = sum(p.target_weight for p in decision.proposals)

    assert total == pytest.approx(1 - CASH_TARGET[regime], abs=0.003)
    assert total <= 1 - CASH_TARGET[regime]
    assert regime.value in decision.market_view


async def test_inside_a_sleeve_the_regime_cash_is_left_to_the_allocator() -> None:
    rows = {f"S{i:02d}": row(vol60=0.1) for i in range(20)}
    sleeve = replace(context(rows, regime=Regime.DEFENSIVE, min_cash_weight=0.0, max_position_weight=1.0),
                     sleeve="us_equity")

    decision = await policy(max_positions=20).decide(sleeve)

    assert sum(p.target_weight for p in decision.proposals) == pytest.approx(1.0, abs=0.003)


async def test_cash_never_below_the_context_floor() -> None:
    rows = {f"S{i:02d}": row(vol60=0.1) for i in range(20)}

    decision = await policy(max_positions=20).decide(
        context(rows, regime=Regime.OPPORTUNISTIC, min_cash_weight=0.25))

    assert sum(p.target_weight for p in decision.proposals) <= 0.75


@pytest.mark.parametrize(
    "indicators",
    [row(close=95.0), row(sma50=98.0), row(sma200=math.nan, close=100.0, sma50=101.0),
     row(sma200=math.nan, sma50=math.nan), row(vol60=math.nan)],
    ids=["below-sma200", "sma50-below-sma200", "below-sma50-young", "no-averages", "no-volatility"],
)
async def test_symbols_without_a_measurable_uptrend_are_not_bought(indicators: dict[str, object]) -> None:
    decision = await policy().decide(context({**trending(), "ZZZ": indicators}))

    assert "ZZZ" not in by_symbol(decision)


async def test_young_listing_trends_on_sma50() -> None:
    rows = {**trending(), "NEW": row(sma200=math.nan, close=110.0, sma50=100.0, vol60=math.nan)}
    rows["NEW"]["vol20"] = 0.2

    decision = await policy().decide(context(rows))

    assert by_symbol(decision)["NEW"].action is Action.BUY
    assert "SMA50" in by_symbol(decision)["NEW"].thesis


async def test_only_the_best_scores_are_selected() -> None:
    rows = {f"S{i}": row(close=100 + i, vol60=0.2) for i in range(1, 9)}

    decision = await policy(max_positions=3).decide(context(rows))

    assert set(by_symbol(decision)) == {"S6", "S7", "S8"}


async def test_held_loser_is_cut_to_zero_at_once() -> None:
    holdings = {"CCC": HoldingView("CCC", weight=0.12, unrealized_pnl_pct=-0.10)}

    idea = by_symbol(await policy().decide(context(trending(), holdings=holdings)))["CCC"]

    assert (idea.action, idea.target_weight) == (Action.SELL, 0.0)
    assert "-10.0%" in idea.thesis and "loss aversion" in idea.thesis
    assert idea.confidence == 0.8


@pytest.mark.parametrize(
    ("indicators", "reason"),
    [(row(close=95.0), "lost its trend"), (row(drawdown_252=-0.2), "drawdown -20.0%")],
)
async def test_held_symbol_losing_trend_or_deep_in_drawdown_is_sold(indicators: dict[str, object], reason: str) -> None:
    holdings = {"ZZZ": HoldingView("ZZZ", weight=0.01, unrealized_pnl_pct=0.05)}

    idea = by_symbol(await policy().decide(context({**trending(), "ZZZ": indicators}, holdings=holdings)))["ZZZ"]

    assert (idea.action, idea.target_weight) == (Action.SELL, 0.0)  # exits ignore the band
    assert reason in idea.thesis


async def test_winner_is_added_by_at_most_add_step() -> None:
    holdings = {"AAA": HoldingView("AAA", weight=0.02, unrealized_pnl_pct=0.12)}

    idea = by_symbol(await policy(add_step=0.05).decide(context(trending(), holdings=holdings)))["AAA"]

    assert idea.action is Action.BUY
    assert idea.target_weight == pytest.approx(0.07)


async def test_change_inside_the_band_gives_a_hold_at_the_current_weight() -> None:
    fresh = by_symbol(await policy().decide(context(trending())))
    holdings = {s: HoldingView(s, weight=p.target_weight + 0.01, unrealized_pnl_pct=0.01) for s, p in fresh.items()}

    decision = await policy().decide(context(trending(), holdings=holdings))

    assert {p.action for p in decision.proposals} == {Action.HOLD}
    assert all(p.target_weight == holdings[p.symbol].weight for p in decision.proposals)


async def test_small_new_position_inside_the_band_is_not_proposed() -> None:
    rows = {f"S{i:02d}": row(vol60=0.1) for i in range(10)}
    rows["TINY"] = row(vol60=5.0)  # inverse-volatility weight far below the 2% band

    decision = await policy(max_positions=11).decide(context(rows))

    assert "TINY" not in by_symbol(decision)


async def test_overweight_winner_is_trimmed_at_once() -> None:
    holdings = {"AAA": HoldingView("AAA", weight=0.30, unrealized_pnl_pct=0.40)}

    idea = by_symbol(await policy().decide(context(trending(), holdings=holdings)))["AAA"]

    assert idea.action is Action.SELL
    assert idea.target_weight == pytest.approx(0.15)


async def test_targets_fit_a_smaller_defensive_budget() -> None:
    fresh = by_symbol(await policy().decide(context(trending())))
    holdings = {s: HoldingView(s, weight=p.target_weight, unrealized_pnl_pct=0.02) for s, p in fresh.items()}

    decision = await policy().decide(context(trending(), holdings=holdings, regime=Regime.DEFENSIVE))

    assert sum(p.target_weight for p in decision.proposals) <= 0.70 + 1e-9
    assert any(p.action is Action.SELL for p in decision.proposals)


async def test_overbought_rsi_lowers_confidence_below_the_risk_minimum() -> None:
    calm = by_symbol(await policy().decide(context({"AAA": row(rsi14=50.0)})))["AAA"]
    hot = by_symbol(await policy().decide(context({"AAA": row(rsi14=78.0)})))["AAA"]

    assert hot.confidence < 0.55 <= calm.confidence
    assert "overbought" in " ".join(hot.risk_factors)


@pytest.mark.parametrize("close", [100.5, 103.0, 110.0, 130.0, 200.0])
@pytest.mark.parametrize("rsi", [20.0, 50.0, 72.0, 95.0, math.nan])
async def test_confidence_stays_within_bounds(close: float, rsi: float) -> None:
    idea = by_symbol(await policy().decide(context({"AAA": row(close=close, rsi14=rsi)})))["AAA"]

    assert 0.4 <= idea.confidence <= 0.9


async def test_idea_numbers_follow_volatility() -> None:
    idea = by_symbol(await policy().decide(context({"AAA": row(vol60=0.40)})))["AAA"]
    sigma = 0.40 * math.sqrt(20 / 252)

    assert idea.time_horizon_days == 20
    assert idea.stop_loss_pct == pytest.approx(2 * sigma, abs=1e-4)
    assert idea.worst_case_loss_pct == pytest.approx(2.33 * sigma, abs=1e-4)
    assert 0 < idea.expected_upside_pct <= 1.5 * sigma
    assert idea.risk_factors and idea.catalysts and idea.exit_triggers
    assert "vol60 40.0%" in idea.thesis


async def test_stop_loss_is_at_least_five_percent() -> None:
    idea = by_symbol(await policy().decide(context({"AAA": row(vol60=0.05)})))["AAA"]

    assert idea.stop_loss_pct == 0.05


async def test_market_view_names_the_regime_and_its_inputs() -> None:
    decision = await policy().decide(context(trending(), regime=Regime.DEFENSIVE))

    assert decision.market_view.startswith("Regime defensive: median vol20 16.0%")
    assert "correlation 0.30" in decision.market_view and "cash target 30%" in decision.market_view


async def test_decision_is_deterministic_and_order_independent() -> None:
    holdings = {"CCC": HoldingView("CCC", 0.05, 0.03), "EEE": HoldingView("EEE", 0.04, -0.09)}
    forward = context(trending(), holdings=holdings)
    backward = context(dict(reversed(list(trending().items()))), holdings=dict(reversed(list(holdings.items()))))

    first = await policy().decide(forward)
    again = await policy().decide(forward)
    shuffled = await policy().decide(backward)

    assert first.model_dump() == again.model_dump() == shuffled.model_dump()


async def test_only_universe_symbols_are_proposed() -> None:
    holdings = {"GONE": HoldingView("GONE", 0.05, -0.5)}

    decision = await policy().decide(context(trending(), holdings=holdings))

    assert "GONE" not in by_symbol(decision)


async def test_held_symbol_without_indicators_is_held() -> None:
    rows = trending()
    instruments = {s: instrument(s) for s in [*rows, "NODATA"]}
    holdings = {"NODATA": HoldingView("NODATA", 0.05, 0.01)}

    idea = by_symbol(await policy().decide(context(rows, holdings=holdings, instruments=instruments)))["NODATA"]

    assert (idea.action, idea.target_weight) == (Action.HOLD, 0.05)


async def test_untradable_symbols_are_not_bought() -> None:
    instruments = {s: instrument(s, tradable=s != "AAA") for s in VOLS}

    decision = await policy().decide(context(trending(), instruments=instruments))

    assert "AAA" not in by_symbol(decision)


async def test_highly_correlated_candidates_are_not_doubled() -> None:
    symbols = list(VOLS)
    matrix = pd.DataFrame(np.eye(len(symbols)), index=symbols, columns=symbols)
    matrix.loc["AAA", "BBB"] = matrix.loc["BBB", "AAA"] = 0.95

    decision = await policy().decide(context(trending(), correlations=matrix))

    assert "AAA" in by_symbol(decision) and "BBB" not in by_symbol(decision)


async def test_asset_class_weight_stays_under_the_group_cap() -> None:
    rows = {f"EU{i}": row(vol60=0.1) for i in range(8)} | {f"US{i}": row(vol60=0.3) for i in range(4)}
    instruments = {s: instrument(s) for s in rows if s.startswith("EU")}
    us = AssetClass.US_EQUITY
    instruments |= {s: instrument(s, currency="USD", asset_class=us) for s in rows if s.startswith("US")}

    decision = await RulesPolicy(max_group_weight=0.32).decide(context(rows, instruments=instruments))
    eu = sum(p.target_weight for p in decision.proposals if p.symbol.startswith("EU"))

    assert eu <= 0.32 + 1e-9
    assert any(p.symbol.startswith("US") for p in decision.proposals)


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="max_weight"):
        RulesPolicy(max_weight=0)
    with pytest.raises(ValueError, match="max_positions"):
        RulesPolicy(max_positions=0)


class ArraysOnly(IndicatorSet):
    """An indicator set whose pandas frames must not be read."""

    @property
    def table(self) -> pd.DataFrame:
        raise AssertionError("the policy read the pandas table")

    @property
    def correlations(self) -> pd.DataFrame:
        raise AssertionError("the policy read the pandas correlations")

    @property
    def returns(self) -> pd.DataFrame:
        raise AssertionError("the policy read the pandas returns")


async def test_the_decision_reads_the_indicator_arrays_and_no_pandas_frame() -> None:
    symbols = list(VOLS)
    matrix = pd.DataFrame(np.eye(len(symbols)), index=symbols, columns=symbols)
    matrix.loc["AAA", "BBB"] = matrix.loc["BBB", "AAA"] = 0.95
    holdings = {"CCC": HoldingView("CCC", 0.05, 0.03), "EEE": HoldingView("EEE", 0.04, -0.09)}
    framed = context(trending(), holdings=holdings, correlations=matrix)
    indicators = framed.indicators
    arrays_only = replace(framed, indicators=ArraysOnly.of_arrays(
        indicators.as_of, indicators.arrays, indicators.regime, indicators.regime_inputs))

    decision = await policy().decide(arrays_only)
    ideas = {p.symbol: p for p in decision.proposals}

    assert decision.model_dump() == (await policy().decide(framed)).model_dump()
    assert "BBB" not in ideas and ideas["EEE"].action is Action.SELL


def test_signals_read_the_trend_against_the_longest_known_average() -> None:
    from agent.policies.rules_ideas import read_signals
    from tests.agent.factories import indicator_set

    rows = {
        "UP": row(close=120.0, sma50=110.0, sma200=100.0, vol60=0.2),
        "FADING": row(close=120.0, sma50=99.0, sma200=100.0, vol60=0.2),  # above SMA200, SMA50 below it
        "YOUNG": row(close=95.0, sma50=100.0, sma200=math.nan, vol60=math.nan),  # vol falls back to vol20
        "NEW": row(close=50.0, sma50=math.nan, sma200=math.nan),
    }
    rows["YOUNG"]["vol20"] = 0.3
    signals = read_signals(indicator_set(rows).arrays, ["NEW", "UP", "MISSING", "YOUNG", "FADING"])

    assert list(signals) == ["NEW", "UP", "YOUNG", "FADING"]  # the order asked, unknown symbols left out
    up, fading, young, new = signals["UP"], signals["FADING"], signals["YOUNG"], signals["NEW"]
    assert (up.trending, up.strength, up.long_average, up.vol) == (True, 120.0 / 100.0 - 1, "SMA200", 0.2)
    assert (fading.trending, fading.long_average) == (False, "SMA200")
    assert (young.trending, young.strength, young.long_average, young.vol) == (False, 95.0 / 100.0 - 1, "SMA50", 0.3)
    assert (new.trending, new.long_average, new.known) == (False, "no moving average", False)
    assert math.isnan(new.strength)
    assert all(type(s.trending) is bool and type(s.strength) is float for s in signals.values())


def test_a_row_map_is_looked_up_once_per_symbol_tuple() -> None:
    from agent.policies.rules_ideas import layout, read_signals
    from tests.agent.factories import indicator_set

    rows = {"AAA": row(vol60=0.2), "BBB": row(vol60=0.1), "CCC": row(close=90.0)}
    arrays, other = indicator_set(rows).arrays, indicator_set(rows).arrays  # two days: two row maps
    wanted = ("BBB", "MISSING", "AAA")

    first = layout(arrays.rows, wanted)
    assert layout(arrays.rows, wanted) is first  # the next day of the same panel reuses it
    assert layout(other.rows, wanted) is not first and layout(arrays.rows, ("AAA",)) is not first
    assert first.names == ("BBB", "AAA") and first.positions.tolist() == [arrays.rows["BBB"], arrays.rows["AAA"]]
    again, fresh = read_signals(arrays, list(wanted)), read_signals(other, list(wanted))
    assert [again[s] for s in again] == [fresh[s] for s in fresh]


def test_candidates_rank_held_first_then_by_score_then_symbol() -> None:
    from agent.policies.rules_ideas import read_signals
    from tests.agent.factories import indicator_set

    rows = {
        "AAA": row(vol60=0.2), "BBB": row(vol60=0.1), "CCC": row(vol60=0.1), "DDD": row(vol60=0.4),
        "EXIT": row(vol60=0.05), "FLAT": row(close=90.0, vol60=0.1),  # below its averages: not trending
    }
    signals = read_signals(indicator_set(rows).arrays, sorted(rows))
    expected = sorted((s for s in rows if s not in {"EXIT", "FLAT"}),
                      key=lambda s: (s != "DDD", -signals[s].score, s))  # the sort the selection used to do

    assert list(signals.ranked(first={"DDD": 1}, left_out={"EXIT": "cut"})) == expected == ["DDD", "BBB", "CCC", "AAA"]


async def test_a_day_without_any_indicator_row_buys_nothing() -> None:
    from agent.policies.rules_ideas import read_signals
    from tests.agent.factories import indicator_set

    empty = read_signals(indicator_set(trending()).arrays, ["MISSING"])
    decision = await policy().decide(context(trending(), instruments={"ZZZ": instrument("ZZZ")}))  # no row

    assert len(empty) == 0 and list(empty.ranked(first={}, left_out={})) == []
    assert decision.proposals == [] and "0 of 0 symbols trending" in decision.market_view
