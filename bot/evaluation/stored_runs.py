"""Backtest runs as ``paperdesk compare`` reads them back: the stored row and the files of its out dir.

Policy: a run is read by id: its ``backtest_run`` row (a walk-forward run by its own id, its folds
``<id>-f1``, ``<id>-f2``… together, or one fold by the fold's id) and the files its backtest wrote in
its out dir: ``equity.csv`` and ``benchmarks.csv`` (``write_benchmarks``: one column per benchmark;
the folds chained for a walk-forward run, ``_foldK`` for one fold) and ``metrics.json`` (synthetic
or not, and the simulated broker's costs). Turnover and costs are whole-run figures from what the
run stored: turnover is traded notional / average equity, annualised (``metrics.turnover``, here
over every fold); costs are estimated from the traded notional and the run's slippage and
commission (bps of the traded notional, at least the minimum commission per fill), annualised as a
fraction of average equity; NaN for a run stored without its costs.

Failure contract: ``CompareError`` (one line, naming the run) for an unknown run id and for a run
whose files are missing or unreadable.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.evaluation.metrics import PERIODS_PER_YEAR
from storage.backtest_store import BacktestStore
from storage.tables_backtest import BacktestRunRow

BPS = 10_000
_FOLD = re.compile(r"^(?P<base>.+)-f(?P<fold>\d+)$")


class CompareError(ValueError):
    """The runs cannot be compared as asked; the message says why."""


@dataclass(frozen=True)
class Run:
    """A stored backtest: its equity, its benchmarks' curves, and its whole-run turnover and costs."""

    run_id: str
    policy: str
    equity: pd.Series
    benchmarks: dict[str, pd.Series]
    turnover: float
    costs: float
    synthetic: bool = False
    limits: dict[str, float] = field(default_factory=dict)  # the risk limits a sweep's run overrode

    @property
    def label(self) -> str:
        """The run id, its policy and, for a sweep's run, the limits it changed."""
        changed = " ".join(f"{key}={value:g}" for key, value in sorted(self.limits.items()))
        return f"{self.run_id} {self.policy}" + (f" {changed}" if changed else "")


def write_benchmarks(path: Path, benchmarks: dict[str, pd.Series]) -> None:
    """``date,<benchmark>,…`` CSV of the benchmark curves of a backtest (the equity.csv dates)."""
    frame = pd.DataFrame({name: series.astype(float).round(2) for name, series in benchmarks.items()})
    frame.insert(0, "date", [d.date().isoformat() for d in pd.DatetimeIndex(frame.index)])
    frame.to_csv(path, index=False)


def latest_ids(store: BacktestStore, count: int) -> list[str]:
    """The ids of the ``count`` latest runs, newest first (a walk-forward run once, by its own id)."""
    ids: list[str] = []
    for row in store.runs(limit=count * 50):
        match = _FOLD.match(row.id)
        run_id = match["base"] if match and (row.params or {}).get("walk_forward", 1) > 1 else row.id
        if run_id not in ids:
            ids.append(run_id)
    return ids[:count]


def load_run(store: BacktestStore, run_id: str) -> Run:
    """One run from its rows and its out dir."""
    rows, suffix = _rows(store, run_id)
    folder = Path(rows[0].out_dir or "")
    try:
        equity = _curves(folder / f"equity{suffix}.csv")["equity"]
        benchmarks = {str(name): curve for name, curve in _curves(folder / f"benchmarks{suffix}.csv").items()}
        document = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CompareError(f"run {run_id}: {exc.filename} is missing (a run from before `paperdesk compare` "
                           "existed: run its backtest again)") from None
    except (OSError, ValueError, KeyError) as exc:
        raise CompareError(f"run {run_id}: cannot read its files in {folder}: {exc}") from None
    turnover, costs = _turnover_and_costs(rows, document.get("sim"))
    overrides = (rows[0].params or {}).get("limits_overrides") or {}
    return Run(run_id, rows[0].policy, equity, benchmarks, turnover, costs, bool(document.get("synthetic")),
               {str(k): float(v) for k, v in overrides.items()})


def _rows(store: BacktestStore, run_id: str) -> tuple[list[BacktestRunRow], str]:
    """The run's rows (one, or its folds in order) and the suffix of its files."""
    row = store.get_run(run_id)
    if row is not None:
        fold = _FOLD.match(run_id)
        walk = (row.params or {}).get("walk_forward", 1) > 1
        return [row], f"_fold{fold['fold']}" if fold and walk else ""
    folds: list[BacktestRunRow] = []
    while (part := store.get_run(f"{run_id}-f{len(folds) + 1}")) is not None:
        folds.append(part)
    if not folds:
        raise CompareError(f"no backtest run {run_id!r}: `paperdesk compare --last 5` compares the latest five")
    return folds, ""


def _curves(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    return frame.set_index(pd.DatetimeIndex(frame.pop("date"))).astype(float)


def _turnover_and_costs(rows: list[BacktestRunRow], sim: dict[str, Any] | None) -> tuple[float, float]:
    """Whole-run turnover and estimated costs, both annualised fractions of average equity."""
    values = [float(v) for row in rows for _, v in (row.equity or [])]
    days = sum(max(len(row.equity or []) - 1, 1) for row in rows)
    average = float(np.mean(values)) if values else 0.0
    traded = fills = 0.0
    for row in rows:
        figures = row.metrics or {}
        curve = [float(v) for _, v in (row.equity or [])]
        turnover = figures.get("turnover")
        if turnover is None or not curve:
            return math.nan, math.nan
        # metrics.turnover = traded / mean equity × 252 / days, so the fold's traded notional is:
        traded += float(turnover) * float(np.mean(curve)) * max(len(curve) - 1, 1) / PERIODS_PER_YEAR
        fills += float((figures.get("counts") or {}).get("filled", 0))
    if average <= 0:
        return math.nan, math.nan
    scale = PERIODS_PER_YEAR / days / average
    if not sim:
        return traded * scale, math.nan
    spent = traded * float(sim["slippage_bps"]) / BPS + max(traded * float(sim["commission_bps"]) / BPS,
                                                            fills * float(sim["min_commission"]))
    return traded * scale, spent * scale
