"""A backtest's progress goes to stderr: a bar on a terminal, a line per tenth of the days elsewhere once the
run is long; never on stdout, so ``--json`` stays one document. Time comes from an injected clock."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from bot.cli import progress
from bot.cli.progress import DayProgress
from tests.backtest.test_cli_backtest import _write_csvs, run


class Ticks:
    """A clock that moves ``step`` seconds each time the test says so."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += self.step


def replay(console: Console, days: int, clock: Ticks, extra: str = "") -> None:
    with DayProgress(console, (lambda: extra) if extra else None, clock=clock) as shown:
        shown.start(days)
        for row in range(days):
            clock.tick()
            shown.day(row)


def test_off_a_terminal_a_long_run_prints_a_line_per_tenth_once_it_lasts() -> None:
    buffer = io.StringIO()
    replay(Console(file=buffer, force_terminal=False), 50, Ticks(0.5), "llm calls: 2 made, 1 replayed")
    # quiet for the first 3 s (6 days): the tenths from day 10 on
    assert buffer.getvalue().splitlines() == [
        f"backtest: {day}/50 days ({day * 2}%), {day / 2:.1f} s elapsed, llm calls: 2 made, 1 replayed"
        for day in range(10, 51, 5)]


def test_off_a_terminal_a_short_run_prints_nothing() -> None:
    buffer = io.StringIO()
    replay(Console(file=buffer, force_terminal=False), 400, Ticks(0.001))
    assert buffer.getvalue() == ""


def test_on_a_terminal_a_bar_shows_days_elapsed_time_left_and_llm_calls_within_80_columns() -> None:
    buffer = io.StringIO()
    clock = Ticks(2.0)
    with DayProgress(Console(file=buffer, force_terminal=True, width=80), lambda: "llm calls: 123 made, 4 replayed",
                     clock=clock) as shown:
        assert shown.text() == "backtest: loading data, 0:00 elapsed"
        clock.tick()
        shown.start(2583)
        for row in range(1293):  # 2 s a day
            clock.tick()
            shown.day(row)
        assert shown.text() == "1293/2583 days, 43:08 elapsed, 43:00 left · llm calls: 123 made, 4 replayed"
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buffer.getvalue()).replace("\r", "\n").splitlines()
    last = [line for line in drawn if "days" in line][-1].rstrip()
    assert last.endswith(" 1293/2583 days, 43:08 elapsed, 43:00 left · llm calls: 123 made, 4 replayed")
    assert len(last) <= 80 and last.startswith("━")


def test_a_backtest_tells_its_progress_on_stderr_and_keeps_json_on_stdout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "QUIET_SECONDS", 0.0)  # as if the run were long
    data = _write_csvs(tmp_path / "data")
    code, stdout, stderr = run("backtest", "--start", "2023-11-01", "--end", "2024-03-22", "--data", f"csv:{data}",
                               "--policy", "equal_weight", "--out", str(tmp_path / "out"), "--walk-forward", "2",
                               "--json", "--skip-missing")
    assert code == 0, stderr
    days = sum(fold["days"] for fold in json.loads(stdout)["folds"])  # stdout is the JSON document alone
    lines = stderr.splitlines()
    assert len(lines) == 10 and all(re.fullmatch(rf"backtest: \d+/{days} days \(\d+%\), [\d.]+ s elapsed", line)
                                    for line in lines), stderr
    assert lines[-1].startswith(f"backtest: {days}/{days} days (100%)")


def test_a_labelled_run_names_itself() -> None:
    # `paperdesk dataset` says "dataset:", not "backtest:".
    buffer = io.StringIO()
    with DayProgress(Console(file=buffer, force_terminal=False), label="dataset", clock=Ticks(1.0),
                     quiet_seconds=0) as shown:
        assert shown.text().startswith("dataset: loading data")
        shown.start(10)
        shown.day(0)
    assert buffer.getvalue().startswith("dataset: 1/10 days (10%)")
