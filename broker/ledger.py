"""State of the simulated account, its pure transitions, and where it is kept.

Policy: a ``SimLedger`` is an immutable snapshot; every trade produces a new ledger, and the
broker saves it through a ``LedgerStore`` before answering. Cash is held in the base currency
only; positions remember what they cost in base (commission included), so FX moves show up in
their valuation. Base-currency amounts are rounded to cents (half up) where they are made, so
the identity ``cash + Σ cost_base == initial cash + realized_pnl_base`` holds exactly.

Failure contract: ``bought``/``sold`` raise ``OrderRejectedError`` (codes ``INSUFFICIENT_CASH``,
``INSUFFICIENT_POSITION``) and leave the ledger untouched; ``JsonFileLedgerStore.load`` raises
``FatalBrokerError`` (code ``LEDGER_CORRUPT``) on a file it cannot read back; OS errors from
saving propagate unchanged, and the previous file stays intact (atomic replace).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Protocol

from pydantic import Field, ValidationError

from broker.errors import FatalBrokerError, OrderRejectedError
from broker.models import ZERO, Frozen, Order

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> Decimal:
    """``amount`` rounded half up to cents, the precision base-currency money is kept in."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def average_price(held: Decimal, held_price: Decimal, quantity: Decimal, price: Decimal) -> Decimal:
    """The average price of a holding after buying ``quantity`` more at ``price``."""
    return (held * held_price + quantity * price) / (held + quantity)


def cost_part_of(cost: Decimal, quantity: Decimal, held: Decimal) -> Decimal:
    """The share of a holding's cost that selling ``quantity`` of ``held`` takes, in cents."""
    return to_cents(cost * quantity / held)


def _money(amount: Decimal) -> str:
    """Render an amount for a human message (the stored value stays exact)."""
    return f"{amount:.2f}"


class LedgerPosition(Frozen):
    """A holding of the simulated account."""

    quantity: Decimal = Field(gt=0)
    avg_price: Decimal = Field(description="average fill price in the instrument currency")
    currency: str
    cost_base: Decimal = Field(description="what the holding cost in base, commissions included")
    opened_at: datetime


class SimLedger(Frozen):
    """Everything the simulated broker knows: cash, positions, orders and running totals."""

    base_currency: str = Field(pattern=r"^[A-Z]{3}$")
    cash: Decimal
    positions: dict[str, LedgerPosition] = Field(default_factory=dict)
    orders: dict[str, Order] = Field(default_factory=dict, description="keyed by client_order_id")
    realized_pnl_base: Decimal = ZERO
    commissions_base: Decimal = ZERO
    created_at: datetime

    @classmethod
    def new(cls, base_currency: str, cash: Decimal, created_at: datetime) -> SimLedger:
        """A fresh ledger holding only cash."""
        return cls(base_currency=base_currency, cash=cash, created_at=created_at)

    def next_order_id(self) -> str:
        """The broker id for the next order (ids are never reused: orders are never removed)."""
        return f"sim-{len(self.orders) + 1}"

    def with_order(self, order: Order) -> SimLedger:
        """This ledger with ``order`` recorded under its client_order_id."""
        return self.model_copy(update={"orders": {**self.orders, order.client_order_id: order}})

    def bought(
        self,
        symbol: str,
        quantity: Decimal,
        price: Decimal,
        currency: str,
        cost_base: Decimal,
        commission_base: Decimal,
        at: datetime,
    ) -> SimLedger:
        """This ledger after buying ``quantity`` at ``price`` for ``cost_base`` plus commission."""
        total = cost_base + commission_base
        if total > self.cash:
            raise OrderRejectedError(
                f"INSUFFICIENT_CASH: symbol={symbol}, needed={_money(total)}, cost={_money(cost_base)}, "
                f"commission={_money(commission_base)}, cash={_money(self.cash)} {self.base_currency}",
                code="INSUFFICIENT_CASH",
            )
        held = self.positions.get(symbol)
        if held is None:
            position = LedgerPosition(
                quantity=quantity, avg_price=price, currency=currency, cost_base=total, opened_at=at
            )
        else:
            new_quantity = held.quantity + quantity
            position = held.model_copy(
                update={
                    "quantity": new_quantity,
                    "avg_price": average_price(held.quantity, held.avg_price, quantity, price),
                    "cost_base": held.cost_base + total,
                }
            )
        return self.model_copy(
            update={
                "cash": self.cash - total,
                "positions": {**self.positions, symbol: position},
                "commissions_base": self.commissions_base + commission_base,
            }
        )

    def sold(
        self, symbol: str, quantity: Decimal, proceeds_base: Decimal, commission_base: Decimal
    ) -> SimLedger:
        """This ledger after selling ``quantity`` for ``proceeds_base``, realising P&L in base."""
        held = self.positions.get(symbol)
        held_quantity = held.quantity if held is not None else ZERO
        if held is None or quantity > held_quantity:
            raise OrderRejectedError(
                f"INSUFFICIENT_POSITION: symbol={symbol}, requested={quantity}, held={held_quantity}",
                code="INSUFFICIENT_POSITION",
            )
        positions = dict(self.positions)
        if quantity == held.quantity:
            cost_part = held.cost_base
            del positions[symbol]
        else:
            cost_part = cost_part_of(held.cost_base, quantity, held.quantity)
            positions[symbol] = held.model_copy(
                update={"quantity": held.quantity - quantity, "cost_base": held.cost_base - cost_part}
            )
        return self.model_copy(
            update={
                "cash": self.cash + proceeds_base - commission_base,
                "positions": positions,
                "realized_pnl_base": self.realized_pnl_base + proceeds_base - cost_part - commission_base,
                "commissions_base": self.commissions_base + commission_base,
            }
        )


class LedgerStore(Protocol):
    """Where the simulated broker keeps its ledger between runs."""

    def load(self) -> SimLedger | None:
        """The saved ledger, or None when nothing has been saved yet."""
        ...

    def save(self, ledger: SimLedger) -> None:
        """Replace the saved ledger with ``ledger``; on return it must survive a restart."""
        ...


class InMemoryLedgerStore:
    """A store that lives as long as the process (tests, backtests)."""

    def __init__(self, ledger: SimLedger | None = None) -> None:
        self.ledger = ledger

    def load(self) -> SimLedger | None:
        """The last saved ledger, if any."""
        return self.ledger

    def save(self, ledger: SimLedger) -> None:
        """Keep ``ledger`` as the saved one."""
        self.ledger = ledger


class JsonFileLedgerStore:
    """A store keeping the ledger as one JSON document, replaced atomically on every save."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def load(self) -> SimLedger | None:
        """The ledger in the file, or None when the file does not exist yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return SimLedger.model_validate_json(text)
        except ValidationError as exc:
            raise FatalBrokerError(
                f"the simulated ledger at {self.path} is unreadable ({exc.error_count()} errors); "
                "restore it from a backup or move it away to start a fresh account",
                code="LEDGER_CORRUPT",
            ) from exc

    def save(self, ledger: SimLedger) -> None:
        """Write to a temporary file in the same directory, fsync it, then rename it over the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as tmp:
                tmp.write(ledger.model_dump_json(indent=2))
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
