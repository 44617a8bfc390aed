"""The intraday watch: price moves in held instruments, the circuit breaker, stop-losses.

Policy: prices are reloaded from the provider (the last bar is the latest price; the one before
it the previous close). A held instrument that moved more than ``move_alert`` since the previous
close raises one alert per symbol and day. A portfolio down ``intraday_drop_halt`` or more on the
day moves an ACTIVE desk to REDUCING with an alert (as the cycle does). A held position whose
price is at or below the stop of its latest filled BUY (fill price x (1 - ``stop_loss_pct``)) gets
a SELL of the whole holding, classified by the risk engine and stored under the latest cycle; a
SAFE verdict is executed at once (risk-reducing sells stay allowed in REDUCING), a BORDERLINE one
waits for a human. Failure contract: market-data and broker errors propagate to the caller before
anything is written for the failing step; a stop for a symbol without a price is skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import structlog
from pydantic import BaseModel, ConfigDict

from bot.desk.context import risk_context
from bot.desk.desk import Desk
from bot.desk.lines import line_from_row
from bot.desk.market import MarketSnapshot
from bot.desk.results import ProposalLine
from bot.desk.sizing import new_proposal_id
from broker.models import Position, Side
from risk import classify
from risk.lifecycle import ProposalStatus
from risk.models import Level, RiskContext, TradeProposal, TradingState
from risk.stops import stop_level
from storage.store import NewProposal

log = structlog.get_logger("paperdesk.watch")
S = ProposalStatus
MOVE_ALERT = "price_move"


class PriceMove(BaseModel):
    """A held instrument's move since the previous close."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    previous_close: Decimal
    price: Decimal
    change: float


class WatchReport(BaseModel):
    """What one intraday watch saw and did."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    as_of: str
    trading_state: str
    day_return: float
    moves: list[PriceMove]
    stops: list[ProposalLine]
    alerts: list[str]


async def watch(desk: Desk, *, move_alert: float) -> WatchReport:
    """Reload prices, alert on big moves, trip the breaker, enforce stop-losses."""
    snapshot = desk.market.refresh(desk.today)
    async with desk.book("stop-loss watch"):  # the stops are classified against the book they sell from
        account, positions = await desk.broker.account(), await desk.positions()
        ctx = risk_context(as_of=desk.today, account=account, positions=positions, snapshot=snapshot,
                           universe=desk.universe, broker=desk.broker, store=desk.store, state=desk.trading_state(),
                           sleeves=desk.sleeve_book())
        moves = price_moves(snapshot, positions, move_alert)
        alerts = [text for move in moves if (text := _move_alert(desk, snapshot, move))]
        breaker = trip_circuit_breaker(desk, ctx)
        if breaker is not None:  # the cycle trips it the same way (bot/desk/cycle.py)
            alerts.append(breaker)
            ctx = replace(ctx, trading_state=TradingState.REDUCING)
        stops = await enforce_stops(desk, snapshot, positions, ctx)
    alerts += [f"STOP-LOSS {line.symbol}: SELL {line.quantity.normalize():f} {line.status}"
               + (f" at {line.fill_price:.4f}" if line.fill_price is not None else "") for line in stops]
    log.info("watch_done", moves=len(moves), stops=len(stops), day_return=round(ctx.day_return, 4),
             state=str(ctx.trading_state))
    return WatchReport(at=desk.clock(), as_of=str(snapshot.as_of), trading_state=str(ctx.trading_state),
                       day_return=ctx.day_return, moves=moves, stops=stops, alerts=alerts)


def price_moves(snapshot: MarketSnapshot, positions: list[Position], threshold: float) -> list[PriceMove]:
    """Held instruments whose last price is more than ``threshold`` away from the previous close."""
    moves = []
    for p in positions:
        if p.symbol not in snapshot.history.close.columns:
            continue
        closes = snapshot.history.close[p.symbol].dropna()
        if len(closes) < 2 or float(closes.iloc[-2]) <= 0:
            continue
        previous, last = float(closes.iloc[-2]), float(closes.iloc[-1])
        change = last / previous - 1
        if abs(change) > threshold:
            moves.append(PriceMove(symbol=p.symbol, previous_close=Decimal(str(round(previous, 6))),
                                   price=Decimal(str(round(last, 6))), change=change))
    return moves


def _move_alert(desk: Desk, snapshot: MarketSnapshot, move: PriceMove) -> str | None:
    """Record the move's alert unless this symbol already had one today; the text, or None."""
    day = str(snapshot.as_of)
    for row in desk.store.alerts(limit=200):
        if row.kind == MOVE_ALERT and (row.detail or {}).get("symbol") == move.symbol \
                and (row.detail or {}).get("day") == day:
            return None
    text = (f"{move.symbol} moved {move.change:+.2%} since the previous close "
            f"({move.previous_close.normalize():f} -> {move.price.normalize():f})")
    desk.store.add_alert(MOVE_ALERT, "warning", text, detail={"symbol": move.symbol, "day": day})
    return text


