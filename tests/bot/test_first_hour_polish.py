"""The small things a new user meets in the first hour: numbers as people write them, one line per outcome.

No ``494.0000`` days, no Python dict, no ``-0.0 points`` or ``-0.0000``; a confidence that visibly falls
below its threshold; halt, resume and a refused approval said once (the WARNING log line that repeated
them is INFO); the CSV data's last day noted only by the commands that run on it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.cli.backtest_run import summary_text
from bot.desk import formats
from bot.evaluation.report import alpha_line

runner = CliRunner()
SCENARIO = {"PAPERDESK_RISK__MIN_CONFIDENCE": "0.75"}
AS_OF = ("--as-of", "2026-11-20")


def run(*args: str, **env: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={**SCENARIO, **env})
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("value", "shown"), [(0.548, "0.548"), (0.5499, "0.549"), (0.55, "0.55"), (0.7, "0.70"),
                                              (0.29, "0.29"), (1.0, "1.00"), (0.7029, "0.702")])
def test_a_confidence_is_cut_not_rounded_so_it_compares_with_its_threshold(value: float, shown: str) -> None:
    assert formats.confidence(value) == shown


def test_metrics_read_as_written_by_hand() -> None:
    assert formats.metric("max_drawdown_days", 494.0) == "494"
    assert formats.metric("cvar_95", -1e-9) == "0.0000" and formats.metric("cvar_95", -0.0123) == "-0.0123"
    assert formats.metric("sharpe", None) == "n/a" and formats.metric("trades", 12) == "12"
    assert formats.tally({"filled": 3, "proposals_borderline": 2}) == "filled 3, proposals borderline 2"
    assert formats.signed(Decimal("-0.001")) == "+0.00" and formats.signed(Decimal("-1.5")) == "-1.50"


def test_a_hair_behind_is_not_minus_zero_points() -> None:
    line = alpha_line({"total_return": 0.1160}, "SPY", {"total_return": 0.11604})
    assert "-0.0" not in line and "less than 0.1 points (BEHIND: negative alpha)" in line
    assert "+2.0 points (ahead)" in alpha_line({"total_return": 0.14}, "SPY", {"total_return": 0.12})


def test_the_backtest_summary_prints_whole_days_words_and_no_negative_zero() -> None:
    figures: dict[str, Any] = {"total_return": 0.1, "max_drawdown_days": 494.0, "cvar_95": -2e-7, "sharpe": None}
    document = {"run_id": "bt1", "policy": "rules", "data": "synthetic", "start": "2020-01-01", "end": "2021-12-31",
                "breaker_days": 5, "folds": [{"start": "2020-01-01", "end": "2021-12-31", "days": 500,
                                              "counts": {"filled": 7, "proposals_borderline": 2,
                                                         "stop_loss_sells": 3},
                                              "metrics": figures, "benchmarks": {"SPY buy-and-hold": figures}}]}
    text = summary_text(document)
    assert "orders: filled 7, proposals borderline 2\n" in text and "{" not in text
    assert "stop-loss sells 3, circuit-breaker days 0" in text  # said once, in words, not in the orders tally
    days = next(line for line in text.splitlines() if line.startswith("max_drawdown_days"))
    cvar = next(line for line in text.splitlines() if line.startswith("cvar_95"))
    assert days.split()[1:] == ["494", "494"] and cvar.split()[1:] == ["0.0000", "0.0000"]


def test_halt_resume_and_a_refused_approval_are_said_once(isolated_env: Path) -> None:
    code, out, _ = run("cycle", *AS_OF, "--json")
    waiting = [p["id"] for p in json.loads(out)["proposals"] if p["status"] == "AWAITING_APPROVAL"]
    code, out, err = run("halt", "--reason", "lunch")
    assert code == 0 and "HALTED" in out and err == ""
    code, _, err = run("approve", waiting[0], *AS_OF)
    assert code == 1 and err.startswith("error: approval of") and err.count("\n") == 1, err
    code, out, err = run("resume")
    assert code == 0 and "ACTIVE" in out and err == ""


def test_the_outcome_log_line_is_still_there_at_info(isolated_env: Path) -> None:
    code, _, err = run("halt", PAPERDESK_LOG_LEVEL="info", PAPERDESK_LOG_FORMAT="json")
    events = [json.loads(line) for line in err.splitlines()]
    assert code == 0 and {"event": "trading_state_changed", "level": "info"}.items() <= events[-1].items()


def _csv_home(tmp_path: Path) -> dict[str, str]:
    """Two Paris stocks with a year and a half of daily closes ending on 22 March 2024."""
    data = tmp_path / "data"
    data.mkdir()
    universe = tmp_path / "universe.csv"
    universe.write_text("# base_currency: EUR\nsymbol,name,asset_class,sector,currency,exchange,fractional\n"
                        "AAA.PA,A,eu_equity,industrials,EUR,XPAR,false\nBBB.PA,B,eu_equity,financials,EUR,XPAR,false\n")
    dates = pd.bdate_range("2023-01-02", periods=320)
    rng = np.random.default_rng(5)
    for k, symbol in enumerate(("AAA.PA", "BBB.PA")):
        close = 50 * (k + 1) * np.cumprod(1 + rng.normal(0.0005, 0.01, len(dates)))
        pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": close.round(4)}).to_csv(
            data / f"{symbol}.csv", index=False)
    return {"PAPERDESK_DATA": f"csv:{data}", "PAPERDESK_UNIVERSE": str(universe)}


def test_the_csv_data_end_is_noted_only_where_the_desk_runs_on_it(isolated_env: Path, tmp_path: Path) -> None:
    csv = _csv_home(tmp_path)
    _, _, err = run("cycle", **csv)
    assert "note: the CSV data ends on 2024-03-22" in err
    for args in (["pending"], ["halt"], ["resume"]):
        code, _, err = run(*args, **csv)
        assert code == 0 and "CSV data ends" not in err, (args, err)
