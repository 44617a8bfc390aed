"""``paperdesk sweep``: keyed runs, resumable, identical sequentially, on a LocalCluster and on a real cluster.

The external cluster is a ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, started
and stopped here; one worker is killed while it holds a run, and that run still finishes elsewhere.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from bot.backtest.sweep_grid import expand
from bot.cli.app import app
from risk.limits import RiskLimits

ROOT = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).with_name("dask")
GRID = """
policies = ["rules"]
symbols = ["SPY", "TLT", "GLD"]
[[limits]]
max_position_weight = 0.2
[[limits]]
max_position_weight = 0.3
min_cash_weight = 0.15
[[periods]]
start = "2023-01-02"
end = "2023-06-30"
[[periods]]
start = "2023-01-02"
end = "2023-09-29"
walk_forward = 2
"""
SAME = ["run_id", "key", "status", "total_return", "cagr", "sharpe", "max_drawdown", "turnover"]
runner = CliRunner()


def sweep(tmp_path: Path, *args: str, grid: str = GRID) -> tuple[int, str, str, Path]:
    path = tmp_path / "grid.toml"
    path.write_text(grid, encoding="utf-8")
    out = tmp_path / "sweep"
    result = runner.invoke(app, ["sweep", str(path), "--out", str(out), *args])
    return result.exit_code, result.stdout, result.stderr, out


def table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "sweep.csv").sort_values("key").reset_index(drop=True)


def curves(out: Path) -> dict[str, str]:
    return {p.parent.name + "/" + p.name: p.read_text() for p in sorted(out.glob("sw*/equity*.csv"))}


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The grid run sequentially in its own home: the results every executor must reproduce."""
    base = tmp_path_factory.mktemp("sequential")
    with monkeypatch.context() as m:
        m.setenv("PAPERDESK_HOME", str(base / "home"))
        code, _, stderr, out = sweep(base, "--sequential")
    assert code == 0, stderr
    yield out


def test_the_grid_expands_to_stable_distinct_keys() -> None:
    grid = {"policies": ["rules", "equal_weight"],
            "limits": {"max_position_weight": [0.2, 0.3], "min_cash_weight": [0.1]},
            "periods": [{"start": "2023-01-02", "end": "2023-06-30", "walk_forward": 2}]}
    first = expand(grid, RiskLimits(), seed=42, sim={})
    again = expand(grid, RiskLimits(), seed=42, sim={})
    other_seed = expand(grid, RiskLimits(), seed=7, sim={})
    assert [s.key for s in first] == [s.key for s in again]
    assert len({s.key for s in first}) == 4
    assert not {s.key for s in first} & {s.key for s in other_seed}  # the data's content is in the key
    assert first[1].overrides == {"max_position_weight": 0.3, "min_cash_weight": 0.1}
    assert first[1].limits["max_position_weight"] == 0.3 and first[0].walk_forward == 2


def test_csv_data_is_keyed_by_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "SPY.csv").write_text("date,close\n2023-01-02,100\n", encoding="utf-8")
    grid = {"data": f"csv:{tmp_path}", "periods": [{"start": "2023-01-02", "end": "2023-06-30"}]}
    before = expand(grid, RiskLimits(), seed=42, sim={})[0].key
    (tmp_path / "SPY.csv").write_text("date,close\n2023-01-02,101\n", encoding="utf-8")
    assert expand(grid, RiskLimits(), seed=42, sim={})[0].key != before


@pytest.mark.parametrize(("grid", "message"), [
    ('policies = ["magic"]\n[[periods]]\nstart = "2023-01-02"\nend = "2023-06-30"\n', "unknown policy 'magic'"),
    ('[limits]\nmax_leverage = [2]\n[[periods]]\nstart = "2023-01-02"\nend = "2023-06-30"\n',
     "unknown limit 'max_leverage'"),
    ('[limits]\nmax_position_weight = [2]\n[[periods]]\nstart = "2023-01-02"\nend = "2023-06-30"\n',
     "invalid limit max_position_weight=2"),
    ('colour = "red"\n[[periods]]\nstart = "2023-01-02"\nend = "2023-06-30"\n', "unknown grid key(s) colour"),
    ('data = "yfinance"\n[[periods]]\nstart = "2023-01-02"\nend = "2023-06-30"\n', "has no content hash"),
    ("policies = [\n", "not valid TOML"),
])
def test_a_bad_grid_is_a_one_line_error(tmp_path: Path, grid: str, message: str) -> None:
    code, stdout, stderr, out = sweep(tmp_path, "--sequential", grid=grid)
    assert code == 1 and stdout == ""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1 and message in stderr
    assert not out.exists()