def trip_circuit_breaker(desk: Desk, ctx: RiskContext) -> str | None:
    """Move an ACTIVE desk to REDUCING when the day's drop reaches the limit; the alert text, or None."""
    if ctx.trading_state is not TradingState.ACTIVE or ctx.day_return > -desk.limits.intraday_drop_halt:
        return None
    reason = f"portfolio fell {ctx.day_return:.2%} today (limit {desk.limits.intraday_drop_halt:.0%})"
    desk.set_state(TradingState.REDUCING, "system", f"circuit breaker: {reason}")
    return f"CIRCUIT BREAKER: {reason}; only risk-reducing orders until `paperdesk resume`"


def stop_price(desk: Desk, symbol: str) -> Decimal | None:
    """The stop of the latest filled BUY of ``symbol`` that carried a stop_loss_pct, or None."""
    # Filtered by symbol and side in the database: the 1,000 newest fills of every symbol, read
    # for each holding, could hold none of an old position's buys (its stop was then lost).
    for row in desk.store.proposals([S.FILLED, S.PARTIALLY_FILLED], limit=1000, symbol=symbol, side=str(Side.BUY)):
        pct = (row.idea or {}).get("stop_loss_pct")
        order = desk.store.order_for(row.id)
        if pct is None or order is None or order.filled_avg_price is None:
            continue
        return stop_level(order.filled_avg_price, pct)
    return None


async def enforce_stops(desk: Desk, snapshot: MarketSnapshot, positions: list[Position],
                        ctx: RiskContext) -> list[ProposalLine]:
    """Sell every holding at or below its stop, through the risk engine and the broker."""
    lines = []
    for p in positions:
        quote, stop = snapshot.quotes.get(p.symbol), stop_price(desk, p.symbol)
        fx = snapshot.fx.get(quote.currency) if quote else None
        if quote is None or fx is None or stop is None or quote.price > stop or p.quantity <= 0:
            continue
        proposal = TradeProposal(id=new_proposal_id(), symbol=p.symbol, side=Side.SELL, quantity=p.quantity,
                                 price=quote.price, fx_rate=fx, target_weight=0.0, confidence=1.0)
        lines.append(await _sell(desk, proposal, ctx, quote.currency, stop))
    return lines


async def _sell(desk: Desk, proposal: TradeProposal, ctx: RiskContext, currency: str, stop: Decimal) -> ProposalLine:
    verdict = classify(proposal, ctx, desk.limits)
    cycles = desk.store.cycles(limit=1)
    thesis = f"stop-loss: {proposal.price} is at or below the stop {stop:.4f}"
    weight = float(ctx.holdings[proposal.symbol].market_value_base / ctx.equity) if ctx.equity > 0 else 0.0
    item = NewProposal(proposal=proposal, verdict=verdict, currency=currency, weight_before=weight, thesis=thesis,
                       idea={"symbol": proposal.symbol, "action": "SELL", "source": "stop_loss", "stop": str(stop)},
                       nonce=uuid.uuid4().hex[:8],
                       expires_at=desk.clock() + timedelta(hours=desk.limits.approval_ttl_hours))
    desk.store.add_proposals(cycles[0].id, [item])
    log.warning("stop_loss_triggered", proposal_id=proposal.id, symbol=proposal.symbol, price=str(proposal.price),
                stop=str(stop), level=str(verdict.level))
    if verdict.level is Level.SAFE:
        await desk.execute(proposal, S.SAFE)
    row = desk.store.get_proposal(proposal.id)
    assert row is not None  # noqa: S101  (stored above)
    return line_from_row(desk.store, row)
