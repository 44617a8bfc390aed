"""The sleeves' tables: the master allocator's decisions and each sleeve's decision days."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import json_field


class SleeveAllocationRow(SQLModel, table=True):
    """One allocation of the desk's equity across its sleeves, with what it saw and why."""

    __tablename__ = "sleeve_allocation"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    as_of: date = Field(index=True)
    method: str = Field(max_length=16)  # rules or llm
    regime: str = Field(max_length=24)
    cash: float
    budgets: dict[str, float] | None = json_field()  # sleeve -> share of equity
    inputs: dict[str, Any] | None = json_field()  # sleeve -> {sharpe, momentum, before, target, after}
    reasons: dict[str, str] | None = json_field()  # sleeve -> one sentence


class SleeveDayRow(SQLModel, table=True):
    """One sleeve on one decision day: budget, invested weight, return, benchmark and contribution."""

    __tablename__ = "sleeve_day"
    __table_args__ = (UniqueConstraint("as_of", "sleeve", name="uq_sleeve_day"),)

    id: int | None = Field(default=None, primary_key=True)
    as_of: date = Field(index=True)
    sleeve: str = Field(max_length=40, index=True)
    budget: float
    base_weight: float
    weight: float
    day_return: float
    benchmark_return: float
    contribution: float
