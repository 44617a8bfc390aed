"""Market rules for buys: drawdown, circuit breaker, volatility, correlation and liquidity.

Policy: new buys stop when the portfolio is in a drawdown beyond ``max_drawdown`` or the day's
return fell by ``intraday_drop_halt`` or more (UNSAFE; the caller moves the desk to REDUCING), and
when the asset's annualised volatility exceeds ``max_volatility``. Using more than
``borderline_fraction`` of those limits is BORDERLINE. A buy highly correlated with a large holding
is BORDERLINE. An order above ``max_adv_fraction`` of average daily value is BORDERLINE with a
clamp (UNSAFE when nothing fits). Unknown volatility, correlations or ADV are reported as notes.
Sells never trigger these rules.
"""

from __future__ import annotations

import math
from decimal import Decimal

from risk.derived import correlations, large_holdings
from risk.facts import buy_facts, largest_fitting, to_decimal
from risk.limits import RiskLimits
from risk.models import Hit, RiskContext, TradeProposal


def drawdown_limit(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """DRAWDOWN_HALTS_BUYS / DRAWDOWN_NEAR_MAX on the equity drawdown from its peak."""
    if buy_facts(p, ctx) is None:
        return None
    dd = ctx.drawdown
    if dd > limits.max_drawdown:
        return Hit.unsafe("DRAWDOWN_HALTS_BUYS", drawdown=dd, max=limits.max_drawdown)
    if dd > limits.borderline_fraction * limits.max_drawdown:
        return Hit.borderline("DRAWDOWN_NEAR_MAX", drawdown=dd, max=limits.max_drawdown)
    return None


def circuit_breaker(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """CIRCUIT_BREAKER: the portfolio fell at least ``intraday_drop_halt`` today."""
    if buy_facts(p, ctx) is None:
        return None
    if ctx.day_return <= -limits.intraday_drop_halt:
        return Hit.unsafe("CIRCUIT_BREAKER", day_return=ctx.day_return, max_drop=limits.intraday_drop_halt)
    return None


def volatility_limit(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """VOLATILITY_EXCEEDS_MAX / VOLATILITY_NEAR_MAX on the asset's annualised volatility."""
    facts = buy_facts(p, ctx)
    if facts is None:
        return None
    vol = facts.market.volatility
    if vol is None or not math.isfinite(vol):
        return Hit.note("VOLATILITY_UNKNOWN", symbol=p.symbol)
    if vol > limits.max_volatility:
        return Hit.unsafe("VOLATILITY_EXCEEDS_MAX", volatility=vol, max=limits.max_volatility)
    if vol > limits.borderline_fraction * limits.max_volatility:
        return Hit.borderline("VOLATILITY_NEAR_MAX", volatility=vol, max=limits.max_volatility)
    return None


def correlation_limit(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """CORRELATED_WITH_HOLDING: the buy moves with a large holding beyond ``max_correlation``."""
    if buy_facts(p, ctx) is None:
        return None
    matrix = correlations(ctx)
    if matrix is None:
        return Hit.note("CORRELATION_UNKNOWN", symbol=p.symbol)
    worst: tuple[float, str] | None = None
    for symbol in large_holdings(ctx, limits.large_holding_weight):
        if symbol == p.symbol:
            continue
        corr = matrix.get(p.symbol, symbol)
        if corr is not None and corr > limits.max_correlation and (worst is None or corr > worst[0]):
            worst = (corr, symbol)
    if worst is None:
        return None
    return Hit.borderline(
        "CORRELATED_WITH_HOLDING", holding=worst[1], correlation=worst[0], max=limits.max_correlation
    )


def adv_limit(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """ADV_EXCEEDS_MAX: the order is above ``max_adv_fraction`` of average daily traded value."""
    facts = buy_facts(p, ctx)
    if facts is None:
        return None
    adv = facts.market.adv_base
    if adv is None or not adv.is_finite():
        return Hit.note("ADV_UNKNOWN", symbol=p.symbol)
    cap = to_decimal(limits.max_adv_fraction) * adv
    notional = p.quantity * facts.price_base
    if notional <= cap:
        return None
    numbers = {"notional": notional, "adv": adv, "max_fraction": limits.max_adv_fraction}
    clamp = adv_clamp(p.quantity, facts.step, facts.price_base, cap)
    if clamp <= 0:
        return Hit.unsafe("ADV_EXCEEDS_MAX", **numbers)
    return Hit.borderline("ADV_EXCEEDS_MAX", clamp_quantity=clamp, **numbers)


def adv_clamp(asked: Decimal, step: Decimal, price_base: Decimal, cap: Decimal) -> Decimal:
    """The largest step multiple up to ``asked`` whose notional stays within ``cap``."""

    def fits(quantity: Decimal) -> bool:
        return quantity * price_base <= cap

    return largest_fitting(asked, step, cap / price_base, fits)
