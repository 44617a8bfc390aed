"""Number formats shared by the terminal and Telegram renderers and the report texts; a missing value shows as
an em dash (``n/a`` in metric tables). No format ever prints a negative zero."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal

MISSING = "—"


def amount(value: Decimal | None, places: int = 2) -> str:
    """``12,345.68``."""
    return MISSING if value is None else f"{value:,.{places}f}"


def signed(value: Decimal | None) -> str:
    """``+1,234.50`` / ``-12.00``."""
    return MISSING if value is None else _unsigned_zero(f"{value:+,.2f}", "+")


def quantity(value: Decimal | None) -> str:
    """A quantity without trailing zeros: ``12``, ``0.5``."""
    return MISSING if value is None else f"{value.normalize():f}"


def confidence(value: float) -> str:
    """``0.70``, ``0.548``: cut (not rounded) to three places, so it compares with a threshold as the value does."""
    cut = Decimal(str(value)).quantize(Decimal("0.001"), rounding=ROUND_DOWN)
    text = f"{cut:f}"
    return text[:-1] if text.endswith("0") else text


def metric(name: str, value: object) -> str:
    """A backtest or report figure: ``0.1234``, whole days as ``494``, ``n/a`` when it cannot be computed."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return _unsigned_zero(f"{value:.0f}" if name.endswith("_days") else f"{value:.4f}")
    return str(value)


def tally(counts: Mapping[str, int]) -> str:
    """``filled 12, proposals borderline 3``: a count per name, in words."""
    return ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in counts.items()) or "none"


def _unsigned_zero(text: str, sign: str = "") -> str:
    """``-0.0000`` (a tiny negative rounded away) shown as ``0.0000`` (or ``+0.00`` with ``sign``)."""
    return sign + text[1:] if text.startswith("-") and not text.strip("-0.,") else text
