"""The CLI as a user runs it: real settings from the environment, one-line errors, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.text import Text
from typer.testing import CliRunner

from bot.cli.app import app
from bot.cli.lazy import LazyCommand
from storage.migrate import shipped_head

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


# A fixed trading day (synthetic data differ by date) and a confidence bar that leaves some
# proposals to a human on that day.
SCENARIO = {"PAPERDESK_RISK__MIN_CONFIDENCE": "0.75"}
AS_OF = ("--as-of", "2026-11-20")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={**SCENARIO, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_help_lists_every_command() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for command in ("cycle", "status", "positions", "pnl", "pending", "approve", "reject", "halt", "resume", "db"):
        assert command in out


def test_cycle_prints_the_summary_and_json(isolated_env: Path) -> None:
    code, out, _ = run("cycle", *AS_OF)
    assert code == 0, out
    assert "SYNTHETIC" in out and "regime" in out and "equity EUR" in out and "elapsed" in out
    code, out, _ = run("cycle", *AS_OF, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["synthetic"] is True and report["status"] == "completed"
    code, out, _ = run("status", "--json")
    assert code == 0 and json.loads(out)["trading_state"] == "ACTIVE"
    code, out, _ = run("positions", "--json")
    assert code == 0 and isinstance(json.loads(out), list) and json.loads(out)
    code, out, _ = run("pnl", "--json")
    assert code == 0 and len(json.loads(out)["series"]) == 2
    code, out, _ = run("pending", "--json")
    assert code == 0 and isinstance(json.loads(out), list)


def test_approve_and_reject_from_the_cli(isolated_env: Path) -> None:
    code, out, _ = run("cycle", *AS_OF, "--json")
    pending = [p for p in json.loads(out)["proposals"] if p["status"] == "AWAITING_APPROVAL"]
    assert len(pending) >= 2, out
    code, out, _ = run("approve", pending[0]["id"], *AS_OF, "--json")
    assert code == 0 and json.loads(out)["proposal"]["status"] == "FILLED"
    code, _, err = run("approve", pending[0]["id"], *AS_OF)
    assert code == 1 and "already FILLED" in _one_line_error(err)
    code, out, _ = run("reject", pending[1]["id"], "--reason", "not convinced", *AS_OF, "--json")
    assert code == 0 and json.loads(out)["proposal"]["status"] == "REJECTED_BY_HUMAN"


def test_unknown_id_is_one_line_and_exit_1(isolated_env: Path) -> None:
    code, _, err = run("approve", "pdeadbeef")
    assert code == 1 and "no proposal 'pdeadbeef'" in _one_line_error(err)


@pytest.mark.parametrize(("env", "message"), [
    ({"PAPERDESK_RISK__MAX_DRAWDOWN": "-0.1"}, "invalid setting PAPERDESK_RISK__MAX_DRAWDOWN"),
    ({"PAPERDESK_BROKER": "ib"}, "invalid setting PAPERDESK_BROKER"),
    ({"PAPERDESK_DATA": "nowhere"}, "invalid setting PAPERDESK_DATA"),
    ({"PAPERDESK_DATABASE_URL": "mysql://x"}, "unsupported database URL"),
    ({"PAPERDESK_UNIVERSE": "/no/such/universe.csv"}, "/no/such/universe.csv"),
    ({"PAPERDESK_CONFIG": "/no/such.toml"}, "PAPERDESK_CONFIG"),
])
def test_bad_settings_fail_in_one_line_and_write_nothing(isolated_env: Path, env: dict[str, str],
                                                         message: str) -> None:
    code, _, err = run("cycle", env=env)
    assert code == 1 and message in _one_line_error(err)
    assert not (isolated_env / "paperdesk.db").exists()


def test_corrupt_csv_fails_in_one_line_with_no_partial_writes(isolated_env: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    universe = tmp_path / "universe.csv"
    universe.write_text("# base_currency: EUR\nsymbol,name,asset_class,sector,currency,exchange,fractional\n"
                        "AAA.PA,A,eu_equity,industrials,EUR,XPAR,false\nBBB.PA,B,eu_equity,financials,EUR,XPAR,false\n")
    (data / "AAA.PA.csv").write_text("date,close\n2024-01-02,10\n2024-01-03,10.5\n")
    (data / "BBB.PA.csv").write_text("date,close\n2024-01-02,20\n2024-01-03,abc\n")
    env = {"PAPERDESK_DATA": f"csv:{data}", "PAPERDESK_UNIVERSE": str(universe)}
    code, _, err = run("cycle", env=env)
    line = _one_line_error(err)
    assert code == 1 and "BBB.PA" in line and "line 3" in line
    assert not (isolated_env / "paperdesk.db").exists()


def test_halt_and_resume(isolated_env: Path) -> None:
    code, out, _ = run("halt", "--reason", "holiday")
    assert code == 0 and "HALTED" in out
    code, _, err = run("halt")
    assert code == 1 and "already HALTED" in _one_line_error(err)
    code, out, _ = run("cycle", *AS_OF, "--json")
    assert code == 0 and all("TRADING_HALTED" in p["codes"] for p in json.loads(out)["proposals"])
    code, out, _ = run("resume")
    assert code == 0 and "ACTIVE" in out


def test_db_upgrade_reports_the_revision(isolated_env: Path) -> None:
    code, out, _ = run("db", "upgrade")
    assert code == 0 and f"schema at {shipped_head()}" in out and "was empty" in out
    code, out, _ = run("db", "upgrade")
    assert code == 0 and "up to date" in out


def test_the_console_script_runs_a_cycle(isolated_env: Path) -> None:
    """The installed entry point, in a real subprocess, as `make demo` runs it."""
    env = {**os.environ, "PAPERDESK_HOME": str(isolated_env)}
    proc = subprocess.run([sys.executable, "-c", "from bot.cli.app import main; main()", "cycle", *AS_OF], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "SYNTHETIC" in proc.stdout


def _commands(command: Any, path: str = "paperdesk") -> Iterator[tuple[str, Any]]:
    """Every real command under ``command`` (lazy ones loaded), with its command line."""
    loaded = command.load() if isinstance(command, LazyCommand) else command
    subs = getattr(loaded, "commands", {})
    if not subs:
        yield path, loaded
    for name, sub in subs.items():
        yield from _commands(sub, f"{path} {name}")


def test_no_help_text_loses_a_bracketed_word_to_rich_markup() -> None:
    # `--help` is rendered with rich markup: an unescaped "[sleeves]" in a help text is read as a
    # style tag and vanishes ("sleeves when  are configured"). Written "\[sleeves]", it prints.
    lost = []
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            text = getattr(param, "help", None) or ""
            if Text.from_markup(text).plain != text.replace("\\[", "["):
                lost.append(f"{path} {param.name}: {text!r}")
    assert not lost, lost
    code, out, _ = run("backtest", "--help")
    assert code == 0 and "sleeves when [sleeves] are" in " ".join(out.split()).replace("│ ", "")
