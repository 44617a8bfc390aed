"""The web's reads, each composed from a desk use case or store reader that the CLI or Telegram uses.

Nothing here computes a figure of its own: status, positions, pending, history, risk usage,
explain, the report's benchmark curves, the stop-loss watch's stop levels, the LLM audit log
(``paperdesk llm calls``), the stored backtest runs and the sleeves (``paperdesk sleeves``) all come
from where the other transports get them. The decision log filters stored proposals by symbol, verdict
level and actor in the database (``storage.decision_log``), then renders them with the same
``line_from_row`` as ``/history``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from bot.desk import views
from bot.desk.desk import Desk
from bot.desk.lines import line_from_row
from bot.desk.watch import stop_price
from bot.evaluation.metrics import daily_equity, drawdown_curve
from bot.evaluation.report import benchmark_curves, equity_snapshots
from bot.llm_log import SqlCallLog
from bot.sleeves.views import NO_SLEEVES, sleeves_view
from bot.web.models import (
    BacktestDetail,
    BacktestSummary,
    DecisionLine,
    EquityChart,
    LlmCalls,
    Point,
    PositionRow,
    SleevesPage,
)
from storage.backtest_store import BacktestStore
from storage.decision_log import DecisionLog
from storage.llm_store import LlmStore
from storage.tables_backtest import BacktestRunRow


async def position_rows(desk: Desk) -> list[PositionRow]:
    """``views.positions`` with each holding's stop level."""
    lines = await views.positions(desk)
    return [PositionRow(**line.model_dump(), stop_price=stop_price(desk, line.symbol))
            for line in lines]


def decisions(desk: Desk, *, symbol: str | None, verdict: str | None, actor: str | None,
              limit: int) -> list[DecisionLine]:
    """The newest proposals matching every filter given (symbol, verdict level, actor prefix), as ``/history``."""
    rows = DecisionLog(desk.store.session).proposals(symbol=symbol, verdict=verdict, actor=actor, limit=limit)
    return [DecisionLine(proposal=line_from_row(desk.store, r), cycle_id=r.cycle_id, created_at=r.created_at,
                         decided_by=r.decided_by) for r in rows]


def equity_chart(desk: Desk) -> EquityChart:
    """The report's daily equity and benchmark curves (``bot.evaluation.report``) and the drawdown."""
    as_of = desk.portfolio_date()
    equity = daily_equity(equity_snapshots(desk, as_of))
    synthetic = desk.market.provider.synthetic
    currency = desk.universe.base_currency
    if len(equity) < 2:
        return EquityChart(base_currency=currency, synthetic=synthetic, lines={"portfolio": _points(equity)},
                           drawdown=_points(_drawdown(equity)), missing=[])
    series, missing = benchmark_curves(desk, [d.date() for d in equity.index], float(equity.iloc[0]))
    lines = {"portfolio": _points(equity)} | {name: _points(s) for name, s in series.items()}
    return EquityChart(base_currency=currency, synthetic=synthetic, lines=lines, drawdown=_points(_drawdown(equity)),
                       missing=missing)


def _drawdown(equity: pd.Series) -> pd.Series:
    """The metrics' drawdown curve (``metrics.drawdown_curve``), drawn below zero."""
    return -drawdown_curve(equity)


def _points(series: pd.Series) -> list[Point]:
    clean = series.dropna()
    return [Point(time=_day(t), value=round(float(v), 6)) for t, v in clean.items()]


def _day(value: Any) -> date:
    return value.date() if isinstance(value, pd.Timestamp) else date.fromisoformat(str(value)[:10])


def llm_calls(desk: Desk, budget: float | None, limit: int) -> LlmCalls:
    """``paperdesk llm calls``'s rows (``bot.cli.llm.call_view``) and the month's spend (the budget's own sum)."""
    from bot.cli.llm import call_view

    store = LlmStore(desk.store.session)
    spend = SqlCallLog(store).month_spend(desk.today)
    return LlmCalls(calls=[call_view(row) for row in store.calls(limit)], month_spend_usd=spend, budget_usd=budget)


def backtest_runs(desk: Desk, limit: int) -> list[BacktestSummary]:
    """Stored backtest runs, newest first."""
    return [_summary(row) for row in BacktestStore(desk.store.session, desk.clock).runs(limit)]


def backtest_run(desk: Desk, run_id: str) -> BacktestDetail | None:
    """One stored run with its equity curve; None when unknown."""
    row = BacktestStore(desk.store.session, desk.clock).get_run(run_id)
    if row is None:
        return None
    curve = row.equity if isinstance(row.equity, list) else []
    points = [Point(time=date.fromisoformat(str(d)[:10]), value=float(v)) for d, v in curve]
    return BacktestDetail(run=_summary(row), equity=points)


def _summary(row: BacktestRunRow) -> BacktestSummary:
    return BacktestSummary(id=row.id, created_at=row.created_at, start=row.start, end=row.end, policy=row.policy,
                           data_source=row.data_source, status=row.status, metrics=dict(row.metrics or {}),
                           benchmarks=dict(row.benchmarks or {}))


async def sleeves_page(desk: Desk) -> SleevesPage:
    """``paperdesk sleeves``' view, and each day's budgets stacked in the sleeves' order for the chart."""
    if desk.sleeves is None:
        return SleevesPage(view=None, stacked={}, message=NO_SLEEVES)
    view = await sleeves_view(desk)
    days = desk.sleeves.log.days()
    stacked: dict[str, list[Point]] = {}
    running: dict[date, float] = {}
    for line in view.lines:
        points = []
        for day in (d for d in days if d.sleeve == line.name):
            running[day.as_of] = running.get(day.as_of, 0.0) + day.budget
            points.append(Point(time=day.as_of, value=running[day.as_of]))
        stacked[line.name] = points
    return SleevesPage(view=view, stacked=stacked)
