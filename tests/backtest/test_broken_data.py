"""A backtest on broken data stops, as a cycle does; ``--skip-missing`` leaves the instruments out and says so."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.market import CsvMarketData
from agent.market.base import MarketDataError
from bot.cli.app import app
from tests.agent.factories import instrument
from tests.backtest.test_cli_backtest import _write_csvs

runner = CliRunner()
ARGS = ("backtest", "--start", "2023-11-01", "--end", "2024-03-22", "--policy", "buy_and_hold", "--json")


@pytest.mark.parametrize("header", ["date,open,high,low,close,adj_close,volume",
                                    'date,open,high,low,close,"adj close",volume'])
def test_a_truncated_line_is_an_error_naming_the_file_and_the_line(tmp_path: Path, header: str) -> None:
    path = tmp_path / "SPY.csv"
    path.write_text(f"{header}\n2016-03-09,1,2,1,1.5,1.5,100\n\n2016-03-10,1,2\n")

    with pytest.raises(MarketDataError) as caught:
        CsvMarketData(tmp_path).history([instrument("SPY", currency="USD")], date(2016, 4, 1), 10)

    assert str(caught.value).startswith(f"SPY: {path} line 4: truncated line")


def test_a_missing_spy_file_stops_the_backtest_and_skip_missing_lists_it(tmp_path: Path) -> None:
    data = _write_csvs(tmp_path / "data", symbols=("SPY", "TLT", "GLD"))
    (data / "SPY.csv").unlink()
    with (data / "GLD.csv").open("a", encoding="utf-8") as file:
        file.write("2024-04-01,1\n")  # a truncated last line: two of the header's three fields

    stopped = runner.invoke(app, [*ARGS, "--data", f"csv:{data}", "--symbols", "SPY,TLT,GLD"])
    assert stopped.exit_code == 1 and stopped.stdout == ""
    assert stopped.stderr.startswith("error: no data for SPY: file ") and stopped.stderr.count("\n") == 1
    assert "SPY.csv not found" in stopped.stderr and "--skip-missing" in stopped.stderr

    truncated = runner.invoke(app, [*ARGS, "--data", f"csv:{data}", "--symbols", "TLT,GLD"])
    assert truncated.exit_code == 1 and truncated.stderr.count("\n") == 1
    assert f"GLD: {data / 'GLD.csv'} line 322: truncated line" in truncated.stderr

    out = tmp_path / "out"
    skipped = runner.invoke(app, [*ARGS, "--data", f"csv:{data}", "--symbols", "SPY,TLT,GLD", "--skip-missing",
                                  "--out", str(out)])
    assert skipped.exit_code == 0, skipped.stderr
    document = json.loads(skipped.stdout)
    assert set(document["skipped"]) == {"SPY", "GLD"} and "line 322" in document["skipped"]["GLD"]
    assert "SPY buy-and-hold" not in document["benchmarks"]
    assert "SPY buy-and-hold" in document["benchmarks_unavailable"]
    summary = (out / "summary.txt").read_text(encoding="utf-8").splitlines()
    assert summary[1].startswith("left out by --skip-missing, 2 instrument(s): SPY: no data for SPY: file ")
    assert any(line.startswith("benchmark unavailable: SPY buy-and-hold: ") for line in summary)
