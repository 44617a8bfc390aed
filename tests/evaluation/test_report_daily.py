"""``paperdesk report`` measures per trading day, as a backtest does: snapshots taken at any rhythm (several a
day, gaps, a weekend) become one equity per business day (the day's last, carried over days without one);
the week is the portfolio's last 7 days by its as-of dates; a report and a backtest of the same daily equity
give the same figures."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from agent.policies.baselines import EqualWeightPolicy
from bot.backtest.run import BacktestRequest, run_backtest
from bot.clock import FixedClock
from bot.evaluation.metrics import daily_equity
from bot.evaluation.report import build_report
from bot.settings import Settings
from bot.wiring import App, build_app
from broker.simulated import SimConfig
from storage.tables import EquitySnapshotRow

FIRST, LAST = date(2025, 1, 6), date(2025, 5, 30)  # five months, Monday to Friday
SYNTHETIC = " — SYNTHETIC DATA, not real prices"  # the desk of these tests runs on the synthetic market
# 22 days with snapshots; on five of them an earlier snapshot with another value (the day's last counts),
# one on a Saturday (it counts for the Friday before), gaps of up to four weeks in between.
DAYS = [date(2025, 1, 6), date(2025, 1, 7), date(2025, 1, 8), date(2025, 1, 15), date(2025, 1, 24),
        date(2025, 2, 3), date(2025, 2, 4), date(2025, 2, 14), date(2025, 2, 22), date(2025, 3, 3),
        date(2025, 3, 4), date(2025, 3, 20), date(2025, 3, 21), date(2025, 4, 1), date(2025, 4, 2),
        date(2025, 4, 28), date(2025, 5, 5), date(2025, 5, 14), date(2025, 5, 22), date(2025, 5, 27),
        date(2025, 5, 28), date(2025, 5, 30)]
EARLIER = {date(2025, 1, 6): 90_000, date(2025, 2, 4): 150_000, date(2025, 3, 21): 80_000,
           date(2025, 5, 28): 130_000, date(2025, 5, 30): 95_000}


def _values() -> dict[date, float]:
    """From 100,000 to 112,400 (+12.4%) with wiggles of ±1%."""
    n = len(DAYS) - 1
    return {d: 100_000 * (1 + 0.124 * k / n) * (1 + (0.01 * math.sin(3 * k) if 0 < k < n else 0))
            for k, d in enumerate(DAYS)}


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    """A wired desk whose clock stands in November 2026 (long after its snapshots, like a CSV desk)."""
    built = build_app(Settings(home=tmp_path / "home", database_url=db_url, policy="rules"),
                      clock=FixedClock(datetime(2026, 11, 20, 21, 0, tzinfo=UTC)))
    yield built
    built.close()


def store_snapshots(app: App, points: list[tuple[date, float]]) -> None:
    """Equity snapshots in this order, each taken a minute after the one before, dated by their as-of day."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with app.desk.store.session() as s:
        for k, (as_of, equity) in enumerate(points):
            value = Decimal(str(round(equity, 6)))
            s.add(EquitySnapshotRow(at=start + timedelta(minutes=k), as_of=as_of, base_currency="EUR", cash=value,
                                    positions_value=Decimal(0), equity=value))


def five_months(app: App) -> dict[date, float]:
    values = _values()
    points = []
    for d in DAYS:
        if d in EARLIER:
            points.append((d, float(EARLIER[d])))
        points.append((d, values[d]))
    assert len(points) == 27
    store_snapshots(app, points)
    return values


def by_hand(values: dict[date, float]) -> list[float]:
    """The daily equity worked out step by step: each business day takes its own value or the one before."""
    own = {d - timedelta(days=max(d.weekday() - 4, 0)): v for d, v in values.items()}
    out: list[float] = []
    for day in pd.bdate_range(FIRST, LAST):
        out.append(own.get(day.date(), out[-1] if out else math.nan))
    return out


