"""One portfolio's date on historical CSV files: the README's CSV example runs as written; status, positions
and pnl value the portfolio on its latest cycle's as-of date (or ``--as-of``), not on the files' last day;
day P&L is a day's move or unknown; ``report`` and ``report --week`` end on that date, ``report --as-of``
and ``reconcile --as-of`` on the day given; an approval is decided on the portfolio's date."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from tests.bot.csv_market import LAST_DAY, close_on, write_market

runner = CliRunner()
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def market(tmp_path: Path, isolated_env: Path) -> dict[str, str]:
    """The small CSV market, and a home of its own."""
    return {**write_market(tmp_path), "PAPERDESK_HOME": str(isolated_env)}


def run(env: dict[str, str], *args: str) -> Any:
    """A command's JSON output (it must succeed)."""
    result = runner.invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def text(env: dict[str, str], *args: str) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def test_the_readme_csv_example_runs_as_written(market: dict[str, str]) -> None:
    commands = [shlex.split(line) for line in README.read_text(encoding="utf-8").splitlines()
                if "PAPERDESK_DATA=csv:" in line and " paperdesk cycle" in line]
    assert len(commands) >= 2
    dates = []
    for words in commands:
        args = words[words.index("paperdesk") + 1:]
        dates.append(run(market, *args)["as_of"])  # the README's home and data are swapped for the test's
    assert dates == sorted(dates) and dates[-1] == LAST_DAY


def test_status_positions_and_pnl_value_the_portfolio_on_its_latest_cycle(market: dict[str, str]) -> None:
    cycle = run(market, "cycle", "--as-of", "2024-06-28")
    status = run(market, "status")
    assert status["equity"] == cycle["equity_after"] and status["last_cycle_as_of"] == "2024-06-28"
    assert status["day_pnl"] is None  # no earlier snapshot: not six months of moves called a day
    spy = next(p for p in run(market, "positions") if p["symbol"] == "SPY")
    assert float(spy["market_price"]) == close_on(market, "SPY", "2024-06-28")
    pnl = run(market, "pnl")
    assert pnl["equity"] == cycle["equity_after"] and pnl["day_pnl"] is None
    later = next(p for p in run(market, "positions", "--as-of", LAST_DAY) if p["symbol"] == "SPY")
    assert float(later["market_price"]) == close_on(market, "SPY", LAST_DAY)
    assert run(market, "status", "--as-of", LAST_DAY)["equity"] != cycle["equity_after"]


def test_day_pnl_is_the_move_since_the_trading_day_before_or_unknown(market: dict[str, str]) -> None:
    first = run(market, "cycle", "--as-of", "2024-06-27")
    second = run(market, "cycle", "--as-of", "2024-06-28")
    status = run(market, "status")
    moved = float(second["equity_after"]) - float(first["equity_after"])
    assert float(status["day_pnl"]) == pytest.approx(moved, abs=0.011)  # each figure rounded to cents
    run(market, "cycle")  # the files' last day, six months on
    assert run(market, "status")["day_pnl"] is None


def test_reports_end_on_the_portfolio_date_or_the_as_of_given(market: dict[str, str], isolated_env: Path) -> None:
    for day in ("2024-06-24", "2024-06-25", "2024-06-26", "2024-06-27", "2024-06-28", "2024-07-01", "2024-07-02"):
        run(market, "cycle", "--as-of", day)
    report = text(market, "report")
    assert report.startswith("paperdesk report, 2024-07-02\nperiod 2024-06-24 → 2024-07-02\n")
    week = text(market, "report", "--week")
    assert week.startswith("paperdesk weekly report, 2024-07-02\nperiod 2024-06-25 → 2024-07-02\n")
    assert "SPY buy-and-hold" in week
    earlier = text(market, "report", "--as-of", "2024-06-26")
    assert earlier.startswith("paperdesk report, 2024-06-26\nperiod 2024-06-24 → 2024-06-26\n")
    summary = (isolated_env / "reports" / "2024-06-26" / "summary.txt").read_text(encoding="utf-8")
    assert earlier.startswith(summary)
    reconciled = run(market, "reconcile", "--as-of", "2024-06-26")
    assert reconciled["differences"] == [] and reconciled["skipped"] is None


def test_an_approval_is_decided_on_the_portfolio_date(market: dict[str, str]) -> None:
    cycle = run(market, "cycle", "--as-of", "2024-06-27")
    waiting = [p["id"] for p in cycle["proposals"] if p["status"] == "AWAITING_APPROVAL"]
    assert waiting and sorted(p["id"] for p in run(market, "pending")) == sorted(waiting)  # not expired on 12-31
    decided = run(market, "approve", waiting[0])
    assert decided["proposal"]["status"] == "FILLED"
    symbol = decided["proposal"]["symbol"]
    assert float(decided["proposal"]["price"]) == pytest.approx(close_on(market, symbol, "2024-06-27"), rel=0.02)
