"""classify, clamping, project and classify_batch on the base context (equity 100,000)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from risk import RULES, classify, classify_batch, project
from risk.limits import RiskLimits
from risk.models import Hit, Level, RiskContext, TradeProposal, TradingState
from tests.risk.factories import (
    AS_OF,
    base_holdings,
    context,
    holding,
    limits,
    market,
    markets,
    proposal,
    sell,
)


def test_small_buy_is_safe() -> None:
    verdict = classify(proposal("IWM", 100), context(), limits())
    assert verdict.level is Level.SAFE
    assert verdict.hits == ()
    assert verdict.clamped is None


def test_asked_32_percent_is_clamped_to_25_percent() -> None:
    verdict = classify(proposal("IWM", 640), context(), limits())
    assert verdict.level is Level.BORDERLINE
    assert "POSITION_WEIGHT_EXCEEDS_MAX" in verdict.codes
    assert verdict.clamped is not None
    assert verdict.clamped.quantity == Decimal(500)
    assert verdict.clamped.id == "p1"
    assert verdict.clamp is not None
    assert verdict.clamp.quantity_before == Decimal(640)
    assert verdict.clamp.quantity_after == Decimal(500)
    assert verdict.clamp.weight_before == pytest.approx(0.32)
    assert verdict.clamp.weight_after == pytest.approx(0.25)


def test_clamp_is_whole_shares() -> None:
    verdict = classify(proposal("IWM", 667, price=48), context(), limits())
    assert verdict.clamp is not None
    assert verdict.clamp.quantity_after == Decimal(520)
    assert verdict.clamp.weight_after == pytest.approx(0.2496)


def test_clamp_takes_the_smallest_offer() -> None:
    """Cash 25,000, equity 75,000: the position allows 375 shares, the cash floor only 350."""
    verdict = classify(proposal("IWM", 640), context(cash=Decimal(25_000)), limits())
    assert {"POSITION_WEIGHT_EXCEEDS_MAX", "CASH_BELOW_FLOOR"} <= set(verdict.codes)
    assert verdict.clamped is not None
    assert verdict.clamped.quantity == Decimal(350)


def test_unsafe_verdict_offers_no_clamp() -> None:
    ctx = context(market=markets(IWM=market("IWM", volatility=0.9)))
    verdict = classify(proposal("IWM", 640), ctx, limits())
    assert verdict.level is Level.UNSAFE
    assert {"POSITION_WEIGHT_EXCEEDS_MAX", "VOLATILITY_EXCEEDS_MAX"} <= set(verdict.codes)
    assert verdict.clamped is None
    assert verdict.clamp is None


def test_clamp_that_would_be_unsafe_makes_the_verdict_unsafe() -> None:
    def offers_half(p: TradeProposal, ctx: RiskContext, lim: RiskLimits) -> Hit | None:
        return Hit.borderline("TOO_BIG", clamp_quantity=p.quantity / 2)

    def needs_100(p: TradeProposal, ctx: RiskContext, lim: RiskLimits) -> Hit | None:
        return Hit.unsafe("TOO_SMALL") if p.quantity < 100 else None

    verdict = classify(proposal("IWM", 150), context(), limits(), rules=(offers_half, needs_100))
    assert verdict.level is Level.UNSAFE
    assert verdict.codes == ["TOO_BIG", "CLAMP_NOT_SAFE"]
    assert verdict.hits[-1].detail == {"quantity": "75", "codes": "TOO_SMALL"}
    assert verdict.clamped is None


def test_borderline_without_size_problem_offers_no_clamp() -> None:
    verdict = classify(proposal("IWM", 100, confidence=0.3), context(), limits())
    assert verdict.level is Level.BORDERLINE
    assert verdict.codes == ["LOW_CONFIDENCE"]
    assert verdict.clamped is None


def test_missing_data_is_unsafe_without_crashing_other_rules() -> None:
    no_price = proposal("IWM").model_copy(update={"price": None})
    assert classify(no_price, context(), limits()).codes == ["NO_PRICE"]
    unknown = classify(proposal("ZZZ"), context(), limits())
    assert unknown.level is Level.UNSAFE
    assert unknown.codes == ["UNKNOWN_SYMBOL", "NO_PRICE"]
    broken = classify(proposal("IWM"), context(equity=Decimal("NaN")), limits())
    assert broken.codes == ["NON_FINITE_EQUITY"]


def bad_day(**overrides: object) -> RiskContext:
    """Every buy limit is breached: drawdown, circuit breaker, cash, trades, volatility, CVaR."""
    return context(
        peak_equity=Decimal(200_000),
        day_return=-0.1,
        cash=Decimal(0),
        trades_today=50,
        trades_this_week=50,
        market=markets(SPY=market("SPY", volatility=2.0)),
        **overrides,
    )


@pytest.mark.parametrize(
    ("state", "level"),
    [
        pytest.param(TradingState.ACTIVE, Level.SAFE, id="active"),
        pytest.param(TradingState.REDUCING, Level.SAFE, id="reducing"),
        pytest.param(TradingState.HALTED, Level.UNSAFE, id="halted"),
    ],
)
def test_risk_reducing_sell_is_safe_unless_halted(state: TradingState, level: Level) -> None:
    verdict = classify(sell("SPY", 60), bad_day(trading_state=state), limits())
    assert verdict.level is level
    assert verdict.codes == ([] if level is Level.SAFE else ["TRADING_HALTED"])


def test_buy_is_unsafe_while_reducing() -> None:
    verdict = classify(proposal("IWM", 10), context(trading_state=TradingState.REDUCING), limits())
    assert verdict.codes == ["TRADING_REDUCING"]


def young_holdings() -> dict[str, object]:
    """SPY in profit and TLT at a loss, both bought two days ago."""
    opened = AS_OF - timedelta(days=2)
    return {
        **base_holdings(),
        "SPY": holding("SPY", 100, cost=9_000, opened_on=opened),
        "TLT": holding("TLT", 200, cost=11_000, opened_on=opened),
    }


def test_taking_profit_on_a_young_position_needs_a_human() -> None:
    verdict = classify(sell("SPY", 100), context(holdings=young_holdings()), limits())
    assert verdict.level is Level.BORDERLINE
    assert verdict.codes == ["MIN_HOLDING_PERIOD"]


def test_cutting_a_young_loser_is_safe() -> None:
    verdict = classify(sell("TLT", 200), context(holdings=young_holdings()), limits())
    assert verdict.level is Level.SAFE


def test_taking_profit_while_reducing_is_safe() -> None:
    ctx = context(holdings=young_holdings(), trading_state=TradingState.REDUCING)
    assert classify(sell("SPY", 100), ctx, limits()).level is Level.SAFE


def test_project_buy_opens_a_holding() -> None:
    ctx = project(context(trades_today=2, trades_this_week=5), proposal("IWM", 100))
    new = ctx.holdings["IWM"]
    assert (new.quantity, new.market_value_base, new.cost_base) == (
        Decimal(100),
        Decimal(5000),
        Decimal(5000),
    )
    assert new.opened_on == AS_OF
    assert ctx.cash == Decimal(45_000)
    assert ctx.equity == Decimal(100_000)
    assert (ctx.trades_today, ctx.trades_this_week) == (3, 6)


def test_project_buy_adds_to_a_holding_and_keeps_its_open_date() -> None:
    before = context()
    after = project(before, proposal("SPY", 10))
    spy = after.holdings["SPY"]
    assert (spy.quantity, spy.market_value_base, spy.cost_base) == (
        Decimal(110),
        Decimal(11_000),
        Decimal(10_000),
    )
    assert spy.opened_on == before.holdings["SPY"].opened_on


def test_project_partial_sell_reduces_value_and_cost_pro_rata() -> None:
    after = project(context(), sell("SPY", 25))
    spy = after.holdings["SPY"]
    assert (spy.quantity, spy.market_value_base, spy.cost_base) == (
        Decimal(75),
        Decimal(7_500),
        Decimal(6_750),
    )
    assert after.cash == Decimal(52_500)
    assert after.equity == Decimal(100_000)
    assert "SPY" not in after.last_exit


def test_project_full_sell_removes_the_holding_and_records_the_exit() -> None:
    after = project(context(), sell("SPY", 100, price=110))
    assert "SPY" not in after.holdings
    assert after.last_exit["SPY"] == AS_OF
    assert after.cash == Decimal(61_000)
    # Sold 1,000 above the mark.
    assert after.equity == Decimal(101_000)


@pytest.mark.parametrize(
    "p",
    [
        pytest.param(sell("SPY", 101), id="short"),
        pytest.param(sell("IWM", 1), id="not-held"),
        pytest.param(proposal("IWM").model_copy(update={"price": None}), id="no-price"),
    ],
)
def test_project_refuses_a_trade_that_cannot_be_safe(p: TradeProposal) -> None:
    with pytest.raises(ValueError, match="cannot project"):
        project(context(), p)


def test_batch_later_proposals_see_the_safe_ones() -> None:
    """IWM 15 % is SAFE; another 10 % alone would be SAFE, but on top of it is 25 % (near the max)."""
    first, second = proposal("IWM", 300, pid="a"), proposal("IWM", 200, pid="b")
    assert classify(second, context(), limits()).level is Level.SAFE
    verdicts = classify_batch([first, second], context(), limits())
    assert [v.level for v in verdicts] == [Level.SAFE, Level.BORDERLINE]
    assert "POSITION_WEIGHT_NEAR_MAX" in verdicts[1].codes


def test_batch_does_not_apply_borderline_proposals() -> None:
    verdicts = classify_batch([proposal("IWM", 640), proposal("IWM", 300)], context(), limits())
    assert [v.level for v in verdicts] == [Level.BORDERLINE, Level.SAFE]


def test_batch_counts_trades() -> None:
    lim = limits(max_trades_per_day=3, borderline_fraction=1.0)
    buys = [proposal(symbol, 10, pid=symbol) for symbol in ("IWM", "QQQ", "AIR.PA", "SPY")]
    verdicts = classify_batch(buys, context(), lim)
    assert [v.level for v in verdicts] == [Level.SAFE, Level.SAFE, Level.SAFE, Level.UNSAFE]
    assert verdicts[3].codes == ["TRADES_PER_DAY_EXCEEDED"]


def test_batch_sell_out_then_buy_back_hits_the_cooldown() -> None:
    verdicts = classify_batch([sell("SPY", 100), proposal("SPY", 10)], context(), limits())
    assert [v.level for v in verdicts] == [Level.SAFE, Level.BORDERLINE]
    assert verdicts[1].codes == ["REENTRY_COOLDOWN"]


def test_rules_are_ordered_data_first() -> None:
    names = [rule.__name__ for rule in RULES]
    assert names[:3] == ["unknown_symbol", "not_tradable", "no_price"]
    assert len(names) == len(set(names))


def test_approved_borderline_orders_are_counted_before_the_next_is_classified() -> None:
    """IWM to 22 % is BORDERLINE (near the 25 % cap); approved, a second IWM buy of 5 % would exceed the cap."""
    first, second = proposal("IWM", 440, pid="a"), proposal("IWM", 100, pid="b")
    plain = classify_batch([first, second], context(), limits())
    assert [v.level for v in plain] == [Level.BORDERLINE, Level.SAFE]  # a human may still refuse the first
    approved = classify_batch([first, second], context(), limits(), borderline_approved=True)
    assert [v.level for v in approved] == [Level.BORDERLINE, Level.BORDERLINE]
    assert "POSITION_WEIGHT_EXCEEDS_MAX" in approved[1].codes
    assert approved[1].clamped is not None and approved[1].clamped.quantity == Decimal(60)
