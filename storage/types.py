"""Column types: exact decimals on every backend, and the money and JSON fields every table module uses.

SQLite has no decimal type and SQLAlchemy's ``Numeric`` goes through float there, which would
round money. ``Money`` stores text on SQLite and ``NUMERIC(28, 10)`` on PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Field


class Money(TypeDecorator[Decimal]):
    """A Decimal column that round-trips exactly on SQLite and PostgreSQL."""

    impl = Numeric(28, 10)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Text on SQLite, NUMERIC elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(28, 10, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        """Store decimals as text on SQLite."""
        if value is None:
            return None
        if dialect.name == "sqlite":
            return str(Decimal(value))
        return Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Always hand back a Decimal without the padding zeros of the column scale."""
        if value is None:
            return None
        result = Decimal(str(value))
        if not result.is_finite():
            return result
        # NUMERIC(28, 10) pads: 1.5 comes back as 1.5000000000; 100 must not become 1E+2.
        normalized = result.normalize()
        return _plain(normalized)


def _plain(value: Decimal) -> Decimal:
    """Drop a positive exponent (1E+2 -> 100) while keeping the digits."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return value.quantize(Decimal(1))
    return value


def money_field(nullable: bool = False) -> Any:
    """An exact Decimal column (0 by default, or nullable)."""
    return Field(default=None if nullable else Decimal(0), sa_type=Money, nullable=nullable)


def json_field() -> Any:
    """A nullable JSON column."""
    return Field(default=None, sa_column=Column(JSON, nullable=True))