def test_a_sequential_sweep_stores_keyed_runs_and_a_rerun_computes_nothing(tmp_path: Path,
                                                                           isolated_env: Path) -> None:
    code, stdout, stderr, out = sweep(tmp_path, "--sequential")
    assert code == 0, stderr
    assert "4 run(s), 4 computed, 0 reused, 0 failed" in stdout and "4/4 done, 0 running, 0 failed" in stderr
    runs = table(out)
    assert list(runs["status"]) == ["finished"] * 4 and runs["sharpe"].notna().all()
    engine = create_engine(f"sqlite:///{isolated_env / 'paperdesk.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, params FROM backtest_run ORDER BY id")).all()
    engine.dispose()
    assert len(rows) == 2 + 2 * 2  # the walk-forward runs store one row per fold, as `paperdesk backtest` does
    assert {json.loads(p)["sweep_key"] for _, p in rows} == set(runs["key"])
    before = curves(out)
    code, stdout, stderr, _ = sweep(tmp_path, "--sequential")
    assert code == 0 and "0 computed, 4 reused" in stdout and "4 of 4 run(s) already stored" in stderr
    assert curves(out) == before and table(out)[SAME].equals(runs[SAME])


def test_a_run_left_with_part_of_its_folds_is_computed_again_and_stored_whole(tmp_path: Path,
                                                                               isolated_env: Path) -> None:
    code, _, stderr, _ = sweep(tmp_path, "--sequential")
    assert code == 0, stderr
    engine = create_engine(f"sqlite:///{isolated_env / 'paperdesk.db'}")
    with engine.begin() as conn:  # a crash between a walk-forward run's two fold rows, as once possible
        fold = conn.execute(text("SELECT id FROM backtest_run WHERE id LIKE '%-f2' ORDER BY id")).scalars().first()
        conn.execute(text("DELETE FROM backtest_run WHERE id = :id"), {"id": fold})
    code, stdout, stderr, _ = sweep(tmp_path, "--sequential")
    assert code == 0, stderr
    assert "1 computed, 3 reused" in stdout
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM backtest_run")).scalars().all()
    engine.dispose()
    assert len(ids) == 6 and fold in ids


