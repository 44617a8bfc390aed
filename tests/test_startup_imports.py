"""Start-up stays light: the CLI module, ``--help`` and ``status`` import only what they use.

Each check runs in a fresh interpreter (this test process has long imported everything) and
reports which heavy libraries it loaded. Speed itself is measured by ``tests/perf/startup.py``,
not by a timed test. The schema check on start-up must keep its guarantees without Alembic.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bot.cli.app import CommandGroup, app
from storage.engine import make_engine
from storage.migrate import SchemaOutOfDate, current_revision, ensure_schema, head_revision, shipped_head

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "numpy", "sqlalchemy", "alembic", "matplotlib", "numba", "openai", "telegram", "mem0",
         "apscheduler")
NOT_FOR_STATUS = ("alembic", "matplotlib", "numba", "openai", "telegram", "mem0", "apscheduler")
PROBE = """
import json, sys
{code}
print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)))
"""
RUN_CLI = """
import sys
from bot.cli.app import main
sys.argv = ["paperdesk", *{args!r}]
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""


def loaded_by(code: str, heavy: tuple[str, ...] = HEAVY) -> tuple[list[str], str]:
    """Run ``code`` in a fresh interpreter: (the heavy modules it imported, its stdout)."""
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-c", PROBE.format(code=code, heavy=heavy)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    *output, last = proc.stdout.splitlines()
    return json.loads(last), "\n".join(output)


def test_importing_the_cli_loads_no_heavy_library() -> None:
    loaded, _ = loaded_by("import bot.cli.app")
    assert loaded == []


def test_help_lists_every_command_without_loading_a_heavy_library() -> None:
    loaded, shown = loaded_by(RUN_CLI.format(args=["--help"]))
    assert loaded == []
    for name in ("cycle", "run", "status", "positions", "pnl", "pending", "approve", "reject", "halt", "reduce",
                 "resume", "reconcile", "backtest", "report", "explain", "db", "llm"):
        assert f"│ {name} " in shown, name
    for name, target in CommandGroup.lazy.items():  # listed with the real function's summary
        module, _, function = target.partition(":")
        summary = str(inspect.getdoc(getattr(importlib.import_module(module), function))).splitlines()[0]
        assert summary in shown, name


@pytest.mark.parametrize(("command", "option"), [
    ("backtest", "--breaker-days"), ("report", "--week"), ("explain", "--as-of"), ("compare", "--confidence"),
    ("sweep", "--sequential"), ("dataset", "--loss-aversion")])
def test_a_lazy_commands_help_loads_no_heavy_library(command: str, option: str) -> None:
    """Each command's options live apart from its work (``bot.cli.backtest`` / ``bot.cli.backtest_run``, ...)."""
    assert command in CommandGroup.lazy
    loaded, shown = loaded_by(RUN_CLI.format(args=[command, "--help"]))
    assert loaded == []
    assert option in shown


BAD_OPTION = """
import sys
from bot.cli.app import main
sys.argv = ["paperdesk", *{args!r}]
try:
    main()
except SystemExit as exc:
    assert exc.code == 1, exc.code
"""


@pytest.mark.parametrize(("args", "error"), [
    (["backtest", "--start", "2024-02-30", "--end", "2024-03-01"], "invalid --start '2024-02-30'"),
    (["explain", "c1", "--as-of", "2024-13-01"], "invalid date '2024-13-01'"),
    (["compare", "bt1", "--confidence", "1.5"], "invalid --confidence 1.5"),
    (["sweep", "grid.toml", "--sequential", "--scheduler", "tcp://127.0.0.1:1"], "exclude each other"),
    (["dataset", "--start", "2024-01-02", "--end", "2024-03-01", "--out", "x", "--split", "0.7,0.3"],
     "invalid --split '0.7,0.3'")])
def test_a_bad_option_is_one_line_before_anything_heavy_loads(args: list[str], error: str) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-c", PROBE.format(code=BAD_OPTION.format(args=args), heavy=HEAVY)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and error in lines[0], proc.stderr


