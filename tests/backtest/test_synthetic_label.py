"""Synthetic prices are labelled SYNTHETIC wherever a backtest or a report shows them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.app import app
from tests.backtest.test_cli_backtest import _write_csvs

runner = CliRunner()
PERIOD = ("--start", "2023-01-03", "--end", "2023-03-01", "--policy", "buy_and_hold")


def test_a_synthetic_backtest_says_so_in_its_table_summary_and_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    shown = runner.invoke(app, ["backtest", *PERIOD, "--data", "synthetic", "--out", str(out)])
    assert shown.exit_code == 0, shown.stderr
    assert "SYNTHETIC DATA — not real prices" in shown.stdout
    summary = (out / "summary.txt").read_text(encoding="utf-8").splitlines()
    assert summary[1].startswith("SYNTHETIC DATA — not real prices")
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8"))["synthetic"] is True

    real = runner.invoke(app, ["backtest", *PERIOD, "--data", f"csv:{_write_csvs(tmp_path / 'data')}",
                               "--symbols", "SPY,TLT", "--json"])
    assert real.exit_code == 0, real.stderr
    document = json.loads(real.stdout)
    assert document["synthetic"] is False and not any("SYNTHETIC" in line for line in document["notes"])


def test_the_report_of_a_synthetic_portfolio_says_so_in_its_title() -> None:
    assert runner.invoke(app, ["cycle"]).exit_code == 0

    result = runner.invoke(app, ["report"])

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith("— SYNTHETIC DATA, not real prices")
