"""What the desk's use cases return: plain frozen models that the CLI and Telegram render.

They carry no behaviour and serialise to JSON as they are (``--json`` prints ``model_dump``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class DeskError(Exception):
    """A request the desk refuses; the message is one line saying why (and what to do)."""


class ProposalLine(_View):
    """One proposal as a human reads it."""

    id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal | None
    currency: str | None
    notional_base: Decimal
    weight_before: float
    target_weight: float
    confidence: float
    level: str | None
    codes: list[str]
    hits: list[str]
    status: str
    clamp: str | None = None
    fill_quantity: Decimal | None = None
    fill_price: Decimal | None = None
    expires_at: datetime | None = None
    thesis: str = ""
    note: str | None = None


class SkippedIdea(_View):
    """A policy idea that produced no order, and why."""

    symbol: str
    reason: str


class CycleReport(_View):
    """Everything ``paperdesk cycle`` shows."""

    cycle_id: str
    status: str
    as_of: date
    data_source: str
    synthetic: bool
    policy: str
    regime: str
    regime_inputs: dict[str, float]
    market_view: str
    trading_state: str
    base_currency: str
    proposals: list[ProposalLine]
    holds: list[str]
    skipped: list[SkippedIdea]
    alerts: list[str]
    equity_before: Decimal
    equity_after: Decimal
    cash_after: Decimal
    elapsed_seconds: float


class DecisionResult(_View):
    """The outcome of an approve or reject."""

    proposal: ProposalLine
    message: str


class PositionLine(_View):
    """One holding."""

    symbol: str
    quantity: Decimal
    avg_price: Decimal
    market_price: Decimal
    currency: str
    market_value_base: Decimal
    cost_base: Decimal
    weight: float
    unrealized_pnl_base: Decimal
    unrealized_pnl_pct: float


class StatusView(_View):
    """The portfolio at a glance."""

    base_currency: str
    equity: Decimal
    cash: Decimal
    positions_value: Decimal
    cash_weight: float
    day_pnl: Decimal | None
    total_pnl: Decimal
    total_return: float
    drawdown: float
    trading_state: str
    state_since: datetime
    state_reason: str | None
    pending: int
    positions: int
    last_cycle_at: datetime | None
    last_cycle_as_of: date | None
    data_source: str
    sleeves: dict[str, float] | None = None  # each sleeve's budget in force (share of equity), when sleeved


class EquityPoint(_View):
    """Equity at one snapshot."""

    at: datetime
    as_of: date
    equity: Decimal


class PnlView(_View):
    """Profit and loss since the first snapshot."""

    base_currency: str
    start_equity: Decimal
    equity: Decimal
    total_pnl: Decimal
    total_return: float
    day_pnl: Decimal | None
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    commissions: Decimal
    max_drawdown: float
    series: list[EquityPoint]


class StateChange(_View):
    """A trading-state change."""

    state: str
    previous: str
    actor: str
    reason: str | None


class LimitUsage(_View):
    """One risk limit and how much of it the portfolio uses now."""

    name: str
    limit: float
    value: float
    used: float
    detail: str = ""


class RiskUsageView(_View):
    """Every portfolio-level limit with its current use."""

    trading_state: str
    limits: list[LimitUsage]


def money(value: Decimal) -> Decimal:
    """Round a base-currency amount to cents for display."""
    return value.quantize(Decimal("0.01"))
