"""Exposure rules: position, asset-class and sector weights, and the cash floor."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk import rules_exposure as r
from risk.models import Level
from tests.risk.cases import Case, check, params
from tests.risk.factories import base_holdings, context, holding, limits, proposal, sell

U, B = Level.UNSAFE, Level.BORDERLINE
# GLD 150 shares: 30,000 of 110,000 = 27 %.
GLD_AT_27 = context(holdings={**base_holdings(), "GLD": holding("GLD", 150)})

CASES = [
    # Equity 100,000; IWM costs 50, so 100 shares are 5 %.
    Case(
        "position-32pct",
        r.position_weight,
        proposal("IWM", 640),
        "POSITION_WEIGHT_EXCEEDS_MAX",
        B,
        clamp=Decimal(500),
    ),
    Case(
        "position-fractional",
        r.position_weight,
        proposal("GLD", 30),
        "POSITION_WEIGHT_EXCEEDS_MAX",
        B,
        clamp=Decimal("25.0000"),
    ),
    Case(
        "position-already-full",
        r.position_weight,
        proposal("GLD", 1),
        "POSITION_WEIGHT_EXCEEDS_MAX",
        U,
        ctx=GLD_AT_27,
    ),
    Case("position-21pct", r.position_weight, proposal("IWM", 420), "POSITION_WEIGHT_NEAR_MAX", B),
    Case("position-19pct", r.position_weight, proposal("IWM", 380), None),
    Case("position-sell", r.position_weight, sell("GLD", 1), None, ctx=GLD_AT_27),
    # EU_EQUITY holds MC.PA at 10 %; AIR.PA costs 100.
    Case(
        "class-34pct-of-30",
        r.asset_class_weight,
        proposal("AIR.PA", 240),
        "ASSET_CLASS_WEIGHT_EXCEEDS_MAX",
        B,
        lim=limits(max_asset_class_weight=0.3),
        clamp=Decimal(200),
    ),
    Case(
        "class-full",
        r.asset_class_weight,
        proposal("AIR.PA", 1),
        "ASSET_CLASS_WEIGHT_EXCEEDS_MAX",
        U,
        lim=limits(max_asset_class_weight=0.1),
    ),
    Case(
        "class-34pct-of-40", r.asset_class_weight, proposal("AIR.PA", 240), "ASSET_CLASS_WEIGHT_NEAR_MAX", B
    ),
    Case("class-30pct-of-40", r.asset_class_weight, proposal("AIR.PA", 200), None),
    # Sector "broad" holds SPY at 10 %; IWM (another asset class) is in it too.
    Case(
        "sector-25pct-of-20",
        r.sector_weight,
        proposal("IWM", 300),
        "SECTOR_WEIGHT_EXCEEDS_MAX",
        B,
        lim=limits(max_sector_weight=0.2),
        clamp=Decimal(200),
    ),
    Case(
        "sector-full",
        r.sector_weight,
        proposal("IWM", 1),
        "SECTOR_WEIGHT_EXCEEDS_MAX",
        U,
        lim=limits(max_sector_weight=0.1),
    ),
    Case(
        "sector-25pct-of-30",
        r.sector_weight,
        proposal("IWM", 300),
        "SECTOR_WEIGHT_NEAR_MAX",
        B,
        lim=limits(max_sector_weight=0.3),
    ),
    Case("sector-25pct-of-40", r.sector_weight, proposal("IWM", 300), None),
    # Cash 50,000; the floor is 10,000.
    Case("cash-left-5k", r.cash_floor, proposal("IWM", 900), "CASH_BELOW_FLOOR", B, clamp=Decimal(800)),
    Case(
        "cash-already-below",
        r.cash_floor,
        proposal("IWM", 1),
        "CASH_BELOW_FLOOR",
        U,
        ctx=context(cash=Decimal(5_000)),
    ),
    Case("cash-left-at-floor", r.cash_floor, proposal("IWM", 800), None),
    Case("cash-sell", r.cash_floor, sell("SPY", 1), None, ctx=context(cash=Decimal(0))),
]


@pytest.mark.parametrize("case", params(CASES))
def test_exposure_rule(case: Case) -> None:
    check(case)


def test_position_clamp_floors_whole_shares() -> None:
    """At 48 a share, 25 % of 100,000 is 520.83 shares: the clamp is 520."""
    hit = r.position_weight(proposal("IWM", 667, price=48), context(), limits())
    assert hit is not None
    assert hit.clamp_quantity == Decimal(520)


def test_fractional_clamp_floors_to_four_decimals() -> None:
    """GLD is fractional: 20,000 of room at 210 is 95.238095… shares, offered as 95.2380."""
    holdings = {k: v for k, v in base_holdings().items() if k != "GLD"}
    hit = r.position_weight(proposal("GLD", 150, price=210), context(holdings=holdings), limits())
    assert hit is not None
    assert hit.clamp_quantity == Decimal("95.2380")


def test_exceeds_detail_names_weight_and_limit() -> None:
    hit = r.position_weight(proposal("IWM", 640), context(), limits())
    assert hit is not None
    assert hit.describe() == "POSITION_WEIGHT_EXCEEDS_MAX: weight=0.32, max=0.25, symbol=IWM"
