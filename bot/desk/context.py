"""Build the pure inputs of the risk engine and the policy from the live portfolio and market."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from agent.indicators import IndicatorSet
from agent.policies.base import HoldingView, PolicyContext, TailRisk
from agent.universe import Universe
from bot.desk.market import MarketSnapshot
from broker.models import Account, Position
from broker.protocol import Broker
from risk.limits import RiskLimits, limit_values
from risk.measures import CorrelationMatrix, ReturnsMatrix, portfolio_cvar
from risk.models import Holding, RiskContext, SleeveBook, TradingState

if TYPE_CHECKING:
    from storage.store import Store

RECENT_DECISIONS = 10
CVAR_ALPHA = 0.95


def holdings_of(positions: list[Position]) -> dict[str, Holding]:
    """Broker positions as risk holdings."""
    return {
        p.symbol: Holding(symbol=p.symbol, quantity=p.quantity, market_value_base=p.market_value_base,
                          cost_base=p.cost_base, opened_on=p.opened_at.date() if p.opened_at else None)
        for p in positions
    }


def day_return(positions: list[Position], account: Account, indicators: IndicatorSet) -> float:
    """The portfolio's return on the last day of data (the intraday-drop input)."""
    arrays = indicators.arrays
    if account.equity <= 0 or arrays.returns.size == 0:
        return 0.0
    last, rows = arrays.returns[-1], arrays.rows
    total = 0.0
    for p in positions:
        row = rows.get(p.symbol)
        if row is not None:
            total += float(p.market_value_base / account.equity) * float(last[row])
    return total


def market_series(indicators: IndicatorSet) -> tuple[ReturnsMatrix, CorrelationMatrix]:
    """The indicators' daily returns and correlations as the risk engine reads them (no pandas)."""
    arrays = indicators.arrays
    return (ReturnsMatrix.of_array(arrays.returns, arrays.rows),
            CorrelationMatrix(values=arrays.correlations, index=arrays.rows))


def risk_context(*, as_of: date, account: Account, positions: list[Position], snapshot: MarketSnapshot,
                 universe: Universe, broker: Broker, store: Store, state: TradingState,
                 sleeves: SleeveBook | None = None) -> RiskContext:
    """Everything the risk engine needs, read once (``sleeves``: the sleeves in force, if any)."""
    trades_today, trades_week, last_exit = store.activity(as_of)
    peak = store.peak_equity()
    peak = account.equity if peak is None else max(peak, account.equity)
    returns, correlations = market_series(snapshot.indicators)
    return RiskContext(
        as_of=as_of, equity=account.equity, cash=account.cash, instruments=universe.by_symbol,
        market=snapshot.facts(), holdings=holdings_of(positions), returns=returns,
        correlations=correlations, trading_state=state, peak_equity=peak,
        day_return=day_return(positions, account, snapshot.indicators), trades_today=trades_today,
        trades_this_week=trades_week, last_exit=last_exit,
        tradable=frozenset(s for s in universe.symbols if broker.is_tradable(s)), sleeves=sleeves,
    )


def policy_context(*, as_of: date, account: Account, positions: list[Position], snapshot: MarketSnapshot,
                   universe: Universe, limits: RiskLimits, drawdown: float, store: Store | None = None,
                   cycle_id: str | None = None) -> PolicyContext:
    """What the policy may see (with ``store``, also the recent decisions and how they turned out)."""
    equity = account.equity if account.equity > 0 else Decimal(1)
    holdings = {
        p.symbol: HoldingView(
            symbol=p.symbol, weight=float(p.market_value_base / equity),
            unrealized_pnl_pct=float(p.market_value_base / p.cost_base - 1) if p.cost_base > 0 else 0.0,
            held_days=(as_of - p.opened_at.date()).days if p.opened_at else None)
        for p in positions
    }
    return PolicyContext(
        as_of=as_of, instruments=dict(universe.by_symbol), indicators=snapshot.indicators,
        equity=float(account.equity), cash_weight=float(account.cash / equity), holdings=holdings,
        drawdown=drawdown, max_position_weight=limits.max_position_weight, min_cash_weight=limits.min_cash_weight,
        recent_decisions=recent_decisions(store, snapshot) if store is not None else [],
        limits=dict(limit_values(limits)), cycle_id=cycle_id,
        tail_risk_source=functools.partial(tail_risk, snapshot.indicators, {s: h.weight for s, h in holdings.items()}),
    )


def tail_risk(indicators: IndicatorSet, weights: Mapping[str, float]) -> TailRisk:
    """CVaR(95%, 1 day) per instrument and of the portfolio, and each holding's most correlated other holding.

    The same measures and series as the risk engine's CVaR rule (``market_series``), read when the
    policy first asks (``PolicyContext.tail_risk``).
    """
    returns, correlations = market_series(indicators)
    if returns.empty:
        return TailRisk()
    cvar = returns.cvar_by_column(CVAR_ALPHA)
    closest: dict[str, tuple[str, float]] = {}
    for symbol in weights:
        pairs = [(other, c) for other in weights
                 if other != symbol and (c := correlations.get(symbol, other)) is not None]
        if pairs:
            closest[symbol] = min(pairs, key=lambda pair: (-pair[1], pair[0]))
    return TailRisk(instrument_cvar=cvar, portfolio_cvar=portfolio_cvar(returns, weights, CVAR_ALPHA),
                    holding_max_correlation=closest)


def recent_decisions(store: Store, snapshot: MarketSnapshot, limit: int = RECENT_DECISIONS) -> list[str]:
    """The last proposals, one line each: date, symbol, action, target, status, price move since."""
    lines = []
    for row in store.proposals(limit=limit):
        quote = snapshot.quotes.get(row.symbol)
        move = f"{float(quote.price / row.price - 1):+.1%}" if quote and row.price else "n/a"
        lines.append(f"{row.created_at:%Y-%m-%d} {row.symbol} {row.side.upper()} {row.target_weight:.1%} "
                     f"{row.status} {move}")
    return lines
