"""The array replay returns exactly what the object replay returns: equity, fills, decisions, counts.

``bot.backtest.fast.replay_arrays`` and ``bot.backtest.engine.replay`` run on the same spec and are
compared field by field, record by record, on scenarios chosen to make every part work: FX-priced
and fractional instruments, opens that differ from closes, tight limits that fire clamps, cash
floors, approved borderline orders, and days ``risk.batch`` declines (then ``classify_batch``
decides them inside the array replay).

No command uses the array replay any more (issue 19): it keeps a same-day circuit breaker and counts
trades, holding periods and cooldowns on the execution day, where the object replay follows the
live desk. So the comparisons run with ``breaker_days=1`` and activity limits that never bind
(``ACTIVITY_OFF``), the domain where the two still agree, and leave out the object replay's own
counts (``OBJECT_ONLY``).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from datetime import date
from decimal import Decimal
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.indicator_panels import indicator_panels
from agent.market.base import PriceHistory
from agent.market.synthetic import SyntheticMarketData
from agent.policies.baselines import BuyAndHoldPolicy, EqualWeightPolicy
from agent.policies.rules import RulesPolicy
from agent.universe import Universe, load_universe, synthetic_universe
from bot.backtest import fast
from bot.backtest.engine import Replay, ReplayResult, replay
from bot.backtest.fast import replay_arrays
from bot.backtest.feed import price_decimal
from broker.simulated import SimConfig
from risk import batch_buys
from risk.limits import RiskLimits

LOOSE = RiskLimits(max_trades_per_day=1000, max_trades_per_week=100_000, min_holding_days=0, reentry_cooldown_days=0)
ACTIVITY_OFF = {k: v for k, v in LOOSE.model_dump().items() if k.startswith(("max_trades", "min_h", "re"))}
TIGHT = RiskLimits(max_cvar_95=0.012, min_cash_weight=0.3, max_asset_class_weight=0.25, max_position_weight=0.08,
                   **ACTIVITY_OFF)
DEFAULT = RiskLimits(**ACTIVITY_OFF)
OBJECT_ONLY = {"breaker_trips", "breaker_days", "stop_loss_sells", "policy_abstained"}


def _market(seed: int = 11, rows: int = 420, opens: bool = False) -> tuple[PriceHistory, Universe]:
    universe = load_universe("seed")
    history = SyntheticMarketData(seed=seed, base_currency=universe.base_currency).history(
        universe.instruments, date(2022, 6, 30), rows)
    if opens:
        rng = np.random.default_rng(seed)
        noise = 1 + rng.normal(0, 0.004, history.close.shape)
        history = replace(history, open=history.close * noise)
    return history, universe


def _spec(history: PriceHistory, universe: Universe, policy: object, limits: RiskLimits, **kw: object) -> Replay:
    return Replay(history=history, panels=indicator_panels(history), rows=range(260, len(history.close)),
                  universe=universe, policy=policy, limits=limits,  # type: ignore[arg-type]
                  sim=kw.pop("sim", SimConfig(base_currency=universe.base_currency)),  # type: ignore[arg-type]
                  breaker_days=1, **kw)  # type: ignore[arg-type]


def assert_same_replay(spec: Replay, *, kernel_days: int = 1) -> ReplayResult:
    """Both array replays (with the compiled kernel, and Python alone) equal the object replay.

    With the kernel, at least ``kernel_days`` days must have been its (the others are Python's).
    """
    expected = asyncio.run(replay(spec))
    assert expected.fills and expected.decisions, "nothing happened: the comparison would prove nothing"
    with patch.object(fast, "KERNEL", False):
        _assert_equal(replay_arrays(spec), expected)
    step = fast._Replayer._day_step
    with patch.object(fast._Replayer, "_day_step", autospec=True, side_effect=step) as python_days:
        got = replay_arrays(spec)
    _assert_equal(got, expected)
    assert got is not None and len(got.dates) - python_days.call_count >= kernel_days
    return got


def _assert_equal(got: ReplayResult | None, expected: ReplayResult) -> None:
    assert got is not None
    assert got.dates == expected.dates
    assert got.equity == expected.equity
    assert got.traded == expected.traded
    assert got.fills == expected.fills
    assert got.decisions == expected.decisions
    assert dict(got.counts) == {k: n for k, n in expected.counts.items() if k not in OBJECT_ONLY}
    assert dict(got.codes) == dict(expected.codes)
    assert len(repr(got)) < 300  # asyncio.run formats its result: a replay's repr must not list its records


@pytest.mark.parametrize("policy", [EqualWeightPolicy(), BuyAndHoldPolicy()], ids=["equal_weight", "buy_and_hold"])
def test_default_limits(policy: object) -> None:
    history, universe = _market()
    result = assert_same_replay(_spec(history, universe, policy, DEFAULT))
    assert result.counts["proposals_borderline"] > 0


@pytest.mark.parametrize("screen_from", [48, 0], ids=["ordered_pass", "vector_screen"])
def test_loose_activity_limits_with_opens_and_approved_borderline_orders(screen_from: int,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_buys, "SCREEN_FROM", screen_from)  # 30 instruments: only the pass, unless forced
    history, universe = _market(seed=3, opens=True)
    result = assert_same_replay(_spec(history, universe, EqualWeightPolicy(), LOOSE, approve_borderline=True))
    assert any(d.level == "BORDERLINE" and d.executed for d in result.decisions)


def test_tight_limits_fire_exposure_clamps() -> None:
    history, universe = _market(seed=5, opens=True)
    result = assert_same_replay(_spec(history, universe, EqualWeightPolicy(), TIGHT, approve_borderline=True))
    for code in ("ASSET_CLASS_WEIGHT_EXCEEDS_MAX", "CVAR_NEAR_MAX"):
        assert result.codes[code] > 0, code


def test_cvar_and_adv_clamps_executed_at_their_offered_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_buys, "SCREEN_FROM", 0)
    history, universe = _market(seed=5, opens=True)
    limits = LOOSE.model_copy(update={"max_cvar_95": 0.011, "max_adv_fraction": 0.00002})
    result = assert_same_replay(_spec(history, universe, EqualWeightPolicy(), limits, approve_borderline=True))
    assert result.codes["CVAR_EXCEEDS_MAX"] > 0 and result.codes["ADV_EXCEEDS_MAX"] > 0
    assert any(d.level == "BORDERLINE" and d.executed for d in result.decisions)


def test_costs_and_cash_that_runs_out() -> None:
    history, universe = _market(seed=8)
    sim = SimConfig(base_currency="EUR", initial_cash=Decimal(20_000), slippage_bps=Decimal(80),
                    commission_bps=Decimal(30), min_commission=Decimal(5))
    limits = RiskLimits(min_cash_weight=0.0, max_position_weight=0.5, max_asset_class_weight=1.0,
                        max_sector_weight=1.0, max_cvar_95=0.2, borderline_fraction=1.0, **{
                            k: v for k, v in LOOSE.model_dump().items() if k.startswith(("max_trades", "min_h", "re"))})
    result = assert_same_replay(_spec(history, universe, EqualWeightPolicy(), limits, sim=sim))
    assert result.counts["broker_rejected"] > 0  # bought at an open above the decision close, with no cash left


def test_days_the_batch_classifier_declines_are_classified_by_classify_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    history, universe = _market()
    declined = []

    def decline(*args: object) -> None:
        declined.append(1)

    monkeypatch.setattr(fast, "classify_day", decline)
    monkeypatch.setattr(fast, "KERNEL", False)  # the compiled days never ask classify_day
    assert_same_replay(_spec(history, universe, EqualWeightPolicy(), DEFAULT), kernel_days=0)
    assert declined


def test_a_wide_synthetic_universe_with_loose_limits() -> None:
    universe = synthetic_universe(90)  # more buys a day than the vector screen's threshold
    history = SyntheticMarketData(seed=2, base_currency=universe.base_currency).history(
        universe.instruments, date(2024, 3, 29), 320)
    sim = SimConfig(base_currency=universe.base_currency, initial_cash=Decimal(2_000_000))
    result = assert_same_replay(_spec(history, universe, EqualWeightPolicy(), LOOSE, sim=sim), kernel_days=40)
    assert result.counts["filled"] > 2_000


def test_a_policy_without_a_plan_is_left_to_the_object_replay() -> None:
    history, universe = _market(rows=300)
    assert replay_arrays(_spec(history, universe, RulesPolicy(), RiskLimits())) is None


def test_a_history_with_a_symbol_outside_the_universe_is_left_to_the_object_replay() -> None:
    history, universe = _market(rows=300)
    fewer = replace(universe, instruments=universe.instruments[1:])
    assert replay_arrays(_spec(history, fewer, EqualWeightPolicy(), RiskLimits())) is None


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.floats(min_value=0.0, max_value=1e12), st.just(float("nan")),
                 st.decimals(min_value=0, max_value=10**7, places=7).map(float),
                 st.integers(1, 10**9).map(lambda n: n / 1_000_000 + 5e-7)))
def test_price_decimal_is_the_rounded_repr_in_the_same_form(value: float) -> None:
    expected = Decimal(str(round(value, 6))) if math.isfinite(value) and value > 0 else None
    got = price_decimal(value)
    assert (got is None and expected is None) or str(got) == str(expected)


def test_missing_fx_a_stale_price_and_an_untradable_instrument() -> None:
    history, universe = _market(seed=9)
    fx = history.fx["USD"].copy()
    fx.iloc[:265] = np.nan  # the USD instruments have no rate for the first days of the replay
    close = history.close.copy()
    close.iloc[300:340, close.columns.get_loc("MC.PA")] = np.nan  # no price for 40 days: stale
    universe = replace(universe, instruments=tuple(
        i.model_copy(update={"tradable": False}) if i.symbol == "GLD" else i for i in universe.instruments))
    history = replace(history, fx={"USD": fx}, close=close)
    sim = SimConfig(base_currency="EUR", initial_cash=Decimal(5_000_000))  # a share is small: orders every day
    result = assert_same_replay(_spec(history, universe, EqualWeightPolicy(), LOOSE, sim=sim))
    assert result.codes["STALE_PRICE"] > 0
    assert result.codes["NO_PRICE"] > 0  # USD ideas without a rate: sized to nothing, refused on the record
    assert not any(d.symbol == "GLD" for d in result.decisions)
