"""Number formats shared by the terminal and Telegram renderers; a missing value shows as an em dash."""

from __future__ import annotations

from decimal import Decimal

MISSING = "—"


def amount(value: Decimal | None, places: int = 2) -> str:
    """``12,345.68``."""
    return MISSING if value is None else f"{value:,.{places}f}"


def signed(value: Decimal | None) -> str:
    """``+1,234.50`` / ``-12.00``."""
    return MISSING if value is None else f"{value:+,.2f}"


def quantity(value: Decimal | None) -> str:
    """A quantity without trailing zeros: ``12``, ``0.5``."""
    return MISSING if value is None else f"{value.normalize():f}"
