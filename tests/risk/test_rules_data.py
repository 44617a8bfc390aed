"""Data-integrity rules: unknown inputs are UNSAFE for buys and sells alike."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from risk import rules_data as r
from risk.models import Level
from tests.risk.cases import Case, check, params
from tests.risk.factories import AS_OF, UNIVERSE, context, market, markets, proposal, sell, with_instrument

U = Level.UNSAFE

CASES = [
    Case("unknown-symbol-buy", r.unknown_symbol, proposal("ZZZ"), "UNKNOWN_SYMBOL", U),
    Case("unknown-symbol-sell", r.unknown_symbol, sell("ZZZ", 1), "UNKNOWN_SYMBOL", U),
    Case("known-symbol", r.unknown_symbol, proposal("IWM"), None),
    Case(
        "untradable-instrument",
        r.not_tradable,
        proposal("IWM"),
        "NOT_TRADABLE_AT_BROKER",
        U,
        ctx=context(instruments=with_instrument(tradable=False)),
    ),
    Case(
        "not-listed-at-broker",
        r.not_tradable,
        sell("SPY", 1),
        "NOT_TRADABLE_AT_BROKER",
        U,
        ctx=context(tradable=frozenset({"IWM"})),
    ),
    Case("listed-at-broker", r.not_tradable, proposal("IWM"), None, ctx=context(tradable=frozenset({"IWM"}))),
    Case("no-broker-list", r.not_tradable, proposal("IWM"), None),
    Case(
        "no-market-facts",
        r.no_price,
        proposal("IWM"),
        "NO_PRICE",
        U,
        ctx=context(market={k: v for k, v in markets().items() if k != "IWM"}),
    ),
    Case("no-proposal-price", r.no_price, proposal("IWM").model_copy(update={"price": None}), "NO_PRICE", U),
    Case("no-fx-rate", r.no_price, sell("SPY", 1, fx_rate=None), "NO_PRICE", U),
    Case("priced", r.no_price, proposal("IWM"), None),
    Case(
        "price-6-days-old",
        r.stale_price,
        sell("SPY", 1),
        "STALE_PRICE",
        U,
        ctx=context(market=markets(SPY=market("SPY", price_date=AS_OF - timedelta(days=6)))),
    ),
    Case(
        "price-5-days-old",
        r.stale_price,
        sell("SPY", 1),
        None,
        ctx=context(market=markets(SPY=market("SPY", price_date=AS_OF - timedelta(days=5)))),
    ),
    Case("zero-quantity", r.zero_quantity, proposal("IWM", 0), "ZERO_QUANTITY", U),
    Case("one-share", r.zero_quantity, proposal("IWM", 1), None),
    Case("sell-more-than-held", r.sell_exceeds_position, sell("SPY", 101), "SELL_EXCEEDS_POSITION", U),
    Case("sell-not-held", r.sell_exceeds_position, sell("IWM", 1), "SELL_EXCEEDS_POSITION", U),
    Case("sell-all-held", r.sell_exceeds_position, sell("SPY", 100), None),
    Case("buy-is-no-short", r.sell_exceeds_position, proposal("IWM", 10**6), None),
    Case(
        "buy-with-nan-equity",
        r.no_equity,
        proposal("IWM"),
        "NON_FINITE_EQUITY",
        U,
        ctx=context(equity=Decimal("NaN")),
    ),
    Case(
        "buy-with-zero-equity", r.no_equity, proposal("IWM"), "NO_EQUITY", U, ctx=context(equity=Decimal(0))
    ),
    Case("sell-with-zero-equity", r.no_equity, sell("SPY", 1), None, ctx=context(equity=Decimal(0))),
    Case("buy-with-equity", r.no_equity, proposal("IWM"), None),
]


@pytest.mark.parametrize("case", params(CASES))
def test_data_rule(case: Case) -> None:
    check(case)


def test_universe_fixture_is_complete() -> None:
    assert set(markets()) == set(UNIVERSE)
