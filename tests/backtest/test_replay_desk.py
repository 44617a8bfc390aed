"""The replay does what the daemon does during the day: stop-losses, a breaker that lasts, activity counts.

Scenarios on a hand-written market of three funds (EUR, no costs, limits that only the rule under
test can hit) and a scripted policy, so every number is known in advance.
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from agent.indicator_panels import indicator_panels
from agent.market.base import PriceHistory
from agent.policies.base import PolicyContext
from agent.schema import PolicyDecision
from agent.universe import Universe
from bot.backtest.engine import FillRecord, Replay, ReplayResult, replay
from broker.models import AssetClass, Instrument
from broker.simulated import SimConfig
from risk.limits import RiskLimits
from tests.fakes.llm_answers import decision, idea

FUNDS = ("FUND", "BOND", "GOLD")
ROWS = 12
FREE = SimConfig(base_currency="EUR", slippage_bps=Decimal(0), commission_bps=Decimal(0), min_commission=Decimal(0))
OPEN_LIMITS = RiskLimits(max_position_weight=1.0, min_cash_weight=0.0, max_asset_class_weight=1.0,
                         max_sector_weight=1.0, max_volatility=10.0, max_cvar_95=1.0, borderline_fraction=1.0,
                         max_drawdown=1.0, min_holding_days=0, reentry_cooldown_days=0)


class Script:
    """A policy that answers a prepared decision on given rows, and nothing on the others."""

    name = "script"

    def __init__(self, dates: list[date], by_row: dict[int, dict[str, Any]]) -> None:
        self.by_day = {dates[row]: PolicyDecision.model_validate(doc) for row, doc in by_row.items()}

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """The prepared decision of the day, or an empty one."""
        return self.by_day.get(context.as_of, PolicyDecision(market_view="nothing to do", proposals=[]))


def market(fund: dict[int, tuple[float, float, float]] | None = None) -> tuple[PriceHistory, Universe]:
    """Flat funds at 100 (open, low and close); ``fund`` sets FUND's (open, low, close) on some rows."""
    index = pd.bdate_range("2024-03-04", periods=ROWS)
    frames = {kind: pd.DataFrame(100.0, index=index, columns=list(FUNDS)) for kind in ("open", "low", "close")}
    for row, bar in (fund or {}).items():
        for kind, value in zip(("open", "low", "close"), bar, strict=True):
            frames[kind].iloc[row, 0] = value
    close = frames["close"]
    history = PriceHistory(close=close, volume=close * 0 + 1e9, fx={}, source="test", synthetic=True,
                           base_currency="EUR", currencies=dict.fromkeys(FUNDS, "EUR"), open=frames["open"],
                           low=frames["low"])
    instruments = tuple(Instrument(symbol=s, asset_class=AssetClass.US_EQUITY, sector=s.lower(), currency="EUR",
                                   exchange="XPAR", fractional=True) for s in FUNDS)
    return history, Universe(base_currency="EUR", instruments=instruments, name="three funds")


def run(history: PriceHistory, universe: Universe, by_row: dict[int, dict[str, Any]], limits: RiskLimits = OPEN_LIMITS,
        **kw: Any) -> ReplayResult:
    policy = Script([day(history, r) for r in range(ROWS)], by_row)
    spec = Replay(history=history, panels=indicator_panels(history), rows=range(ROWS), universe=universe,
                  policy=policy, limits=limits, sim=FREE, **kw)
    return asyncio.run(replay(spec))


def stop_fill(result: ReplayResult) -> FillRecord:
    [fill] = [f for f in result.fills if f.client_order_id.startswith("s")]
    return fill


def day(history: PriceHistory, row: int) -> date:
    stamp: pd.Timestamp = history.close.index[row]
    return stamp.date()


BREAKER_CODES = {"CIRCUIT_BREAKER", "TRADING_REDUCING"}
BUY_WITH_STOP = {0: decision(idea("FUND", 0.5, stop_loss_pct=0.05))}  # filled at row 1's open (100): stop 95


def test_a_stop_on_a_gap_down_day_sells_at_the_open_below_the_stop() -> None:
    history, universe = market({4: (90.0, 88.0, 91.0)})
    result = run(history, universe, BUY_WITH_STOP)
    fill = stop_fill(result)
    assert (fill.day, fill.side, Decimal(fill.price), fill.status) == (day(history, 4), "sell", Decimal(90), "filled")
    assert Decimal(fill.quantity) == Decimal(500)  # the whole holding
    assert result.counts["stop_loss_sells"] == 1
    [record] = [d for d in result.decisions if d.id == fill.client_order_id]
    assert record.level == "SAFE" and record.executed
    assert result.equity[4] == Decimal(95_000)  # 500 shares lost 10 each at the open


def test_a_stop_touched_by_the_day_low_sells_at_the_stop() -> None:
    history, universe = market({4: (99.0, 94.0, 97.0)})
    result = run(history, universe, BUY_WITH_STOP)
    fill = stop_fill(result)
    assert (fill.day, Decimal(fill.price)) == (day(history, 4), Decimal(95))
    assert result.counts["stop_loss_sells"] == 1
    assert result.equity[4] == Decimal(97_500)


