"""Read-only use cases: status, positions, P&L, pending approvals, history.

Status, positions and P&L value the portfolio on the desk's date, which the CLI sets to the
portfolio's date (``bot.wiring``: ``--as-of``, else its latest cycle's as-of date), so a desk
replayed on CSV files is valued on its own day, not the files' last. Day P&L compares with the
last snapshot of an earlier day at most ``DAY_GAP`` before (a weekend and a holiday); an older
one would not be a day's move, so day P&L is then unknown (None).

``stored_status`` is ``status`` without market data: it reads the valuation the latest cycle
stored, and only while that valuation still holds. Both build the view in ``_status_view``. This
module loads no pandas or numpy, so ``paperdesk status`` can start in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.desk.lines import line_from_row
from bot.desk.results import EquityPoint, PnlView, PositionLine, ProposalLine, StatusView, money
from risk.lifecycle import ProposalStatus
from storage.store import Store
from storage.tables import EquitySnapshotRow

if TYPE_CHECKING:
    from bot.desk.desk import Desk
    from broker.ledger import SimLedger

S = ProposalStatus
DAY_GAP = timedelta(days=4)


async def status(desk: Desk) -> StatusView:
    """Equity, P&L, drawdown, trading state and what is pending, valued at the desk's date's prices."""
    snapshot = desk.snapshot()
    account, positions = await desk.broker.account(), await desk.broker.positions()
    return _status_view(desk.store, account.base_currency, account.cash, account.positions_value, len(positions),
                        snapshot.as_of, snapshot.label,
                        desk.sleeves.policy.budgets() if desk.sleeves is not None else None)


def stored_status(store: Store, ledger: SimLedger, today: date, *, synthetic: bool) -> StatusView | None:
    """``status`` of a simulated account from its latest equity snapshot, or None when that no longer holds.

    It holds when the snapshot is of the portfolio's date (``Store.portfolio_date`` on ``today``) and the
    ledger still has the cash, currency and quantities the snapshot valued: the same book at the same day's
    prices has the same value (to the store's money precision: 10 decimal places on PostgreSQL), so no
    market data is loaded. ``synthetic``: whether the desk's data is; a
    snapshot valued on the other kind does not hold. The data source shown is its cycle's. The caller
    decides when the day's prices cannot have changed (``bot.status_wiring``).
    """
    latest = store.latest_snapshot()
    if latest is None or latest.cycle_id is None or latest.as_of != store.portfolio_date(today):
        return None
    held = store.snapshot_positions(latest)
    book = {symbol: position.quantity for symbol, position in ledger.positions.items()}
    cycle = store.get_cycle(latest.cycle_id)
    if (cycle is None or cycle.synthetic != synthetic or ledger.base_currency != latest.base_currency
            or ledger.cash != latest.cash or book != {row.symbol: row.quantity for row in held}):
        return None
    return _status_view(store, latest.base_currency, latest.cash, latest.positions_value, len(held), latest.as_of,
                        cycle.data_source, None)


def _status_view(store: Store, base_currency: str, cash: Decimal, positions_value: Decimal, positions: int,
                 as_of: date, data_source: str, sleeves: Mapping[str, float] | None) -> StatusView:
    """The status of an account worth ``cash + positions_value`` on ``as_of``, with what the store knows."""
    equity = cash + positions_value
    state = store.trading_state()
    start = _start_equity(store, equity)
    previous = _day_before(store, as_of)
    peak = max(store.peak_equity() or equity, equity)
    cycles = store.cycles(limit=1)
    return StatusView(
        base_currency=base_currency, equity=money(equity), cash=money(cash), positions_value=money(positions_value),
        cash_weight=float(cash / equity) if equity > 0 else 0.0,
        day_pnl=money(equity - previous.equity) if previous else None,
        total_pnl=money(equity - start), total_return=float(equity / start - 1) if start > 0 else 0.0,
        drawdown=float(1 - equity / peak) if peak > 0 else 0.0, trading_state=state.state,
        state_since=state.at, state_reason=state.reason, pending=len(store.proposals([S.AWAITING_APPROVAL])),
        positions=positions, last_cycle_at=cycles[0].started_at if cycles else None,
        last_cycle_as_of=cycles[0].as_of if cycles else None, data_source=data_source, sleeves=sleeves,
    )


def _day_before(store: Store, as_of: date) -> EquitySnapshotRow | None:
    """The last snapshot of an earlier day, if it is recent enough to make a day's P&L."""
    previous = store.last_snapshot_before(as_of)
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
    from risk.measures import max_drawdown  # numpy: status does without it

    view = await status(desk)
    held = await desk.broker.positions()
    history = [row for row in desk.store.equity_history() if row.as_of <= desk.today]
    fills = desk.store.fills()
    commissions = sum((f.commission_base for f in fills), Decimal(0))
    unrealized = sum((p.market_value_base - p.cost_base for p in held), Decimal(0))
    series = [EquityPoint(at=row.at, as_of=row.as_of, equity=money(row.equity)) for row in history]
    start = _start_equity(desk.store, view.equity)
    equity_values = [float(p.equity) for p in series] + [float(view.equity)]
    return PnlView(
        base_currency=view.base_currency, start_equity=money(start), equity=view.equity,
        total_pnl=view.total_pnl, total_return=view.total_return, day_pnl=view.day_pnl,
        unrealized_pnl=money(unrealized), realized_pnl=money(view.total_pnl - unrealized),
        commissions=money(commissions), max_drawdown=max_drawdown(equity_values), series=series,
    )


def _start_equity(store: Store, current: Decimal) -> Decimal:
    """Equity before the first cycle traded (so its costs count), or now when nothing ran yet."""
    first = store.first_cycle()
    if first is not None and first.equity_before is not None:
        return first.equity_before
    snapshot = store.first_snapshot()
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
