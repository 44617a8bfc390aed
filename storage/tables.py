"""SQLModel tables: the audit trail of every cycle, proposal, verdict, transition, order and fill.

Statuses are stored as text (the StrEnum values), not database enums, so adding a status never
needs a type migration. Money columns are ``Money`` (exact Decimal on every backend).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import json_field, money_field


class CycleRow(SQLModel, table=True):
    """One decision cycle."""

    __tablename__ = "cycle"

    id: str = Field(primary_key=True, max_length=40)
    started_at: datetime
    finished_at: datetime | None = None
    as_of: date | None = None
    policy: str = Field(max_length=40)
    data_source: str = Field(max_length=200)
    synthetic: bool = False
    regime: str | None = Field(default=None, max_length=40)
    market_view: str | None = None
    status: str = Field(max_length=20, index=True)
    error: str | None = None
    equity_before: Decimal | None = money_field(nullable=True)
    equity_after: Decimal | None = money_field(nullable=True)
    report: dict[str, Any] | None = json_field()


class ProposalRow(SQLModel, table=True):
    """A trade proposal and its current lifecycle status (changed by compare-and-set only)."""

    __tablename__ = "proposal"
    __table_args__ = (Index("ix_proposal_status_created", "status", "created_at"),)

    id: str = Field(primary_key=True, max_length=40)
    cycle_id: str = Field(foreign_key="cycle.id", index=True, max_length=40)
    created_at: datetime
    updated_at: datetime
    symbol: str = Field(max_length=40, index=True)
    side: str = Field(max_length=8)
    quantity: Decimal = money_field()
    price: Decimal | None = money_field(nullable=True)
    currency: str | None = Field(default=None, max_length=3)
    fx_rate: Decimal | None = money_field(nullable=True)
    weight_before: float = 0.0
    target_weight: float = 0.0
    confidence: float = 0.0
    thesis: str = ""
    idea: dict[str, Any] | None = json_field()
    status: str = Field(max_length=32)
    verdict_level: str | None = Field(default=None, max_length=16)
    expires_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=64)
    decision_reason: str | None = None
    nonce: str = Field(default="", max_length=16)


class VerdictRow(SQLModel, table=True):
    """A risk verdict on a proposal, at the cycle or at approval time."""

    __tablename__ = "verdict"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: str = Field(foreign_key="proposal.id", index=True, max_length=40)
    stage: str = Field(max_length=16)
    level: str = Field(max_length=16)
    created_at: datetime
    quantity_before: Decimal | None = money_field(nullable=True)
    quantity_after: Decimal | None = money_field(nullable=True)
    weight_before: float | None = None
    weight_after: float | None = None


class RiskHitRow(SQLModel, table=True):
    """One rule finding of a verdict."""

    __tablename__ = "risk_hit"

    id: int | None = Field(default=None, primary_key=True)
    verdict_id: int = Field(foreign_key="verdict.id", index=True)
    position: int
    code: str = Field(max_length=64, index=True)
    level: str = Field(max_length=16)
    detail: dict[str, Any] | None = json_field()


class TransitionRow(SQLModel, table=True):
    """One lifecycle move with its time and actor."""

    __tablename__ = "proposal_transition"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: str = Field(foreign_key="proposal.id", index=True, max_length=40)
    at: datetime
    actor: str = Field(max_length=64)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str = Field(max_length=32)
    note: str | None = None


class OrderRow(SQLModel, table=True):
    """A broker order; ``client_order_id`` is the proposal id, unique."""

    __tablename__ = "broker_order"
    __table_args__ = (UniqueConstraint("client_order_id", name="uq_broker_order_client_order_id"),)

    id: str = Field(primary_key=True, max_length=64)
    client_order_id: str = Field(max_length=48)
    proposal_id: str | None = Field(default=None, max_length=40, index=True)
    broker: str = Field(max_length=16)
    symbol: str = Field(max_length=40)
    side: str = Field(max_length=8)
    quantity: Decimal = money_field()
    status: str = Field(max_length=24)
    filled_quantity: Decimal = money_field()
    filled_avg_price: Decimal | None = money_field(nullable=True)
    submitted_at: datetime
    updated_at: datetime
    reject_reason: str | None = None


class FillRow(SQLModel, table=True):
    """One execution."""

    __tablename__ = "fill"

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=64, index=True)
    client_order_id: str = Field(max_length=48, index=True)
    symbol: str = Field(max_length=40, index=True)
    side: str = Field(max_length=8)
    quantity: Decimal = money_field()
    price: Decimal = money_field()
    currency: str = Field(max_length=3)
    fx_rate: Decimal = money_field()
    commission_base: Decimal = money_field()
    at: datetime = Field(index=True)


class EquitySnapshotRow(SQLModel, table=True):
    """Account totals at a point in time."""

    __tablename__ = "equity_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    as_of: date
    cycle_id: str | None = Field(default=None, max_length=40)
    base_currency: str = Field(max_length=3)
    cash: Decimal = money_field()
    positions_value: Decimal = money_field()
    equity: Decimal = money_field()


class PositionSnapshotRow(SQLModel, table=True):
    """One position at a point in time."""

    __tablename__ = "position_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    cycle_id: str | None = Field(default=None, max_length=40)
    symbol: str = Field(max_length=40)
    quantity: Decimal = money_field()
    avg_price: Decimal = money_field()
    currency: str = Field(max_length=3)
    cost_base: Decimal = money_field()
    market_price: Decimal = money_field()
    market_value_base: Decimal = money_field()
    weight: float = 0.0


class AlertRow(SQLModel, table=True):
    """Something a human should know (abstention, broker error, circuit breaker, halt)."""

    __tablename__ = "alert"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    kind: str = Field(max_length=40)
    severity: str = Field(max_length=16)
    message: str
    cycle_id: str | None = Field(default=None, max_length=40)
    detail: dict[str, Any] | None = json_field()


class TradingStateRow(SQLModel, table=True):
    """A trading-state change; the latest row is the state in force."""

    __tablename__ = "trading_state"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    state: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    reason: str | None = None


class SimLedgerRow(SQLModel, table=True):
    """The simulated broker's whole state as one JSON document."""

    __tablename__ = "sim_ledger"

    name: str = Field(primary_key=True, max_length=40)
    revision: int = 0
    data: dict[str, Any] | None = json_field()
    updated_at: datetime