def test_27_snapshots_over_five_months_are_annualised_per_trading_day(app: App, tmp_path: Path) -> None:
    values = five_months(app)
    report = build_report(app.desk, tmp_path)
    metrics = report.data["metrics"]
    n = len(pd.bdate_range(FIRST, LAST)) - 1  # daily returns over the period's trading days
    assert report.data["period"] == [str(FIRST), str(LAST)]
    assert metrics["total_return"] == pytest.approx(0.124)
    assert metrics["cagr"] == pytest.approx(1.124 ** (252 / n) - 1, rel=1e-6)
    assert 0.25 < metrics["cagr"] < 0.40  # per snapshot it was 2.11
    daily = pd.Series(by_hand(values))
    returns = daily.pct_change().iloc[1:]
    assert metrics["sharpe"] == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(252), rel=1e-6)
    assert 0 < metrics["sharpe"] < 4  # per snapshot it was 9.3
    assert "22 of 105 trading days have an equity snapshot" in report.data["sparse"]
    assert report.title == f"paperdesk report, {LAST}{SYNTHETIC}"
    assert report.directory == tmp_path / "reports" / str(LAST)


def test_the_week_is_the_portfolios_last_7_days_not_the_wall_clocks(app: App, tmp_path: Path) -> None:
    values = five_months(app)
    report = build_report(app.desk, tmp_path, week=True)
    assert report.title == f"paperdesk weekly report, {LAST}{SYNTHETIC}"
    assert report.data["period"] == ["2025-05-23", str(LAST)]  # Friday the 23rd carries Thursday's equity
    assert report.data["metrics"]["total_return"] == pytest.approx(values[LAST] / values[date(2025, 5, 22)] - 1)


def test_a_day_s_last_snapshot_counts_and_a_weekend_one_counts_for_friday() -> None:
    index = pd.DatetimeIndex(["2025-01-02", "2025-01-02", "2025-01-04", "2025-01-08", "2025-01-08"])
    daily = daily_equity(pd.Series([5.0, 1.0, 2.0, 9.0, 3.0], index=index))
    assert daily.index.equals(pd.bdate_range("2025-01-02", "2025-01-08"))
    assert daily.tolist() == [1.0, 2.0, 2.0, 2.0, 3.0]


async def test_a_report_and_a_backtest_of_the_same_daily_equity_agree(app: App, tmp_path: Path) -> None:
    desk = app.desk
    request = BacktestRequest(start=date(2025, 3, 3), end=date(2025, 4, 30), policy=EqualWeightPolicy(),
                              provider=desk.market.provider, universe=desk.universe, limits=desk.limits,
                              sim=SimConfig(initial_cash=Decimal(100_000), base_currency="EUR"),
                              symbols=("SPY", "TLT", "GLD"), approve_borderline=True, engine="objects")
    [fold] = await run_backtest(request)
    equity = fold.equity
    assert len(equity) == len(pd.bdate_range(equity.index[0], equity.index[-1]))  # one value per trading day
    # The live desk snapshots each day, sometimes twice (a first cycle, then a re-run): the day's last counts.
    points: list[tuple[date, float]] = []
    for day, value in zip(pd.DatetimeIndex(equity.index), equity, strict=True):
        if day.day % 5 == 0:
            points.append((day.date(), value * 0.9))
        points.append((day.date(), value))
    store_snapshots(app, points)
    report = build_report(desk, tmp_path)
    assert report.data["period"] == [str(fold.start), str(fold.end)]
    backtest = {k: v for k, v in fold.metrics.items() if k != "turnover"}  # the report has no traded notional
    mine = report.data["metrics"]
    assert mine.keys() == backtest.keys()
    for key, value in backtest.items():  # as_json: rounded to 8 decimals, None where undefined
        assert mine[key] == (value if value is None else pytest.approx(value, rel=1e-9, abs=2e-8)), key
    assert fold.metrics["sharpe"] is not None and fold.metrics["total_return"] != 0
