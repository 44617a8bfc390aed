"""``paperdesk report``: a fresh home says so; a traded home prints figures and writes the charts."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli.app import app

runner = CliRunner()


def test_a_fresh_home_reports_that_nothing_was_traded(isolated_env: Path) -> None:
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 0, result.stderr
    assert "Nothing to measure yet" in result.stdout
    assert not (isolated_env / "reports").exists()


def test_a_report_after_a_few_cycles_has_benchmarks_and_charts(isolated_env: Path) -> None:
    for day in ("2024-06-03", "2024-06-04", "2024-06-05", "2024-06-06"):
        cycle = runner.invoke(app, ["cycle", "--as-of", day, "--json"])
        assert cycle.exit_code == 0, cycle.stderr
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "period 2024-06-03 → 2024-06-06" in text
    assert "SPY buy-and-hold" in text and "CAC 40 buy-and-hold" in text and "equal-weight universe" in text
    assert "vs SPY buy-and-hold:" in text and "decisions:" in text and "risk codes:" in text
    folder = next((isolated_env / "reports").iterdir())
    for name in ("summary.txt", "equity.png", "drawdown.png", "calibration.png"):
        assert (folder / name).stat().st_size > 0
    week = runner.invoke(app, ["report", "--week"])
    assert week.exit_code == 0 and "weekly report, 2024-06-06" in week.stdout  # the portfolio's week, not the clock's
    assert "period 2024-06-03 → 2024-06-06" in week.stdout