@pytest.mark.postgres
def test_a_sweep_on_postgresql_stores_its_runs_there_and_reuses_them(tmp_path: Path, pg_url: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERDESK_DATABASE_URL", pg_url)
    code, stdout, stderr, out = sweep(tmp_path, "--sequential")
    assert code == 0, stderr
    assert "4 computed, 0 reused" in stdout
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT params ->> 'sweep_key' FROM backtest_run")).scalars().all()
    engine.dispose()
    assert len(keys) == 2 + 2 * 2 and set(keys) == set(table(out)["key"])
    code, stdout, stderr, _ = sweep(tmp_path, "--sequential")
    assert code == 0 and "0 computed, 4 reused" in stdout, stderr


def test_compare_names_the_limits_each_sweep_run_changed(tmp_path: Path) -> None:
    grid = GRID.split("[[periods]]")[0] + '[[periods]]\nstart = "2023-01-02"\nend = "2023-06-30"\n'
    code, _, stderr, _ = sweep(tmp_path, "--sequential", grid=grid)
    assert code == 0, stderr
    document = json.loads(runner.invoke(app, ["compare", "--last", "2", "--json"]).stdout)
    assert sorted(json.dumps(r["limits"], sort_keys=True) for r in document["runs"]) == [
        '{"max_position_weight": 0.2}', '{"max_position_weight": 0.3, "min_cash_weight": 0.15}']
    shown = runner.invoke(app, ["compare", "--last", "2"], env={"COLUMNS": "200"}).stdout
    assert "rules max_position_weight=0.3 min_cash_weight=0.15" in shown


def test_a_failed_run_keeps_its_reason_and_does_not_stop_the_others(tmp_path: Path) -> None:
    grid = GRID + ('[[periods]]\nstart = "2023-06-26"\nend = "2023-06-27"\nwalk_forward = 2\n')
    code, _, stderr, out = sweep(tmp_path, "--sequential", grid=grid)
    runs = table(out)
    assert code == 1 and "2 of 6 run(s) failed" in stderr
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 2 and failed["error"].str.contains("too few for 2 fold").all()
    assert (runs["status"] == "finished").sum() == 4


def test_a_local_cluster_gives_the_sequential_results(tmp_path: Path, reference: Path) -> None:
    code, stdout, stderr, out = sweep(tmp_path, "--workers", "2")
    assert code == 0, stderr
    assert "4 computed" in stdout and "running" in stderr
    assert table(out)[SAME].equals(table(reference)[SAME])
    assert curves(out) == curves(reference)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A ``dask scheduler`` on a free port and two single-threaded ``dask worker`` processes (no nanny)."""
    info = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    common = ["--no-dashboard"]
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file",
                               str(info), *common], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert info.exists(), "the dask scheduler did not start"
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny",
                                           "--host", "127.0.0.1", *common], env=env, cwd=ROOT,
                                          stderr=subprocess.DEVNULL))
        yield address, procs
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _kill_a_busy_worker(address: str, killed: list[str], stop: threading.Event) -> None:
    """Kill (SIGKILL) the first worker seen holding a sweep run; record that run's task key."""
    from distributed import Client

    with Client(address, timeout=30) as client:
        while not stop.is_set():
            busy = [(worker, keys) for worker, keys in client.processing().items() if keys]
            if busy:
                worker, keys = busy[0]
                os.kill(client.run(os.getpid, workers=[worker])[worker], signal.SIGKILL)
                killed.append(str(keys[0]))
                return
            time.sleep(0.02)


def test_an_external_cluster_gives_the_sequential_results_despite_a_killed_worker(
        tmp_path: Path, reference: Path, cluster: tuple[str, list[subprocess.Popen[bytes]]]) -> None:
    address, procs = cluster
    killed: list[str] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_a_busy_worker, args=(address, killed, stop), daemon=True)
    killer.start()
    try:
        code, _, stderr, out = sweep(tmp_path, "--scheduler", address, "--workers", "2")
    finally:
        stop.set()
        killer.join(timeout=60)
    assert code == 0, stderr
    assert len(killed) == 1 and sum(p.poll() is not None for p in procs[1:]) == 1  # one worker died mid-run
    runs = table(out)
    assert killed[0].removeprefix("sweep-run-") in set(runs["key"])  # the killed run was retried and finished
    assert runs[SAME].equals(table(reference)[SAME])
    assert curves(out) == curves(reference)


def test_the_sweep_help_loads_no_dask() -> None:
    code = ("import sys\nfrom bot.cli.app import main\nsys.argv = ['paperdesk', 'sweep', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('loaded', sorted(m for m in ('dask', 'distributed') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "--scheduler" in proc.stdout and "--sequential" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "loaded []"


def test_llm_runs_execute_in_the_client_with_their_call_cache_and_are_reused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.backtest.test_cli_backtest import _write_csvs
    from tests.backtest.test_llm_backtest import DECISION_DAYS, daily_answers
    from tests.fakes.openai_server import FakeOpenAI

    data = _write_csvs(tmp_path / "data")
    grid = (f'policies = ["llm", "rules"]\ndata = "csv:{data}"\nsymbols = ["SPY", "TLT"]\n'
            '[[periods]]\nstart = "2024-02-01"\nend = "2024-02-29"\n')
    server = FakeOpenAI().start()
    try:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("PAPERDESK_LLM_MAX_RETRIES", "0")
        server.script(*daily_answers(DECISION_DAYS))
        code, stdout, stderr, out = sweep(tmp_path, "--sequential", grid=grid)
        assert code == 0, stderr
        assert "2 computed" in stdout and len(server.requests) == DECISION_DAYS
        llm = table(out).set_index("policy").loc["llm"]
        assert llm["status"] == "finished"
        assert "20 call(s) made" in (out / llm["run_id"] / "summary.txt").read_text()
        code, stdout, _, _ = sweep(tmp_path, "--sequential", grid=grid)
        assert code == 0 and "0 computed, 2 reused" in stdout and len(server.requests) == DECISION_DAYS
    finally:
        server.stop()
