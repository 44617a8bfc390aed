"""Stop-loss levels: where a filled BUY's stop sits, for the live watch and the replay alike."""

from __future__ import annotations

from decimal import Decimal


def stop_level(fill_price: Decimal, stop_loss_pct: float) -> Decimal:
    """The stop of a filled BUY: its fill price x (1 - ``stop_loss_pct``)."""
    return fill_price * (1 - Decimal(str(stop_loss_pct)))
