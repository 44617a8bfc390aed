"""Portfolio persistence: equity and position snapshots, the trading state, the sim ledger.

Mixed into ``Store``; each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, cast, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from broker.errors import RetryableBrokerError
from broker.ledger import SimLedger
from broker.models import Account, Order, Position
from risk.models import TradingState
from storage.tables import CycleRow, EquitySnapshotRow, PositionSnapshotRow, SimLedgerRow, TradingStateRow


class PortfolioStoreMixin:
    """Snapshots and trading state; needs ``session()`` and ``_clock`` from the Store."""

    _clock: Callable[[], datetime]
    session: Callable[[], AbstractContextManager[Session]]

    def snapshot(self, account: Account, positions: Sequence[Position], as_of: date,
                 cycle_id: str | None = None) -> EquitySnapshotRow:
        """Record equity and every position at this moment."""
        now = self._clock()
        equity = account.equity
        row = EquitySnapshotRow(at=now, as_of=as_of, cycle_id=cycle_id, base_currency=account.base_currency,
                                cash=account.cash, positions_value=account.positions_value, equity=equity)
        with self.session() as s:
            s.add(row)
            for p in positions:
                weight = float(p.market_value_base / equity) if equity > 0 else 0.0
                s.add(PositionSnapshotRow(at=now, cycle_id=cycle_id, symbol=p.symbol, quantity=p.quantity,
                                          avg_price=p.avg_price, currency=p.currency, cost_base=p.cost_base,
                                          market_price=p.market_price, market_value_base=p.market_value_base,
                                          weight=weight))
        return row

    def equity_history(self, since: datetime | None = None) -> list[EquitySnapshotRow]:
        """Equity snapshots, oldest first."""
        with self.session() as s:
            stmt = select(EquitySnapshotRow)
            if since is not None:
                stmt = stmt.where(col(EquitySnapshotRow.at) >= since)
            return list(s.exec(stmt.order_by(col(EquitySnapshotRow.at), col(EquitySnapshotRow.id))))

    def peak_equity(self) -> Decimal | None:
        """The highest equity ever recorded.

        Ordered as a number: ``Money`` is text on SQLite, where MAX would compare it as text
        ("99500.25" > "120000") and the drawdown rule would measure from the wrong peak. The value
        read back is the stored one, exact.
        """
        with self.session() as s:
            equity = col(EquitySnapshotRow.equity)
            return s.exec(select(equity).order_by(cast(equity, Numeric).desc()).limit(1)).first()

    def last_snapshot_before(self, as_of: date) -> EquitySnapshotRow | None:
        """The latest snapshot of an earlier day (for day P&L)."""
        with self.session() as s:
            stmt = (select(EquitySnapshotRow).where(col(EquitySnapshotRow.as_of) < as_of)
                    .order_by(col(EquitySnapshotRow.at).desc(), col(EquitySnapshotRow.id).desc()))
            return s.exec(stmt).first()

    def latest_as_of(self) -> date | None:
        """The latest as-of date of any cycle or equity snapshot (None before the first)."""
        with self.session() as s:
            dates = [s.exec(select(func.max(row.as_of))).one() for row in (CycleRow, EquitySnapshotRow)]
        return max((d for d in dates if d is not None), default=None)

    def portfolio_date(self, today: date) -> date:
        """The portfolio's date: the as-of date of its latest cycle or equity snapshot, never after ``today``;
        ``today`` before the first cycle. Status, positions, P&L and the report look at this day (``bot.wiring``)."""
        latest = self.latest_as_of()
        return today if latest is None else min(latest, today)

    def latest_snapshot(self) -> EquitySnapshotRow | None:
        """The latest equity snapshot (None before the first cycle)."""
        with self.session() as s:
            latest = col(EquitySnapshotRow.at).desc(), col(EquitySnapshotRow.id).desc()
            return s.exec(select(EquitySnapshotRow).order_by(*latest)).first()

    def snapshot_positions(self, snapshot: EquitySnapshotRow) -> list[PositionSnapshotRow]:
        """The positions recorded with ``snapshot`` (the same moment and cycle)."""
        with self.session() as s:
            stmt = select(PositionSnapshotRow).where(PositionSnapshotRow.at == snapshot.at,
                                                     PositionSnapshotRow.cycle_id == snapshot.cycle_id)
            return list(s.exec(stmt.order_by(col(PositionSnapshotRow.symbol))))

    def first_snapshot(self) -> EquitySnapshotRow | None:
        """The first snapshot ever (for total P&L)."""
        with self.session() as s:
            return s.exec(select(EquitySnapshotRow).order_by(col(EquitySnapshotRow.id))).first()

    def trading_state(self) -> TradingStateRow:
        """The state in force (ACTIVE when never set)."""
        with self.session() as s:
            row = s.exec(select(TradingStateRow).order_by(col(TradingStateRow.id).desc())).first()
        if row is None:
            return TradingStateRow(at=self._clock(), state=str(TradingState.ACTIVE), actor="system",
                                   reason="default")
        return row

    def set_trading_state(self, state: TradingState, actor: str, reason: str | None) -> TradingStateRow:
        """Record a new trading state."""
        row = TradingStateRow(at=self._clock(), state=str(state), actor=actor, reason=reason)
        with self.session() as s:
            s.add(row)
        return row


class SqlLedgerStore:
    """The simulated broker's ``LedgerStore`` in the database, one JSON row per account name.

    Saves are optimistic: a save only succeeds if nobody saved since this store last loaded, so two
    processes trading the same paper account can never overwrite each other's fills; the loser gets
    a ``RetryableBrokerError`` and the caller retries on fresh state.
    """

    def __init__(self, session: Callable[[], AbstractContextManager[Session]], clock: Callable[[], datetime],
                 name: str = "default") -> None:
        self._session = session
        self._clock = clock
        self.name = name
        self._revision: int | None = None
        self._cached: SimLedger | None = None
        self._dumped: dict[str, tuple[Order, dict[str, Any]]] = {}

    def load(self) -> SimLedger | None:
        """The saved ledger, or None (re-parsed only when another writer has saved since)."""
        with self._session() as s:
            revision = s.exec(select(SimLedgerRow.revision).where(SimLedgerRow.name == self.name)).first()
            if revision is not None and revision == self._revision and self._cached is not None:
                return self._cached  # immutable, so sharing it is safe
            row = s.get(SimLedgerRow, self.name)
        self._revision = None if row is None else row.revision
        self._cached = None if row is None or row.data is None else SimLedger.model_validate(row.data)
        return self._cached

    def save(self, ledger: SimLedger) -> None:
        """Replace the saved ledger if it has not changed since it was loaded."""
        data = self._dump(ledger)
        now = self._clock()
        with self._session() as s:
            if self._revision is None:
                s.add(SimLedgerRow(name=self.name, revision=1, data=data, updated_at=now))
                try:
                    s.flush()
                except IntegrityError:
                    raise RetryableBrokerError("the simulated ledger was created concurrently",
                                               code="LEDGER_CONFLICT") from None
                self._revision, self._cached = 1, ledger
                return
            stmt = (update(SimLedgerRow)
                    .where(col(SimLedgerRow.name) == self.name, col(SimLedgerRow.revision) == self._revision)
                    .values(revision=self._revision + 1, data=data, updated_at=now))
            if s.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
                raise RetryableBrokerError("the simulated ledger changed in another process; retry",
                                           code="LEDGER_CONFLICT")
            self._revision += 1
            self._cached = ledger

    def _dump(self, ledger: SimLedger) -> dict[str, Any]:
        """JSON form of the ledger; orders never change once made, so each is serialised once."""
        orders: dict[str, Any] = {}
        for cid, order in ledger.orders.items():
            cached = self._dumped.get(cid)
            if cached is None or cached[0] is not order:
                cached = (order, order.model_dump(mode="json"))
                self._dumped[cid] = cached
            orders[cid] = cached[1]
        data = ledger.model_dump(mode="json", exclude={"orders"})
        data["orders"] = orders
        return data
