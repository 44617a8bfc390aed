"""A sweep's runs executed sequentially or on Dask; each run is one ``run_backtest`` in a worker.

Policy: ``compute_run`` needs neither the database nor the settings (a ``RunSpec`` carries all), so
it runs in any Dask worker, local or remote (the data directory and universe file must exist at the
same path there). It returns the folds without the per-day decision records (the run's files and
row need only the curves and the counts) and the run's charts drawn as PNG bytes, so the drawing
is spread over the workers; the client only writes the run dirs and rows. Dask
(``distributed``) is imported only here and only when a cluster is used: a ``LocalCluster`` (one
single-threaded worker process per core, or ``workers``) by default, or an existing scheduler.
Each task is submitted with ``retries=1``; a worker that dies mid-run has its task rescheduled.

Failure contract: an expected failure of a run (bad data, too few days, an unknown symbol) and an
unexpected one alike become that run's one-line ``error``; the other runs go on. A scheduler that
cannot be reached raises ``SweepError``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from agent.market import make_market_data
from agent.policies.base import Policy
from agent.universe import load_universe
from bot.backtest.engine import ReplayResult
from bot.backtest.run import BacktestRequest, FoldResult, replay_policy, run_backtest
from bot.backtest.run_files import run_charts
from bot.backtest.sweep_grid import RunSpec
from broker.simulated import SimConfig
from risk.limits import RiskLimits

CONNECT_SECONDS = 20


class SweepError(RuntimeError):
    """The sweep cannot run at all (no scheduler); the message says why."""


@dataclass
class RunOutcome:
    """One run's folds, or the one-line reason it failed."""

    spec: RunSpec
    folds: list[FoldResult] = field(default_factory=list)
    error: str | None = None
    elapsed: float = 0.0
    charts: dict[str, bytes] = field(default_factory=dict)  # drawn where the run ran (``run_files.run_charts``)


def one_line(exc: BaseException) -> str:
    """An exception as one line: its message's first line (its type when it has none)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def build_request(spec: RunSpec, policy: Policy | None = None) -> BacktestRequest:
    """The backtest request of a run (its policy built here unless given, as the llm policy is)."""
    universe = load_universe(spec.universe)
    provider = make_market_data(spec.data, seed=spec.seed, base_currency=universe.base_currency)
    sim = SimConfig(base_currency=universe.base_currency, **{k: Decimal(str(v)) for k, v in spec.sim.items()})
    return BacktestRequest(start=spec.start, end=spec.end, policy=policy or _policy(spec.policy), provider=provider,
                           universe=universe, limits=RiskLimits(**spec.limits), sim=sim, symbols=spec.symbols,
                           approve_borderline=spec.approve_borderline, walk_forward=spec.walk_forward)


def _policy(name: str) -> Policy:
    if name == "llm":
        raise ValueError("the llm policy runs in the client, not in a worker")
    return replay_policy(name)


def compute_run(spec: RunSpec, policy: Policy | None = None) -> RunOutcome:
    """Run one backtest in this process, and draw its charts; a failure is the outcome's one-line error."""
    started = time.perf_counter()
    try:
        request = build_request(spec, policy)
        folds = asyncio.run(run_backtest(request))
        elapsed = round(time.perf_counter() - started, 3)
        images = run_charts(folds, spec.policy, request.universe.base_currency)
    except Exception as exc:  # any failure is this run's, never the sweep's
        return RunOutcome(spec, error=one_line(exc), elapsed=round(time.perf_counter() - started, 3))
    return RunOutcome(spec, [_slim(f) for f in folds], elapsed=elapsed, charts=images)


def _slim(fold: FoldResult) -> FoldResult:
    """The fold without its per-day records: what the files and the row need, small to send back."""
    r = fold.result
    return replace(fold, result=ReplayResult(dates=r.dates, equity=r.equity, traded=r.traded, counts=r.counts,
                                             codes=r.codes))


Started = Callable[[int], None]  # told how many runs can execute at once


def run_sequential(specs: list[RunSpec], on_start: Started | None = None) -> Iterator[RunOutcome]:
    """Each run in this process, one after another (for debugging: no Dask)."""
    if on_start is not None:
        on_start(1)
    for spec in specs:
        yield compute_run(spec)


def run_dask(specs: list[RunSpec], scheduler: str | None = None, workers: int | None = None,
             on_start: Started | None = None) -> Iterator[RunOutcome]:
    """Each run as a Dask task, yielded as it finishes: on a LocalCluster or on ``scheduler``."""
    from distributed import as_completed

    client, cluster = _connect(scheduler, workers)
    try:
        if on_start is not None:
            on_start(max(1, len(client.scheduler_info()["workers"])))
        by_key = {f"sweep-run-{s.key}": s for s in specs}
        futures = [client.submit(compute_run, spec, key=key, retries=1) for key, spec in by_key.items()]
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            try:
                yield future.result()
            except Exception as exc:  # a task Dask gave up on (e.g. killed workers): this run fails
                yield RunOutcome(by_key[future.key], error=f"{type(exc).__name__}: {one_line(exc)}")
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _connect(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    """A client of a new LocalCluster (returned too, to close), or of ``scheduler`` with ``workers`` joined."""
    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines (workers starting) are noise here
    cluster: Any = None
    client: Any = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,  # type: ignore[no-untyped-call]
                                   threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
        client = Client(cluster or scheduler, timeout=CONNECT_SECONDS)  # type: ignore[no-untyped-call]
        if scheduler is not None and workers:
            client.wait_for_workers(workers, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError) as exc:
        for made in (client, cluster):
            if made is not None:
                made.close()
        raise SweepError(f"cannot reach the Dask scheduler {scheduler or 'LocalCluster'}: {one_line(exc)}") from None
    return client, cluster
