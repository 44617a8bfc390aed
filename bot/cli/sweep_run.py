"""The work of ``paperdesk sweep GRID.toml`` (``bot.cli.sweep``): a grid of backtests, resumable, on Dask.

The grid expands to runs keyed by their content (``bot.backtest.sweep_grid``). A run whose key is
already stored in ``backtest_run`` is reused, never recomputed, so an interrupted sweep resumes
where it stopped. The others execute on a Dask LocalCluster (default), an existing cluster
(``--scheduler``) or in this process (``--sequential``); llm runs always execute here, since their
call cache is in the database. This process alone touches the database: it writes each finished
run as ``paperdesk backtest`` does (run dir under the sweep's out dir, ``backtest_run`` rows with the
key in ``params``), so ``paperdesk compare`` reads them. Progress on stderr: done, running, failed
(with the reason), time left. At the end: ``sweep.csv`` (and ``sweep.parquet`` with pyarrow) and a
one-line summary.

Failure contract: a bad grid, settings, database or scheduler prints one line and exits 1; a failed
run keeps its reason in the table and the sweep exits 1 after the others finished.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from agent.policies.rules import RulesPolicy
from agent.universe import load_universe
from bot.backtest import sweep as sw
from bot.backtest.run import chained, check_out_dir
from bot.backtest.sweep_grid import GridError, RunSpec, expand, load_grid
from bot.cli.backtest_run import EXPECTED, _store, _write, make_backtest_policy
from bot.cli.errors import fail
from bot.clock import system_clock
from bot.evaluation.metrics import as_json, summarize
from bot.logging import configure_logging
from bot.settings import Settings, load_settings
from storage.backtest_store import BacktestStore
from storage.engine import DatabaseError, Engine, make_engine
from storage.migrate import ensure_schema
from storage.session import transaction
from storage.tables_backtest import BacktestRunRow

FIGURES = ("total_return", "cagr", "annual_volatility", "sharpe", "max_drawdown", "turnover", "cvar_95")


def run_command(grid: Path, out_dir: Path | None, scheduler: str | None, workers: int | None,
                sequential: bool) -> None:
    """``paperdesk sweep`` once its options are checked: expand, run what is not stored, write the table."""
    database = None
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        specs = expand(load_grid(grid), settings.risk, seed=settings.synthetic_seed, sim=settings.sim.model_dump(),
                       llm={"model": settings.llm_model, "base_url": settings.openai_base_url,
                            "cache": settings.llm_cache})
        sweep_id = "sweep-" + hashlib.sha256("".join(s.key for s in specs).encode()).hexdigest()[:12]
        target = out_dir or settings.home.expanduser() / "sweeps" / sweep_id
        check_out_dir(target)
        database = make_engine(settings.effective_database_url)
        ensure_schema(database)
        runs = Runs(settings, database, target, sweep_id)
        todo = [s for s in specs if runs.stored(s) is None]
        progress = Progress(len(specs), len(specs) - len(todo))
        for outcome in _outcomes(runs, todo, scheduler, workers, sequential, progress):
            runs.keep(outcome)
            progress.finished(outcome)
        rows = [runs.row(s) for s in specs]
        written = write_table(target, rows)
    except (GridError, sw.SweepError, *EXPECTED) as exc:
        raise fail(str(exc)) from None
    except DatabaseError as exc:
        raise fail(f"database error: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise fail(f"cannot write {exc.filename or 'the sweep files'}: {exc.strerror or exc}") from None
    finally:
        if database is not None:
            database.dispose()
    failed = sum(r["status"] == "failed" for r in rows)
    print(f"sweep {sweep_id}: {len(rows)} run(s), {progress.computed} computed, {progress.reused} reused, "  # noqa: T201
          f"{failed} failed; table {', '.join(str(p) for p in written)}")
    if failed:
        raise fail(f"{failed} of {len(rows)} run(s) failed; their reasons are in {written[0]}")


def _outcomes(runs: Runs, todo: list[RunSpec], scheduler: str | None, workers: int | None, sequential: bool,
              progress: Progress) -> Iterator[sw.RunOutcome]:
    """The runs' outcomes as they finish: llm runs here, the others sequentially or on Dask."""
    local = [s for s in todo if s.policy == "llm"]
    others = [s for s in todo if s.policy != "llm"]
    if others:
        yield from (sw.run_sequential(others, progress.started) if sequential
                    else sw.run_dask(others, scheduler, workers, progress.started))
    for spec in local:
        progress.started(1)
        yield runs.compute_llm(spec)