def test_a_low_above_the_stop_sells_nothing_and_without_lows_the_close_triggers() -> None:
    history, universe = market({4: (99.0, 95.5, 97.0)})
    assert run(history, universe, BUY_WITH_STOP).counts["stop_loss_sells"] == 0
    closes_only, _ = market({4: (100.0, 100.0, 94.0)})
    without = PriceHistory(close=closes_only.close, volume=closes_only.volume, fx={}, source="test", synthetic=True,
                           base_currency="EUR", currencies=closes_only.currencies)
    fill = stop_fill(run(without, universe, BUY_WITH_STOP))
    assert Decimal(fill.price) == Decimal(94)  # neither open nor low: the close is the only price known


def test_the_circuit_breaker_carries_over_to_the_next_days() -> None:
    history, universe = market({5: (100.0, 89.0, 90.0), **dict.fromkeys(range(6, ROWS), (90.0, 90.0, 90.0))})
    buys = {0: decision(idea("FUND", 0.5, stop_loss_pct=None)),
            **{r: decision(idea("BOND", 0.05 * (r - 4))) for r in (5, 6, 7)}}
    result = run(history, universe, buys, breaker_days=2)  # FUND -10% at half the book: the day is -5%
    levels = {d.day: (d.level, set(d.codes) & BREAKER_CODES) for d in result.decisions if d.symbol == "BOND"}
    assert levels[day(history, 5)] == ("UNSAFE", BREAKER_CODES)  # the trip day: the drop and the state
    assert levels[day(history, 6)] == ("UNSAFE", {"TRADING_REDUCING"})  # the next day: still REDUCING
    assert levels[day(history, 7)] == ("SAFE", set())  # after breaker_days, ACTIVE again
    assert (result.counts["breaker_trips"], result.counts["breaker_days"]) == (1, 2)
    one_day = run(history, universe, buys, breaker_days=1)
    assert [d.level for d in one_day.decisions if d.day == day(history, 6)] == ["SAFE"]


def test_a_stop_loss_sell_uses_the_days_trade_budget_before_the_close() -> None:
    history, universe = market({4: (99.0, 94.0, 97.0)})
    two_a_day = OPEN_LIMITS.model_copy(update={"max_trades_per_day": 2})
    buys = {**BUY_WITH_STOP, 4: decision(idea("BOND", 0.2), idea("GOLD", 0.2))}
    result = run(history, universe, buys, limits=two_a_day)
    assert result.counts["stop_loss_sells"] == 1
    verdicts = {d.symbol: (d.level, "TRADES_PER_DAY_EXCEEDED" in d.codes) for d in result.decisions
                if d.day == day(history, 4)}
    # The stop-loss sell of FUND was the day's trade 1, so BOND is trade 2 and GOLD one too many.
    assert verdicts == {"FUND": ("SAFE", False), "BOND": ("SAFE", False), "GOLD": ("UNSAFE", True)}


def test_fills_count_on_the_day_they_were_decided() -> None:
    history, universe = market()
    weekly = OPEN_LIMITS.model_copy(update={"max_trades_per_week": 2})
    # Friday's two buys fill on Monday's open but count in Friday's week: Monday's buy is the week's first.
    buys = {4: decision(idea("FUND", 0.2), idea("BOND", 0.2)), 5: decision(idea("GOLD", 0.2))}
    assert day(history, 4).isoweekday() == 5
    result = run(history, universe, buys, limits=weekly)
    assert {d.symbol: d.level for d in result.decisions} == {"FUND": "SAFE", "BOND": "SAFE", "GOLD": "SAFE"}
    assert [f.day for f in result.fills] == [day(history, 5)] * 2 + [day(history, 6)]


def test_holding_periods_and_cooldowns_run_from_the_day_the_order_was_decided() -> None:
    history, universe = market(dict.fromkeys(range(2, ROWS), (105.0, 105.0, 105.0)))
    limits = OPEN_LIMITS.model_copy(update={"min_holding_days": 2, "reentry_cooldown_days": 2})
    script = {0: decision(idea("FUND", 0.5, stop_loss_pct=None)),  # Monday; filled Tuesday
              2: decision(idea("FUND", 0.0, action="SELL")),  # Wednesday, in profit: held two days
              4: decision(idea("FUND", 0.3, stop_loss_pct=None))}  # Friday: exited two days ago
    result = run(history, universe, script, limits=limits)
    held = {d.day: (d.side, d.level, d.codes) for d in result.decisions}
    assert held[day(history, 2)] == ("sell", "SAFE", ())  # MIN_HOLDING_PERIOD counted from the fill would bite
    assert held[day(history, 4)][:2] == ("buy", "SAFE") and "REENTRY_COOLDOWN" not in held[day(history, 4)][2]
