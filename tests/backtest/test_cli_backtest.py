"""``paperdesk backtest``: one-line errors on bad input; a run writes its files and its database row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from bot.cli.app import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _write_csvs(directory: Path, symbols: tuple[str, ...] = ("SPY", "TLT"), days: int = 320) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    dates = pd.bdate_range("2023-01-02", periods=days)
    for k, symbol in enumerate(symbols):
        close = 100 * np.cumprod(1 + rng.normal(0.0003, 0.01, days)) * (1 + k)
        frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": close.round(4), "volume": 5_000_000})
        frame.to_csv(directory / f"{symbol}.csv", index=False)
    fx = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": 1.1})
    fx.to_csv(directory / "EURUSD=X.csv", index=False)
    return directory


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "2024-13-01", "--end", "2024-12-31"], "invalid --start '2024-13-01': use YYYY-MM-DD"),
    (["--start", "2024-01-01", "--end", "31/12/2024"], "invalid --end '31/12/2024': use YYYY-MM-DD"),
    (["--start", "2024-06-01", "--end", "2024-06-01"], "empty range"),
    (["--start", "2024-01-01", "--end", "2024-06-01", "--policy", "magic"], "unknown policy 'magic'"),
    (["--start", "2024-01-01", "--end", "2024-06-01", "--data", "csv:/nonexistent/dir"], "not found"),
])
def test_bad_input_is_one_line_and_exit_1(args: list[str], message: str) -> None:
    code, stdout, stderr = run("backtest", *args)
    assert code == 1
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
    assert message in stderr
    assert stdout == ""


def test_a_range_without_data_and_unknown_symbols_are_refused(tmp_path: Path) -> None:
    data = _write_csvs(tmp_path / "data")
    code, _, stderr = run("backtest", "--start", "2010-01-01", "--end", "2010-12-31", "--data", f"csv:{data}",
                          "--skip-missing")
    assert code == 1 and "no price data between 2010-01-01 and 2010-12-31" in stderr and stderr.count("\n") == 1
    code, _, stderr = run("backtest", "--start", "2023-06-01", "--end", "2023-12-31", "--data", f"csv:{data}",
                          "--symbols", "SPY,NOPE")
    assert code == 1 and "unknown symbol(s) NOPE" in stderr and stderr.count("\n") == 1


def test_a_two_symbol_directory_is_a_valid_backtest(tmp_path: Path, isolated_env: Path) -> None:
    data = _write_csvs(tmp_path / "data")
    out = tmp_path / "out"
    code, stdout, stderr = run("backtest", "--start", "2023-11-01", "--end", "2024-03-22", "--data", f"csv:{data}",
                               "--policy", "equal_weight", "--out", str(out), "--json", "--approve-borderline",
                               "--skip-missing")
    assert code == 0, stderr
    document = json.loads(stdout)
    assert set(document["benchmarks"]) == {"SPY buy-and-hold", "equal-weight universe"}  # no CAC 40 file
    assert document["counts"]["filled"] > 0
    assert document["counts"].get("proposals_borderline", 0) == 0  # a baseline sizes itself inside the limits
    assert document["metrics"]["cagr"] is not None
    equity = pd.read_csv(out / "equity.csv")
    assert list(equity.columns) == ["date", "equity"]
    assert equity["date"].iloc[0] == "2023-11-01" and equity["date"].iloc[-1] == "2024-03-22"
    assert equity["equity"].iloc[0] == 100_000
    for name in ("metrics.json", "summary.txt", "equity.png", "drawdown.png"):
        assert (out / name).stat().st_size > 0
    behind = document["metrics"]["total_return"] < document["benchmarks"]["SPY buy-and-hold"]["total_return"]
    spy_line = next(line for line in (out / "summary.txt").read_text().splitlines()
                    if line.startswith("vs SPY buy-and-hold:"))
    assert ("BEHIND: negative alpha" in spy_line) is behind
    engine = create_engine(f"sqlite:///{isolated_env / 'paperdesk.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("select id, policy, status, out_dir from backtest_run")).all()
    engine.dispose()
    assert rows == [(document["run_id"], "equal_weight", "completed", str(out))]


def test_walk_forward_reports_each_fold(tmp_path: Path) -> None:
    data = _write_csvs(tmp_path / "data")
    out = tmp_path / "wf"
    code, stdout, stderr = run("backtest", "--start", "2023-11-01", "--end", "2024-03-22", "--data", f"csv:{data}",
                               "--policy", "buy_and_hold", "--out", str(out), "--walk-forward", "2", "--json",
                               "--skip-missing")
    assert code == 0, stderr
    folds = json.loads(stdout)["folds"]
    assert len(folds) == 2 and folds[0]["end"] < folds[1]["start"]
    assert all(f["final_equity"] > 0 for f in folds)
    assert (out / "equity_fold1.csv").exists() and (out / "equity_fold2.csv").exists()


def test_the_object_engine_gives_the_same_run_and_an_unknown_engine_is_refused(tmp_path: Path) -> None:
    data = _write_csvs(tmp_path / "data")
    documents = []
    for engine in ("auto", "objects"):
        out = tmp_path / engine
        code, stdout, stderr = run("backtest", "--start", "2023-11-01", "--end", "2024-03-22", "--data",
                                   f"csv:{data}", "--policy", "equal_weight", "--out", str(out), "--json",
                                   "--approve-borderline", "--engine", engine, "--skip-missing")
        assert code == 0, stderr
        documents.append(json.loads(stdout))
        assert documents[-1]["engine"] == engine
    assert documents[0]["metrics"] == documents[1]["metrics"]
    assert documents[0]["counts"] == documents[1]["counts"] and documents[0]["counts"]["filled"] > 0
    assert (tmp_path / "auto" / "equity.csv").read_text() == (tmp_path / "objects" / "equity.csv").read_text()
    code, _, stderr = run("backtest", "--start", "2023-11-01", "--end", "2024-03-22", "--data", f"csv:{data}",
                          "--engine", "gpu")
    assert code == 1 and "unknown engine 'gpu': choose auto, objects" in stderr and stderr.count("\n") == 1