class Runs:
    """The client side of a sweep: the database and the run dirs."""

    def __init__(self, settings: Settings, database: Engine, target: Path, sweep_id: str) -> None:
        self.settings, self.database, self.target, self.sweep_id = settings, database, target, sweep_id
        self.backtests = BacktestStore(lambda: transaction(database), system_clock)
        self.errors: dict[str, str] = {}
        self.tallies: dict[str, Any] = {}

    def stored(self, spec: RunSpec) -> list[BacktestRunRow] | None:
        """The run's rows (every fold) when it finished before, else None."""
        ids = [spec.run_id] if spec.walk_forward == 1 else [f"{spec.run_id}-f{k + 1}" for k in range(spec.walk_forward)]
        rows = [self.backtests.get_run(i) for i in ids]
        if any(r is None or (r.params or {}).get("sweep_key") != spec.key for r in rows):
            return None
        return [r for r in rows if r is not None]

    def compute_llm(self, spec: RunSpec) -> sw.RunOutcome:
        """An llm run, in this process: its policy records and replays its calls in the database."""
        policy, tally, _ = make_backtest_policy("llm", self.settings, self.database, load_universe(spec.universe))
        self.tallies[spec.key] = tally
        return sw.compute_run(spec, policy)

    def keep(self, outcome: sw.RunOutcome) -> None:
        """Write a finished run's dir and rows as ``paperdesk backtest`` does; remember a failure's reason."""
        spec = outcome.spec
        if outcome.error is not None:
            self.errors[spec.key] = outcome.error
            return
        request = sw.build_request(spec, RulesPolicy())  # the files need its dates, costs and limits only
        document = _write(self.target / spec.run_id, spec.run_id, request, outcome.folds, outcome.elapsed,
                          spec.policy, spec.data, self.tallies.get(spec.key), outcome.charts or None)
        extra = {"sweep_key": spec.key, "sweep": self.sweep_id, "universe": spec.universe, "limits": spec.limits,
                 "limits_overrides": spec.overrides}
        _store(self.database, spec.run_id, request, outcome.folds, document, spec.policy, spec.data,
               outcome.elapsed, extra)

    def row(self, spec: RunSpec) -> dict[str, Any]:
        """The run's line of the sweep table."""
        line = {"run_id": spec.run_id, "key": spec.key, "policy": spec.policy, "universe": spec.universe,
                "data": spec.data, "start": str(spec.start), "end": str(spec.end), "walk_forward": spec.walk_forward,
                "limits": json.dumps(spec.overrides, sort_keys=True)}
        rows = self.stored(spec)
        if rows is None:
            return {**line, "status": "failed", "error": self.errors.get(spec.key, "not finished"),
                    **dict.fromkeys(FIGURES)}
        return {**line, "status": "finished", "error": "", **_figures(rows),
                "elapsed_seconds": rows[0].elapsed_seconds, "out_dir": rows[0].out_dir}


def _figures(rows: list[BacktestRunRow]) -> dict[str, Any]:
    """The run's metrics (walk-forward: of the folds chained into one curve)."""
    if len(rows) == 1:
        metrics = rows[0].metrics or {}
    else:
        curves = [pd.Series([v for _, v in r.equity], index=pd.to_datetime([d for d, _ in r.equity])) for r in rows]
        metrics = as_json(summarize(chained(curves)))
    return {k: metrics.get(k) for k in FIGURES}


def write_table(target: Path, rows: list[dict[str, Any]]) -> list[Path]:
    """``sweep.csv``, and ``sweep.parquet`` when pyarrow is installed."""
    target.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    written = [target / "sweep.csv"]
    frame.to_csv(written[0], index=False)
    if importlib.util.find_spec("pyarrow") is not None:
        written.append(target / "sweep.parquet")
        frame.to_parquet(written[1], index=False)
    return written


class Progress:
    """Runs done, running, failed (with the reason) and the time left, one line per finished run on stderr."""

    def __init__(self, total: int, reused: int) -> None:
        self.total, self.reused, self.computed, self.failed = total, reused, 0, 0
        self.slots, self.begun = 1, time.monotonic()
        if reused:
            self._say(f"{reused} of {total} run(s) already stored: reused")

    def started(self, slots: int) -> None:
        """The runs start, ``slots`` at a time."""
        self.slots, self.begun = slots, time.monotonic()

    def finished(self, outcome: sw.RunOutcome) -> None:
        """One run finished (or failed)."""
        self.computed += outcome.error is None
        self.failed += outcome.error is not None
        if outcome.error is not None:
            self._say(f"failed {outcome.spec.run_id} {outcome.spec.label()}: {outcome.error}")
        done = self.computed + self.failed
        left = self.total - self.reused - done
        eta = (time.monotonic() - self.begun) / done * left
        self._say(f"{self.reused + done}/{self.total} done, {min(left, self.slots)} running, {self.failed} failed, "
                  f"about {_duration(eta)} left")

    @staticmethod
    def _say(line: str) -> None:
        print(f"sweep: {line}", file=sys.stderr, flush=True)  # noqa: T201


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
