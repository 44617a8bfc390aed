"""The ordered rule set: data integrity, trading state, exposure, market, activity, portfolio.

Policy: every rule is a pure function ``rule(proposal, context, limits) -> Hit | None`` with stable
UPPER_SNAKE codes; ``classify`` runs all of them and the worst level wins. Data-integrity and
trading-state rules apply to every proposal. The others look at buys only, so a risk-reducing sell
(no more than is held) is SAFE unless the desk is HALTED or its data is bad; the one exception is
MIN_HOLDING_PERIOD, which makes taking profit on a young position BORDERLINE while ACTIVE.
"""

from __future__ import annotations

from collections.abc import Callable

from risk import rules_activity, rules_data, rules_exposure, rules_market, rules_portfolio, rules_sleeve, rules_state
from risk.limits import RiskLimits
from risk.models import Hit, RiskContext, TradeProposal

Rule = Callable[[TradeProposal, RiskContext, RiskLimits], Hit | None]

RULES: tuple[Rule, ...] = (
    rules_data.unknown_symbol,
    rules_data.not_tradable,
    rules_data.no_price,
    rules_data.stale_price,
    rules_data.zero_quantity,
    rules_data.sell_exceeds_position,
    rules_data.no_equity,
    rules_state.trading_halted,
    rules_state.trading_reducing,
    rules_state.min_holding_period,
    rules_exposure.position_weight,
    rules_exposure.asset_class_weight,
    rules_exposure.sector_weight,
    rules_sleeve.sleeve_budget,
    rules_exposure.cash_floor,
    rules_market.drawdown_limit,
    rules_market.circuit_breaker,
    rules_market.volatility_limit,
    rules_market.correlation_limit,
    rules_market.adv_limit,
    rules_activity.trades_per_day,
    rules_activity.trades_per_week,
    rules_activity.reentry_cooldown,
    rules_portfolio.cvar_limit,
    rules_activity.low_confidence,
)