def test_backtest_help_shows_the_breaker_window_and_dataset_help_the_states() -> None:
    from bot.backtest.dataset_states import STATES
    from bot.backtest.options import DATASET_STATES

    assert tuple(STATES) == DATASET_STATES  # the names the help lists without loading the states
    runner = CliRunner()
    backtest = runner.invoke(app, ["backtest", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--breaker-days" in backtest and "default: 5" in backtest
    assert ", ".join(DATASET_STATES) in runner.invoke(app, ["dataset", "--help"], env={"COLUMNS": "400"}).stdout


def test_lazy_commands_answer_their_own_help_and_options() -> None:
    runner = CliRunner()
    backtest = runner.invoke(app, ["backtest", "--help"], env={"COLUMNS": "200"})
    assert backtest.exit_code == 0 and "--walk-forward" in backtest.stdout and "backtest [OPTIONS]" in backtest.stdout
    assert "--week" in runner.invoke(app, ["report", "--help"], env={"COLUMNS": "200"}).stdout
    missing = runner.invoke(app, ["backtest", "--end", "2024-01-31"])
    assert missing.exit_code == 2 and "--start" in missing.stderr


def test_status_on_an_up_to_date_database_loads_no_alembic_or_sdk(isolated_env: Path) -> None:
    engine = make_engine(f"sqlite:///{isolated_env / 'paperdesk.db'}")
    ensure_schema(engine)
    engine.dispose()
    loaded, shown = loaded_by(RUN_CLI.format(args=["status"]), heavy=NOT_FOR_STATUS)
    assert "equity EUR 100,000.00" in shown
    assert loaded == []


def test_status_after_a_cycle_reads_the_stored_valuation_without_pandas_or_numpy(isolated_env: Path) -> None:
    """The cycle stored the valuation status shows (``bot.status_wiring``): no market data, no pandas."""
    cycle = CliRunner().invoke(app, ["cycle"])
    assert cycle.exit_code == 0, cycle.stderr
    loaded, shown = loaded_by(RUN_CLI.format(args=["status"]))
    assert "equity EUR" in shown and "SYNTHETIC" in shown
    assert not {"pandas", "numpy", *NOT_FOR_STATUS} & set(loaded)


def test_a_rules_backtest_loads_only_its_own_table(isolated_env: Path) -> None:
    """A replay stores one ``backtest_run`` row: not the desk's Store, its tables or the desk itself."""
    live = ("storage.store", "storage.tables", "bot.desk.desk", "bot.wiring", "openai", "alembic")
    engine = make_engine(f"sqlite:///{isolated_env / 'paperdesk.db'}")
    ensure_schema(engine)
    engine.dispose()
    args = ["backtest", "--policy", "rules", "--data", "synthetic", "--start", "2024-01-02", "--end", "2024-03-29",
            "--out", str(isolated_env / "run")]
    loaded, shown = loaded_by(RUN_CLI.format(args=args), heavy=(*live, "storage.tables_backtest"))
    assert "files in" in shown
    assert loaded == ["storage.tables_backtest"]


def test_an_up_to_date_schema_is_confirmed_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    code = f"from storage.engine import make_engine\nfrom storage.migrate import ensure_schema\n" \
           f"ensure_schema(make_engine({url!r}))"
    loaded, _ = loaded_by(code)
    assert "alembic" not in loaded


def test_shipped_head_is_the_head_alembic_computes(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    assert shipped_head() == head_revision(engine) is not None
    engine.dispose()


def test_a_schema_one_revision_behind_is_still_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    head = head_revision(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    with pytest.raises(SchemaOutOfDate, match=f"at revision 0002, this paperdesk needs {head}"):
        ensure_schema(engine)
    assert current_revision(engine) == "0002"
    engine.dispose()


def _script(directory: Path, name: str, body: str) -> None:
    (directory / f"{name}.py").write_text(f'"""{name}"""\nimport sqlalchemy as sa\n{body}\n\n\ndef upgrade():\n'
                                          "    pass\n", encoding="utf-8")


def test_shipped_head_follows_merges_and_gives_up_when_not_simple(tmp_path: Path) -> None:
    _script(tmp_path, "a", "revision = 'a'\ndown_revision = None")
    _script(tmp_path, "b", "revision: str = 'b'\ndown_revision: str | None = 'a'")
    assert shipped_head(tmp_path) == "b"
    _script(tmp_path, "c", "revision = 'c'\ndown_revision = 'a'")
    assert shipped_head(tmp_path) is None  # two heads: only Alembic may decide
    _script(tmp_path, "d", "revision = 'd'\ndown_revision = ('b', 'c')")
    assert shipped_head(tmp_path) == "d"
    _script(tmp_path, "e", "revision = 'e' + 'x'\ndown_revision = 'd'")
    assert shipped_head(tmp_path) is None  # not a literal: fall back to Alembic


@pytest.mark.parametrize(("chosen", "expected"), [(None, "1"), ("3", "3")])
def test_the_cli_runs_numpy_on_one_blas_thread_unless_the_user_chose(chosen: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if chosen is not None:
        env["OPENBLAS_NUM_THREADS"] = chosen
    code = RUN_CLI.format(args=["--help"]) + "import os, numpy\nprint('threads', os.environ['OPENBLAS_NUM_THREADS'])\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == f"threads {expected}"
