"""Market rules: drawdown, circuit breaker, volatility, correlation and liquidity."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from risk import rules_market as r
from risk.models import Level
from tests.risk.cases import Case, check, params
from tests.risk.factories import (
    base_holdings,
    context,
    correlation_matrix,
    holding,
    limits,
    market,
    markets,
    proposal,
    sell,
)

U, B, S = Level.UNSAFE, Level.BORDERLINE, Level.SAFE
IWM_SPY_09 = correlation_matrix({("IWM", "SPY"): 0.9})


def iwm(**facts: Any) -> dict[str, Any]:
    """Context overrides with IWM's market facts changed."""
    return {"market": markets(IWM=market("IWM", **facts))}


CASES = [
    # Equity 100,000.
    Case(
        "drawdown-16.7pct",
        r.drawdown_limit,
        proposal(),
        "DRAWDOWN_HALTS_BUYS",
        U,
        ctx=context(peak_equity=Decimal(120_000)),
    ),
    Case(
        "drawdown-13pct",
        r.drawdown_limit,
        proposal(),
        "DRAWDOWN_NEAR_MAX",
        B,
        ctx=context(peak_equity=Decimal(115_000)),
    ),
    Case("drawdown-9pct", r.drawdown_limit, proposal(), None, ctx=context(peak_equity=Decimal(110_000))),
    Case("drawdown-sell", r.drawdown_limit, sell("SPY", 1), None, ctx=context(peak_equity=Decimal(200_000))),
    Case("day-down-3pct", r.circuit_breaker, proposal(), "CIRCUIT_BREAKER", U, ctx=context(day_return=-0.03)),
    Case("day-down-2.9pct", r.circuit_breaker, proposal(), None, ctx=context(day_return=-0.029)),
    Case("day-down-sell", r.circuit_breaker, sell("SPY", 1), None, ctx=context(day_return=-0.1)),
    Case(
        "vol-61pct",
        r.volatility_limit,
        proposal(),
        "VOLATILITY_EXCEEDS_MAX",
        U,
        ctx=context(**iwm(volatility=0.61)),
    ),
    Case(
        "vol-50pct",
        r.volatility_limit,
        proposal(),
        "VOLATILITY_NEAR_MAX",
        B,
        ctx=context(**iwm(volatility=0.5)),
    ),
    Case("vol-40pct", r.volatility_limit, proposal(), None, ctx=context(**iwm(volatility=0.4))),
    Case(
        "vol-unknown",
        r.volatility_limit,
        proposal(),
        "VOLATILITY_UNKNOWN",
        S,
        ctx=context(**iwm(volatility=None)),
    ),
    Case(
        "corr-0.9-with-spy",
        r.correlation_limit,
        proposal(),
        "CORRELATED_WITH_HOLDING",
        B,
        ctx=context(correlations=IWM_SPY_09),
    ),
    Case(
        "corr-0.85-with-spy",
        r.correlation_limit,
        proposal(),
        None,
        ctx=context(correlations=correlation_matrix({("IWM", "SPY"): 0.85})),
    ),
    Case(
        "corr-0.9-small-holding",
        r.correlation_limit,
        proposal(),
        None,
        ctx=context(correlations=IWM_SPY_09, holdings={**base_holdings(), "SPY": holding("SPY", 40)}),
    ),
    Case(
        "corr-0.9-with-itself",
        r.correlation_limit,
        proposal("SPY"),
        None,
        ctx=context(correlations=correlation_matrix({("SPY", "SPY"): 1.0})),
    ),
    Case(
        "corr-unknown",
        r.correlation_limit,
        proposal(),
        "CORRELATION_UNKNOWN",
        S,
        ctx=context(correlations=None),
    ),
    # ADV 100,000 allows 1,000 a day; IWM costs 50.
    Case(
        "adv-1.5pct",
        r.adv_limit,
        proposal("IWM", 30),
        "ADV_EXCEEDS_MAX",
        B,
        ctx=context(**iwm(adv_base=Decimal(100_000))),
        clamp=Decimal(20),
    ),
    Case(
        "adv-too-thin",
        r.adv_limit,
        proposal("IWM", 1),
        "ADV_EXCEEDS_MAX",
        U,
        ctx=context(**iwm(adv_base=Decimal(1_000))),
    ),
    Case("adv-1pct", r.adv_limit, proposal("IWM", 20), None, ctx=context(**iwm(adv_base=Decimal(100_000)))),
    Case("adv-unknown", r.adv_limit, proposal(), "ADV_UNKNOWN", S, ctx=context(**iwm(adv_base=None))),
]


@pytest.mark.parametrize("case", params(CASES))
def test_market_rule(case: Case) -> None:
    check(case)


def test_correlation_names_the_most_correlated_large_holding() -> None:
    matrix = correlation_matrix({("IWM", "SPY"): 0.9, ("IWM", "GLD"): 0.95})
    hit = r.correlation_limit(proposal(), context(correlations=matrix), limits())
    assert hit is not None
    assert hit.detail == {"holding": "GLD", "correlation": 0.95, "max": 0.85}
