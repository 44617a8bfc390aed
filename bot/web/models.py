"""What the JSON API returns beyond the desk's own views (``bot.desk.results``, ``bot.desk.explain_views``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.desk.results import PositionLine, ProposalLine, StatusView
from bot.sleeves.views import SleevesView


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class SessionInfo(_View):
    """Who is logged in, what they may do, and the token their actions carry."""

    actor: str
    role: str
    csrf: str
    expires_at: datetime


class AlertLine(_View):
    """One stored alert."""

    at: datetime
    kind: str
    severity: str
    message: str


class Overview(_View):
    """The overview page: status, what comes next and the latest alerts."""

    status: StatusView
    next_runs: dict[str, datetime | None]
    synthetic: bool
    alerts: list[AlertLine]


class Point(_View):
    """One dated value of a chart line."""

    time: date
    value: float


class EquityChart(_View):
    """Daily equity against the benchmarks (same dates, same starting money) and its drawdown."""

    base_currency: str
    synthetic: bool
    lines: dict[str, list[Point]]
    drawdown: list[Point]
    missing: list[str]


class PositionRow(PositionLine):
    """A position line (``views.positions``) with the stop level of its latest filled BUY, if it set one."""

    stop_price: Decimal | None


class DecisionLine(_View):
    """A proposal in the decision log, with its cycle and who decided it."""

    proposal: ProposalLine
    cycle_id: str
    created_at: datetime
    decided_by: str | None


class RejectBody(_View):
    """A rejection's reason (NUL characters, which PostgreSQL text cannot hold, become U+FFFD)."""

    reason: Annotated[str | None, Field(max_length=1000)] = None

    @field_validator("reason")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return None if value is None else value.replace("\x00", "\ufffd")


class LlmCalls(_View):
    """Recent LLM calls and the month's spend against the budget."""

    calls: list[dict[str, Any]]
    month_spend_usd: Decimal
    budget_usd: float | None


class BacktestSummary(_View):
    """A stored backtest run without its curve."""

    id: str
    created_at: datetime
    start: date
    end: date
    policy: str
    data_source: str
    status: str
    metrics: dict[str, Any]
    benchmarks: dict[str, Any]


class BacktestDetail(_View):
    """A stored backtest run with its equity curve."""

    run: BacktestSummary
    equity: list[Point]


class SleevesPage(_View):
    """The sleeves (``bot.sleeves.views``) and their budgets by day, stacked: each line is the budgets of
    its sleeve and the sleeves before it (``view`` None and a ``message`` on a desk without sleeves)."""

    view: SleevesView | None
    stacked: dict[str, list[Point]]
    message: str | None = None
