"""Data-integrity rules: unknown inputs are denied, never passed through.

Policy: these rules apply to every proposal, sells included. A symbol outside the universe, an
instrument the broker cannot trade, a missing or stale price, an empty order, a sell of more than
is held (no shorting) and, for buys, an equity that cannot size a position are all UNSAFE.
"""

from __future__ import annotations

from broker.models import Side
from risk.facts import held_quantity
from risk.limits import RiskLimits
from risk.models import Hit, RiskContext, TradeProposal


def unknown_symbol(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """UNKNOWN_SYMBOL: the symbol is not in the universe allow-list."""
    if p.symbol not in ctx.instruments:
        return Hit.unsafe("UNKNOWN_SYMBOL", symbol=p.symbol)
    return None


def not_tradable(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """NOT_TRADABLE_AT_BROKER: the instrument is flagged untradable or the broker does not list it."""
    instrument = ctx.instruments.get(p.symbol)
    if instrument is not None and not instrument.tradable:
        return Hit.unsafe("NOT_TRADABLE_AT_BROKER", symbol=p.symbol, reason="instrument")
    if ctx.tradable is not None and p.symbol not in ctx.tradable:
        return Hit.unsafe("NOT_TRADABLE_AT_BROKER", symbol=p.symbol, reason="broker")
    return None


def no_price(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """NO_PRICE: no market facts, or the proposal lacks a positive price or FX rate."""
    if p.symbol not in ctx.market:
        return Hit.unsafe("NO_PRICE", symbol=p.symbol, missing="market")
    if p.price is None or p.price <= 0:
        return Hit.unsafe("NO_PRICE", symbol=p.symbol, missing="price")
    if p.fx_rate is None or p.fx_rate <= 0:
        return Hit.unsafe("NO_PRICE", symbol=p.symbol, missing="fx_rate")
    return None


def stale_price(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """STALE_PRICE: the latest price is older than ``max_price_age_days``."""
    market = ctx.market.get(p.symbol)
    if market is None:
        return None
    age = (ctx.as_of - market.price_date).days
    if age > limits.max_price_age_days:
        return Hit.unsafe(
            "STALE_PRICE",
            price_date=market.price_date.isoformat(),
            age_days=age,
            max=limits.max_price_age_days,
        )
    return None


def zero_quantity(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """ZERO_QUANTITY: an order for nothing."""
    if p.quantity == 0:
        return Hit.unsafe("ZERO_QUANTITY", symbol=p.symbol)
    return None


def sell_exceeds_position(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """SELL_EXCEEDS_POSITION: a sell of more than is held would open a short."""
    held = held_quantity(ctx, p.symbol)
    if p.side is Side.SELL and p.quantity > held:
        return Hit.unsafe("SELL_EXCEEDS_POSITION", quantity=p.quantity, held=held)
    return None


def no_equity(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """NON_FINITE_EQUITY / NO_EQUITY: a buy cannot be sized against a broken or empty account."""
    if p.side is not Side.BUY:
        return None
    if not ctx.equity.is_finite():
        return Hit.unsafe("NON_FINITE_EQUITY", equity=ctx.equity)
    if ctx.equity <= 0:
        return Hit.unsafe("NO_EQUITY", equity=ctx.equity)
    return None
