"""Walk-forward writes each fold's files and the folds chained into one ``equity.csv`` and chart."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bot.cli.app import app

runner = CliRunner()


def test_walk_forward_chains_the_folds_into_one_equity_curve_and_chart(tmp_path: Path) -> None:
    out = tmp_path / "wf"
    result = runner.invoke(app, ["backtest", "--start", "2023-01-03", "--end", "2023-06-30", "--data", "synthetic",
                                 "--policy", "equal_weight", "--walk-forward", "2", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    folds = [pd.read_csv(out / f"equity_fold{k}.csv") for k in (1, 2)]
    whole = pd.read_csv(out / "equity.csv")

    assert list(whole.columns) == ["date", "equity"]
    assert whole["date"].tolist() == folds[0]["date"].tolist() + folds[1]["date"].tolist()
    assert whole["equity"].iloc[0] == 100_000
    # the second fold starts afresh in cash: the chained curve carries on from the first fold's last value
    first, second = folds[0]["equity"], folds[1]["equity"]
    boundary = len(first)
    assert whole["equity"].iloc[boundary] == pytest.approx(first.iloc[-1], abs=0.01)
    assert whole["equity"].iloc[-1] == pytest.approx(first.iloc[-1] * second.iloc[-1] / second.iloc[0], abs=0.02)
    for name in ("equity.png", "drawdown.png", "equity_fold1.png", "equity_fold2.png"):
        assert (out / name).stat().st_size > 0
    assert [f["final_equity"] for f in json.loads(result.stdout)["folds"]] == [first.iloc[-1], second.iloc[-1]]
