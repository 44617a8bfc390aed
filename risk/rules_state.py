"""Trading-state rules (the kill switch) and the minimum holding period.

Policy: HALTED forbids every order. REDUCING forbids every order that is not risk-reducing (a sell
of no more than is held). Risk-reducing sells are SAFE unless HALTED, with one exception: selling
a position that is *in profit* and was opened less than ``min_holding_days`` ago while ACTIVE is
BORDERLINE (MIN_HOLDING_PERIOD), because that is profit-taking churn, not risk reduction. A losing
position is never delayed: losers are cut fast, and nothing holds a sell back in REDUCING.
"""

from __future__ import annotations

from broker.models import Side
from risk.facts import is_risk_reducing
from risk.limits import RiskLimits
from risk.models import Hit, RiskContext, TradeProposal, TradingState


def trading_halted(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """TRADING_HALTED: nothing trades while the desk is halted."""
    if ctx.trading_state is TradingState.HALTED:
        return Hit.unsafe("TRADING_HALTED", state=ctx.trading_state.value)
    return None


def trading_reducing(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """TRADING_REDUCING: only risk-reducing orders trade while the desk is reducing."""
    if ctx.trading_state is TradingState.REDUCING and not is_risk_reducing(p, ctx):
        return Hit.unsafe("TRADING_REDUCING", state=ctx.trading_state.value, side=p.side.value)
    return None


def min_holding_period(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """MIN_HOLDING_PERIOD: taking profit on a position younger than ``min_holding_days`` is BORDERLINE."""
    holding = ctx.holdings.get(p.symbol)
    if p.side is not Side.SELL or ctx.trading_state is not TradingState.ACTIVE:
        return None
    if holding is None or holding.opened_on is None or holding.unrealized_pnl_pct <= 0:
        return None
    held_days = (ctx.as_of - holding.opened_on).days
    if held_days < limits.min_holding_days:
        return Hit.borderline(
            "MIN_HOLDING_PERIOD",
            held_days=held_days,
            min_days=limits.min_holding_days,
            pnl_pct=holding.unrealized_pnl_pct,
        )
    return None
