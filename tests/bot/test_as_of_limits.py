"""A typo'd future ``--as-of`` is refused in one line naming the limit (today, or the data's last day when
that is earlier) before anything is written; a database that already holds a future cycle (made before
such dates were refused) stops ``cycle`` with a line naming the cycle's date and the way out, and is a
note on the other commands, which value the portfolio on today's prices."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.clock import FixedClock
from bot.desk.cycle import run_cycle
from bot.desk.results import DeskError
from bot.settings import Settings
from bot.wiring import build_app
from tests.bot.csv_market import LAST_DAY, write_market

runner = CliRunner()


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.mark.parametrize("command", [["cycle"], ["status"], ["report"], ["reconcile"]])
def test_an_as_of_after_today_is_refused_naming_today_and_nothing_is_written(isolated_env: Path,
                                                                            command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--as-of", "2999-01-01"])
    line = _error_line(result.stderr)
    assert result.exit_code == 1
    assert re.search(r"--as-of 2999-01-01 is after today \((\d{4}-\d\d-\d\d)\).*use \1 or earlier", line), line
    assert not isolated_env.exists()  # no database, no home


def test_an_as_of_after_the_csv_files_is_refused_naming_their_last_day(isolated_env: Path, tmp_path: Path) -> None:
    env = write_market(tmp_path)
    result = runner.invoke(app, ["cycle", "--as-of", "2025-03-03"], env=env)
    line = _error_line(result.stderr)
    assert result.exit_code == 1
    assert f"--as-of 2025-03-03 is after the last day of the data ({LAST_DAY} in csv:" in line
    assert f"use {LAST_DAY} or earlier" in line
    assert not isolated_env.exists()
    result = runner.invoke(app, ["cycle", "--as-of", LAST_DAY, "--json"], env=env)  # the limit itself is fine
    assert result.exit_code == 0, result.stderr


def test_the_limit_is_the_injected_clock_today(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", policy="rules")
    with pytest.raises(DeskError, match=r"--as-of 2026-11-21 is after today \(2026-11-20\)"):
        build_app(settings, clock=FixedClock(datetime(2026, 11, 20, 23, 0, tzinfo=UTC)), as_of=date(2026, 11, 21))
    assert not (tmp_path / "home").exists()


def test_a_database_holding_a_future_cycle_names_it_and_the_way_out(db_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=db_url, policy="rules")
    then = build_app(settings, clock=FixedClock(datetime(2027, 1, 5, 21, 0, tzinfo=UTC)), dating="cycle")
    try:
        assert asyncio.run(run_cycle(then.desk)).as_of == date(2027, 1, 5)  # the old, unchecked --as-of
    finally:
        then.close()
    today = FixedClock(datetime(2026, 11, 20, 21, 0, tzinfo=UTC))
    with pytest.raises(DeskError) as refused:
        build_app(settings, clock=today, dating="cycle")
    message = str(refused.value)
    assert "\n" not in message
    assert "a cycle as of 2027-01-05, after today (2026-11-20)" in message
    if db_url.startswith("sqlite"):
        database = db_url.removeprefix("sqlite:///")
        assert f"mv {database} {database}.2027-01-05" in message
    else:
        assert "PAPERDESK_DATABASE_URL" in message
    viewer = build_app(settings, clock=today, dating="view")
    try:
        assert any("a cycle as of 2027-01-05" in note for note in viewer.notices)
        assert viewer.desk.today == date(2026, 11, 20)  # valued on today's prices, not on invented ones
    finally:
        viewer.close()
