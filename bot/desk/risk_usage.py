"""How much of each portfolio-level risk limit is in use now (``/risk``).

Read-only: the same risk context the engine sees at decision time, reduced to one line per limit.
``used`` is value / limit (for the cash floor, floor / cash: above 1 means the floor is breached).
"""

from __future__ import annotations

from collections import defaultdict

from bot.desk.context import risk_context
from bot.desk.desk import Desk
from bot.desk.results import LimitUsage, RiskUsageView
from risk.measures import portfolio_cvar
from risk.models import RiskContext


def _ratio(value: float, limit: float) -> float:
    return value / limit if limit > 0 else 0.0


def _usage(name: str, value: float, limit: float, detail: str = "") -> LimitUsage:
    return LimitUsage(name=name, limit=limit, value=value, used=_ratio(value, limit), detail=detail)


async def risk_usage(desk: Desk) -> RiskUsageView:
    """Each limit, its value and how much of it is used now."""
    snapshot = desk.snapshot()
    account, positions = await desk.broker.account(), await desk.positions()
    ctx = risk_context(as_of=desk.today, account=account, positions=positions, snapshot=snapshot,
                       universe=desk.universe, broker=desk.broker, store=desk.store, state=desk.trading_state())
    return RiskUsageView(trading_state=str(ctx.trading_state), limits=_limits(desk, ctx))


def _limits(desk: Desk, ctx: RiskContext) -> list[LimitUsage]:
    limits = desk.limits
    weights = {symbol: ctx.weight(symbol) for symbol in ctx.holdings}
    top = max(weights.items(), key=lambda item: item[1], default=("", 0.0))
    by_class: dict[str, float] = defaultdict(float)
    for symbol, weight in weights.items():
        instrument = ctx.instruments.get(symbol)
        by_class[str(instrument.asset_class) if instrument else "unknown"] += weight
    top_class = max(by_class.items(), key=lambda item: item[1], default=("", 0.0))
    cash = float(ctx.cash / ctx.equity) if ctx.equity > 0 else 0.0
    cvar = portfolio_cvar(ctx.returns, weights) if ctx.returns is not None and weights else 0.0
    return [
        _usage("largest position weight", top[1], limits.max_position_weight, top[0]),
        _usage("largest asset-class weight", top_class[1], limits.max_asset_class_weight, top_class[0]),
        LimitUsage(name="cash floor", limit=limits.min_cash_weight, value=cash,
                   used=_ratio(limits.min_cash_weight, cash) if cash > 0 else 1.0, detail="cash weight"),
        _usage("drawdown from peak", ctx.drawdown, limits.max_drawdown),
        _usage("trades today", float(ctx.trades_today), float(limits.max_trades_per_day)),
        _usage("trades this week", float(ctx.trades_this_week), float(limits.max_trades_per_week)),
        _usage("portfolio CVaR(95%, 1 day)", cvar, limits.max_cvar_95),
    ]
