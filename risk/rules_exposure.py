"""Exposure rules for buys: position, asset-class and sector weights, and the cash floor.

Policy: a buy whose resulting weight exceeds a limit is BORDERLINE with a clamped quantity (the
largest whole-share, or 0.0001-share for fractional instruments, size that stays within the limit);
when no positive size fits, it is UNSAFE. Using more than ``borderline_fraction`` of a weight limit
is BORDERLINE without a clamp. The cash floor has no "near" level. Sells never trigger these rules:
a sell only lowers weights and raises cash, and an oversized sell is already UNSAFE.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from risk.derived import group_value
from risk.facts import BuyFacts, buy_facts, largest_fitting, market_value, to_decimal
from risk.limits import RiskLimits
from risk.models import Hit, RiskContext, TradeProposal


class _Codes(NamedTuple):
    exceeds: str
    near: str


_POSITION = _Codes("POSITION_WEIGHT_EXCEEDS_MAX", "POSITION_WEIGHT_NEAR_MAX")
_ASSET_CLASS = _Codes("ASSET_CLASS_WEIGHT_EXCEEDS_MAX", "ASSET_CLASS_WEIGHT_NEAR_MAX")
_SECTOR = _Codes("SECTOR_WEIGHT_EXCEEDS_MAX", "SECTOR_WEIGHT_NEAR_MAX")


def _weight(value: Decimal, equity: Decimal) -> float:
    return float(value / equity)


def _weight_hit(
    codes: _Codes,
    p: TradeProposal,
    facts: BuyFacts,
    current: Decimal,
    limit: float,
    fraction: float,
    **detail: str,
) -> Hit | None:
    """The exceeds/near hit for a group whose market value is ``current`` before the buy."""
    after = _weight(current + p.quantity * facts.price_base, facts.equity)
    numbers: dict[str, Any] = {"weight": after, "max": limit, **detail}
    if after > limit:
        clamp = weight_clamp(p.quantity, facts.step, facts.price_base, facts.equity, current, limit)
        if clamp <= 0:
            return Hit.unsafe(codes.exceeds, **numbers)
        return Hit.borderline(codes.exceeds, clamp_quantity=clamp, **numbers)
    if after > fraction * limit:
        return Hit.borderline(codes.near, **numbers, near=fraction * limit)
    return None


def weight_clamp(
    asked: Decimal, step: Decimal, price_base: Decimal, equity: Decimal, current: Decimal, limit: float
) -> Decimal:
    """The largest step multiple up to ``asked`` keeping a group worth ``current`` within ``limit``."""
    room = to_decimal(limit) * equity - current

    def fits(quantity: Decimal) -> bool:
        return _weight(current + quantity * price_base, equity) <= limit

    return largest_fitting(asked, step, room / price_base, fits)


def cash_clamp(asked: Decimal, step: Decimal, price_base: Decimal, cash: Decimal, floor: Decimal) -> Decimal:
    """The largest step multiple up to ``asked`` that leaves at least ``floor`` of ``cash``."""

    def fits(quantity: Decimal) -> bool:
        return cash - quantity * price_base >= floor

    return largest_fitting(asked, step, (cash - floor) / price_base, fits)


def position_weight(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """POSITION_WEIGHT_EXCEEDS_MAX / POSITION_WEIGHT_NEAR_MAX on the symbol's weight after the buy."""
    facts = buy_facts(p, ctx)
    if facts is None:
        return None
    current = market_value(ctx, p.symbol)
    return _weight_hit(
        _POSITION, p, facts, current, limits.max_position_weight, limits.borderline_fraction, symbol=p.symbol
    )


def asset_class_weight(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """ASSET_CLASS_WEIGHT_EXCEEDS_MAX / _NEAR_MAX on the weight of the instrument's asset class."""
    facts = buy_facts(p, ctx)
    if facts is None:
        return None
    asset_class = facts.instrument.asset_class
    current = group_value(ctx, "asset_class", asset_class)
    return _weight_hit(
        _ASSET_CLASS,
        p,
        facts,
        current,
        limits.max_asset_class_weight,
        limits.borderline_fraction,
        asset_class=asset_class.value,
    )


def sector_weight(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """SECTOR_WEIGHT_EXCEEDS_MAX / SECTOR_WEIGHT_NEAR_MAX on the weight of the instrument's sector."""
    facts = buy_facts(p, ctx)
    if facts is None:
        return None
    sector = facts.instrument.sector
    current = group_value(ctx, "sector", sector)
    return _weight_hit(
        _SECTOR, p, facts, current, limits.max_sector_weight, limits.borderline_fraction, sector=sector
    )


def cash_floor(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """CASH_BELOW_FLOOR: the buy would leave cash under ``min_cash_weight`` of equity."""
    facts = buy_facts(p, ctx)
    if facts is None:
        return None
    floor = to_decimal(limits.min_cash_weight) * facts.equity
    cash_after = ctx.cash - p.quantity * facts.price_base
    if cash_after >= floor:
        return None
    numbers = {"cash_weight": _weight(cash_after, facts.equity), "min": limits.min_cash_weight}
    clamp = cash_clamp(p.quantity, facts.step, facts.price_base, ctx.cash, floor)
    if clamp <= 0:
        return Hit.unsafe("CASH_BELOW_FLOOR", **numbers)
    return Hit.borderline("CASH_BELOW_FLOOR", clamp_quantity=clamp, **numbers)
