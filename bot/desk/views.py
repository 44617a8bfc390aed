"""Read-only use cases: status, positions, P&L, pending approvals, history.

Status, positions and P&L value the portfolio on the desk's date, which the CLI sets to the
portfolio's date (``bot.wiring``: ``--as-of``, else its latest cycle's as-of date), so a desk
replayed on CSV files is valued on its own day, not the files' last. Day P&L compares with the
last snapshot of an earlier day at most ``DAY_GAP`` before (a weekend and a holiday); an older
one would not be a day's move, so day P&L is then unknown (None).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bot.desk.desk import Desk, money
from bot.desk.lines import line_from_row
from bot.desk.results import EquityPoint, PnlView, PositionLine, ProposalLine, StatusView
from risk.lifecycle import ProposalStatus
from risk.measures import max_drawdown
from storage.tables import EquitySnapshotRow

S = ProposalStatus
DAY_GAP = timedelta(days=4)


async def status(desk: Desk) -> StatusView:
    """Equity, P&L, drawdown, trading state and what is pending."""
    snapshot = desk.snapshot()
    account, positions = await desk.broker.account(), await desk.broker.positions()
    state = desk.store.trading_state()
    start = _start_equity(desk, account.equity)
    previous = _day_before(desk, snapshot.as_of)
    peak = max(desk.store.peak_equity() or account.equity, account.equity)
    cycles = desk.store.cycles(limit=1)
    return StatusView(
        base_currency=account.base_currency, equity=money(account.equity), cash=money(account.cash),
        positions_value=money(account.positions_value),
        cash_weight=float(account.cash / account.equity) if account.equity > 0 else 0.0,
        day_pnl=money(account.equity - previous.equity) if previous else None,
        total_pnl=money(account.equity - start), total_return=float(account.equity / start - 1) if start > 0 else 0.0,
        drawdown=float(1 - account.equity / peak) if peak > 0 else 0.0, trading_state=state.state,
        state_since=state.at, state_reason=state.reason, pending=len(desk.store.proposals([S.AWAITING_APPROVAL])),
        positions=len(positions), last_cycle_at=cycles[0].started_at if cycles else None,
        last_cycle_as_of=cycles[0].as_of if cycles else None, data_source=snapshot.label,
        sleeves=desk.sleeves.policy.budgets() if desk.sleeves is not None else None,
    )


def _day_before(desk: Desk, as_of: date) -> EquitySnapshotRow | None:
    """The last snapshot of an earlier day, if it is recent enough to make a day's P&L."""
    previous = desk.store.last_snapshot_before(as_of)
    return previous if previous is not None and as_of - previous.as_of <= DAY_GAP else None


async def positions(desk: Desk) -> list[PositionLine]:
    """Open positions valued on the desk's date, largest first."""
    desk.snapshot()
    account, held = await desk.broker.account(), await desk.broker.positions()
    lines = []
    for p in sorted(held, key=lambda p: p.market_value_base, reverse=True):
        pnl = p.market_value_base - p.cost_base
        lines.append(PositionLine(
            symbol=p.symbol, quantity=p.quantity, avg_price=p.avg_price, market_price=p.market_price,
            currency=p.currency, market_value_base=money(p.market_value_base), cost_base=money(p.cost_base),
            weight=float(p.market_value_base / account.equity) if account.equity > 0 else 0.0,
            unrealized_pnl_base=money(pnl), unrealized_pnl_pct=float(pnl / p.cost_base) if p.cost_base > 0 else 0.0,
        ))
    return lines


async def pnl(desk: Desk) -> PnlView:
    """P&L since the first snapshot, with the equity series up to the desk's date."""
    view = await status(desk)
    held = await desk.broker.positions()
    history = [row for row in desk.store.equity_history() if row.as_of <= desk.today]
    fills = desk.store.fills()
    commissions = sum((f.commission_base for f in fills), Decimal(0))
    unrealized = sum((p.market_value_base - p.cost_base for p in held), Decimal(0))
    series = [EquityPoint(at=row.at, as_of=row.as_of, equity=money(row.equity)) for row in history]
    start = _start_equity(desk, view.equity)
    equity_values = [float(p.equity) for p in series] + [float(view.equity)]
    return PnlView(
        base_currency=view.base_currency, start_equity=money(start), equity=view.equity,
        total_pnl=view.total_pnl, total_return=view.total_return, day_pnl=view.day_pnl,
        unrealized_pnl=money(unrealized), realized_pnl=money(view.total_pnl - unrealized),
        commissions=money(commissions), max_drawdown=max_drawdown(equity_values), series=series,
    )


def _start_equity(desk: Desk, current: Decimal) -> Decimal:
    """Equity before the first cycle traded (so its costs count), or now when nothing ran yet."""
    first = desk.store.first_cycle()
    if first is not None and first.equity_before is not None:
        return first.equity_before
    snapshot = desk.store.first_snapshot()
    return snapshot.equity if snapshot else current


def pending(desk: Desk) -> list[ProposalLine]:
    """Proposals awaiting a human decision, oldest first (expired ones are expired first)."""
    from bot.desk.approvals import expire_due  # the approval path (risk re-check, memories) loads only here

    expire_due(desk)
    rows = desk.store.proposals([S.AWAITING_APPROVAL])
    return [line_from_row(desk.store, row) for row in sorted(rows, key=lambda r: r.created_at)]


def history(desk: Desk, limit: int = 20) -> list[ProposalLine]:
    """Recent proposals and their fate, newest first."""
    return [line_from_row(desk.store, row) for row in desk.store.proposals(limit=limit)]
