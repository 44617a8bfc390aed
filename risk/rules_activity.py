"""Activity rules for buys: trade counts, the re-entry cooldown and the agent's confidence.

Policy: a buy that would exceed ``max_trades_per_day`` or ``max_trades_per_week`` (counting itself)
is UNSAFE, and one that uses more than ``borderline_fraction`` of either budget is BORDERLINE.
Buying back a symbol exited less than ``reentry_cooldown_days`` ago is BORDERLINE, as is a buy the
agent proposes with less than ``min_confidence``. Risk-reducing sells never count against these.
"""

from __future__ import annotations

from risk.facts import buy_facts, held_quantity
from risk.limits import RiskLimits
from risk.models import Hit, RiskContext, TradeProposal


def _count_hit(exceeds: str, near: str, count: int, limit: int, fraction: float) -> Hit | None:
    """The exceeds/near hit for a trade budget once this trade is counted."""
    if count > limit:
        return Hit.unsafe(exceeds, trades=count, max=limit)
    if count > fraction * limit:
        return Hit.borderline(near, trades=count, max=limit)
    return None


def trades_per_day(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """TRADES_PER_DAY_EXCEEDED / TRADES_PER_DAY_NEAR_MAX counting this trade."""
    if buy_facts(p, ctx) is None:
        return None
    return _count_hit(
        "TRADES_PER_DAY_EXCEEDED",
        "TRADES_PER_DAY_NEAR_MAX",
        ctx.trades_today + 1,
        limits.max_trades_per_day,
        limits.borderline_fraction,
    )


def trades_per_week(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """TRADES_PER_WEEK_EXCEEDED / TRADES_PER_WEEK_NEAR_MAX counting this trade."""
    if buy_facts(p, ctx) is None:
        return None
    return _count_hit(
        "TRADES_PER_WEEK_EXCEEDED",
        "TRADES_PER_WEEK_NEAR_MAX",
        ctx.trades_this_week + 1,
        limits.max_trades_per_week,
        limits.borderline_fraction,
    )


def reentry_cooldown(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """REENTRY_COOLDOWN: buying back a symbol exited less than ``reentry_cooldown_days`` ago."""
    if buy_facts(p, ctx) is None or held_quantity(ctx, p.symbol) > 0:
        return None
    exited = ctx.last_exit.get(p.symbol)
    if exited is None:
        return None
    days = (ctx.as_of - exited).days
    if days < limits.reentry_cooldown_days:
        return Hit.borderline(
            "REENTRY_COOLDOWN", exited_on=exited.isoformat(), days=days, min_days=limits.reentry_cooldown_days
        )
    return None


def low_confidence(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """LOW_CONFIDENCE: the agent is not sure enough of this buy."""
    if buy_facts(p, ctx) is None:
        return None
    if p.confidence < limits.min_confidence:
        return Hit.borderline("LOW_CONFIDENCE", confidence=p.confidence, min=limits.min_confidence)
    return None
