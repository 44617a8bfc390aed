"""The post-trade CVaR rule, on returns whose tail is easy to compute by hand.

``tail_returns`` gives 100 days of zero returns except a shock on the first 5 days, so the 95 %
CVaR (the mean of the worst 5 days) of a portfolio is minus the weighted shock.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk import rules_portfolio as r
from risk.models import Level
from tests.risk.cases import Case, check, params
from tests.risk.factories import context, limits, market, markets, proposal, returns_frame, sell, tail_returns

U, B, S = Level.UNSAFE, Level.BORDERLINE, Level.SAFE

# QQQ at 70 loses 30 % on the tail days: CVaR = 0.3 × weight; 3 % allows weight 0.1 = 142.86 shares.
QQQ_TAIL = context(returns=tail_returns({"QQQ": -0.3}), market=markets(QQQ=market("QQQ", 70)))
# SPY (10 %) already loses 50 % on the tail days: pre-trade CVaR is 5 %.
SPY_TAIL = context(returns=tail_returns({"SPY": -0.5, "QQQ": -0.3}))
SPY_HEDGED_BY_QQQ = context(
    returns=tail_returns({"SPY": -0.5, "QQQ": 0.5}), market=markets(QQQ=market("QQQ", 70))
)


CASES = [
    Case(
        "cvar-4.2pct",
        r.cvar_limit,
        proposal("QQQ", 200, price=70),
        "CVAR_EXCEEDS_MAX",
        B,
        ctx=QQQ_TAIL,
        clamp=Decimal(142),
    ),
    Case("cvar-already-5pct", r.cvar_limit, proposal("QQQ", 10), "CVAR_EXCEEDS_MAX", U, ctx=SPY_TAIL),
    Case("cvar-2.52pct", r.cvar_limit, proposal("QQQ", 120, price=70), "CVAR_NEAR_MAX", B, ctx=QQQ_TAIL),
    Case("cvar-2.1pct", r.cvar_limit, proposal("QQQ", 100, price=70), None, ctx=QQQ_TAIL),
    Case("cvar-hedge-while-above", r.cvar_limit, proposal("QQQ", 143, price=70), None, ctx=SPY_HEDGED_BY_QQQ),
    Case("cvar-sell", r.cvar_limit, sell("SPY", 10), None, ctx=SPY_TAIL),
    Case("cvar-no-returns", r.cvar_limit, proposal(), "CVAR_UNKNOWN", S, ctx=context(returns=None)),
    Case(
        "cvar-no-history",
        r.cvar_limit,
        proposal(),
        "CVAR_UNKNOWN",
        S,
        ctx=context(returns=returns_frame(["SPY", "TLT"])),
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_cvar_rule(case: Case) -> None:
    check(case)


def test_cvar_clamp_for_fractional_shares_is_within_a_step_of_the_bound() -> None:
    """GLD (fractional, 100 held) loses 10 % on tail days: 3 % allows weight 0.3, i.e. 50 more shares."""
    ctx = context(returns=tail_returns({"GLD": -0.1}))
    hit = r.cvar_limit(proposal("GLD", 80), ctx, limits(max_position_weight=1.0))
    assert hit is not None
    assert hit.clamp_quantity is not None
    assert Decimal("49.9990") <= hit.clamp_quantity <= Decimal(50)
    assert hit.clamp_quantity.as_tuple().exponent == -4


def test_cvar_detail_reports_before_and_after() -> None:
    hit = r.cvar_limit(proposal("QQQ", 200, price=70), QQQ_TAIL, limits())
    assert hit is not None
    assert hit.detail == {"cvar": 0.042, "cvar_before": 0.0, "max": 0.03}
