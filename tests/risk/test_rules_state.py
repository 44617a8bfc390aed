"""Trading-state rules and the minimum holding period for profit-taking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from risk import rules_state as r
from risk.models import Level, TradingState
from tests.risk.cases import Case, check, params
from tests.risk.factories import AS_OF, base_holdings, context, holding, proposal, sell

U, B = Level.UNSAFE, Level.BORDERLINE
REDUCING, HALTED = TradingState.REDUCING, TradingState.HALTED


def young(days: int = 2, **states: TradingState) -> dict[str, Any]:
    """Context overrides where SPY (in profit) and TLT (losing) were opened ``days`` ago."""
    holdings = base_holdings()
    opened = AS_OF - timedelta(days=days)
    holdings["SPY"] = holding("SPY", 100, cost=9_000, opened_on=opened)
    holdings["TLT"] = holding("TLT", 200, cost=11_000, opened_on=opened)
    return {"holdings": holdings, **states}


CASES = [
    Case(
        "halted-sell",
        r.trading_halted,
        sell("SPY", 10),
        "TRADING_HALTED",
        U,
        ctx=context(trading_state=HALTED),
    ),
    Case(
        "halted-buy",
        r.trading_halted,
        proposal("IWM"),
        "TRADING_HALTED",
        U,
        ctx=context(trading_state=HALTED),
    ),
    Case("active-buy", r.trading_halted, proposal("IWM"), None),
    Case(
        "reducing-buy",
        r.trading_reducing,
        proposal("IWM"),
        "TRADING_REDUCING",
        U,
        ctx=context(trading_state=REDUCING),
    ),
    Case(
        "reducing-oversized-sell",
        r.trading_reducing,
        sell("SPY", 150),
        "TRADING_REDUCING",
        U,
        ctx=context(trading_state=REDUCING),
    ),
    Case("reducing-sell", r.trading_reducing, sell("SPY", 100), None, ctx=context(trading_state=REDUCING)),
    Case("active-buy-not-reducing", r.trading_reducing, proposal("IWM"), None),
    Case(
        "young-winner-sold",
        r.min_holding_period,
        sell("SPY", 50),
        "MIN_HOLDING_PERIOD",
        B,
        ctx=context(**young()),
    ),
    Case("young-loser-sold", r.min_holding_period, sell("TLT", 50), None, ctx=context(**young())),
    Case("winner-held-5-days", r.min_holding_period, sell("SPY", 50), None, ctx=context(**young(days=5))),
    Case(
        "young-winner-while-reducing",
        r.min_holding_period,
        sell("SPY", 50),
        None,
        ctx=context(**young(trading_state=REDUCING)),
    ),
    Case("young-winner-bought", r.min_holding_period, proposal("SPY", 1), None, ctx=context(**young())),
    Case(
        "unknown-open-date",
        r.min_holding_period,
        sell("SPY", 50),
        None,
        ctx=context(holdings={"SPY": holding("SPY", 100, cost=9_000, opened_on=None)}),
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_state_rule(case: Case) -> None:
    check(case)
