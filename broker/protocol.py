"""The port every broker implements; the desk cannot tell paper from simulated."""

from __future__ import annotations

from typing import Protocol

from broker.models import Account, Order, OrderRequest, Position


class Broker(Protocol):
    """An execution venue. Submitting the same ``client_order_id`` twice yields one order."""

    name: str

    async def account(self) -> Account:
        """Cash, positions value and equity in the base currency."""
        ...

    async def positions(self) -> list[Position]:
        """Open positions, valued at the latest prices."""
        ...

    async def submit(self, request: OrderRequest) -> Order:
        """Submit an order; a repeated client_order_id returns the existing order."""
        ...

    async def order_by_client_id(self, client_order_id: str) -> Order | None:
        """The order submitted with ``client_order_id`` (fills included), or None if the venue never saw it.

        Crash recovery (``bot/desk/reconcile.py``) relies on this: None must mean "not received",
        never "could not ask" — a venue that cannot answer raises ``RetryableBrokerError``.
        """
        ...

    def is_tradable(self, symbol: str) -> bool:
        """Whether this venue can trade the symbol at all."""
        ...
