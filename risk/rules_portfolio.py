"""Portfolio rule for buys: post-trade historical CVaR(95 %, 1 day).

Policy: the post-trade weights are the current weights with the bought symbol's weight replaced by
its weight after the buy; cash and symbols without history return 0. A buy that takes the
portfolio CVaR above ``max_cvar_95`` is UNSAFE when the portfolio was already above the limit and
otherwise BORDERLINE with a clamp: the largest step-rounded quantity whose post-trade CVaR is within
the limit, found by bisection (historical CVaR is convex in the weights, so the sizes that fit form
an interval starting at zero). Using more than ``borderline_fraction`` of the limit is BORDERLINE.
Without a returns history for the symbol the rule only notes CVAR_UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal

from risk.derived import portfolio_returns, returns_matrix, weights
from risk.facts import buy_facts, market_value, weight_after
from risk.limits import RiskLimits
from risk.measures import ReturnsMatrix, historical_cvar
from risk.models import Hit, RiskContext, TradeProposal

ALPHA = 0.95

CvarCurve = Callable[[float], float]


def cvar_curve(ctx: RiskContext, symbol: str) -> CvarCurve:
    """Portfolio CVaR as a function of ``symbol``'s weight, the other weights held fixed."""
    matrix, portfolio = returns_matrix(ctx), portfolio_returns(ctx)
    if matrix is None or portfolio is None:
        raise ValueError("the context has no returns to measure CVaR on")
    # The others' returns: the portfolio's minus the symbol's own share (O(days), no gather).
    column = matrix.column(symbol)
    base = portfolio - weights(ctx).get(symbol, 0.0) * column

    def curve(weight: float) -> float:
        return historical_cvar(base + weight * column, ALPHA)

    return curve


def cvar_clamp(
    asked: Decimal, step: Decimal, held: Decimal, price_base: Decimal, equity: Decimal, curve: CvarCurve, limit: float
) -> Decimal:
    """The largest step multiple up to ``asked`` whose post-trade CVaR is within ``limit`` (bisection)."""

    def fits(steps: int) -> bool:
        return curve(float((held + steps * step * price_base) / equity)) <= limit

    lo, hi = 0, int((asked / step).to_integral_value(rounding=ROUND_FLOOR))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo * step


def _unknown_reason(matrix: ReturnsMatrix | None, symbol: str) -> str | None:
    """Why the CVaR cannot be measured, or None when it can."""
    if matrix is None:
        return "no returns"
    if matrix.empty:
        return "empty returns"
    if symbol not in matrix.columns:
        return "no history for symbol"
    return None


def cvar_limit(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """CVAR_EXCEEDS_MAX / CVAR_NEAR_MAX on the post-trade portfolio CVaR(95 %, 1 day)."""
    facts = buy_facts(p, ctx)
    if facts is None:
        return None
    matrix = returns_matrix(ctx)
    reason = _unknown_reason(matrix, p.symbol)
    if reason is not None or matrix is None:
        return Hit.note("CVAR_UNKNOWN", symbol=p.symbol, reason=reason)
    limit = limits.max_cvar_95
    curve = cvar_curve(ctx, p.symbol)
    after = curve(weight_after(p, ctx))
    if after > limit:
        before = curve(ctx.weight(p.symbol))
        if before > limit:
            return Hit.unsafe("CVAR_EXCEEDS_MAX", cvar=after, cvar_before=before, max=limit)
        clamp = cvar_clamp(p.quantity, facts.step, market_value(ctx, p.symbol), facts.price_base, facts.equity,
                           curve, limit)
        if clamp <= 0:
            return Hit.unsafe("CVAR_EXCEEDS_MAX", cvar=after, cvar_before=before, max=limit)
        return Hit.borderline(
            "CVAR_EXCEEDS_MAX", clamp_quantity=clamp, cvar=after, cvar_before=before, max=limit
        )
    if after > limits.borderline_fraction * limit:
        return Hit.borderline("CVAR_NEAR_MAX", cvar=after, max=limit)
    return None
