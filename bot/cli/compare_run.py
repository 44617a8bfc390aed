"""The work of ``paperdesk compare`` (``bot.cli.compare``): read the runs, score them, render.

The figures and the sentences come from ``bot.evaluation.compare``; this module reads the runs from
the configured database and their out dirs, and prints two tables (the runs and benchmarks on the
common days, the benchmarks' rows from the first run's curves; each run's differences with their
intervals) and one sentence per run and benchmark, or one JSON document with ``--json``. The
tables fit the terminal (``bot.cli.render.Fitted``).

Failure contract: an unknown run, missing files, runs without common days or an unusable database
print one line and exit 1.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from bot.backtest.notes import SYNTHETIC
from bot.cli.errors import fail
from bot.cli.render import Column, Fitted, make_console
from bot.clock import system_clock
from bot.evaluation import compare as cmp
from bot.evaluation.statistics import RESAMPLES, Interval
from bot.settings import SettingsError, load_settings
from storage.backtest_store import BacktestStore
from storage.engine import DatabaseError, DatabaseUrlError, make_engine
from storage.migrate import SchemaOutOfDate, ensure_schema
from storage.session import transaction


def run_command(run_ids: list[str], last: int | None, trials: int | None, confidence: float, seed: int,
                as_json: bool) -> None:
    """``paperdesk compare`` once its options are checked."""
    database = None
    try:
        settings = load_settings()
        database = make_engine(settings.effective_database_url)
        ensure_schema(database)
        store = BacktestStore(lambda: transaction(database), system_clock)
        ids = list(dict.fromkeys([*(run_ids or []), *(cmp.latest_ids(store, last) if last else [])]))
        if not ids:
            raise cmp.CompareError("no backtest runs stored yet: run `paperdesk backtest` first")
        runs = [cmp.load_run(store, run_id) for run_id in ids]
        days, scored = cmp.score(runs, trials=trials, confidence=confidence, seed=seed)
    except (cmp.CompareError, SettingsError, DatabaseUrlError, SchemaOutOfDate) as exc:
        raise fail(str(exc)) from None
    except DatabaseError as exc:
        raise fail(f"database error: {str(exc).splitlines()[0]}") from None
    finally:
        if database is not None:
            database.dispose()
    references = cmp.benchmark_figures(runs[0], days)
    settings_used = {"trials": trials or len(runs), "confidence": confidence, "seed": seed, "resamples": RESAMPLES}
    if as_json:
        print(json.dumps(document(days, scored, references, settings_used), indent=2))  # noqa: T201
    else:
        render(days, scored, references, settings_used)


def document(days: pd.DatetimeIndex, scored: list[cmp.Scored], references: dict[str, dict[str, float]],
             used: dict[str, Any]) -> dict[str, Any]:
    """The comparison as one JSON-ready document (undefined figures as null)."""
    return {"days": len(days), "first_day": str(days[0].date()), "last_day": str(days[-1].date()), **used,
            "benchmarks": {name: _clean(f) for name, f in references.items()},
            "runs": [{"run_id": s.run.run_id, "policy": s.run.policy, "limits": s.run.limits,
                      "synthetic": s.run.synthetic,
                      **_clean({**s.figures, "turnover": s.run.turnover, "costs": s.run.costs}),
                      "versus": {v.benchmark: {"cagr": _interval(v.cagr), "sharpe": _interval(v.sharpe),
                                               "verdict": v.verdict, "sentence": v.sentence} for v in s.versus}}
                     for s in scored]}


def render(days: pd.DatetimeIndex, scored: list[cmp.Scored], references: dict[str, dict[str, float]],
           used: dict[str, Any]) -> None:
    """The two tables, then the sentences."""
    out = make_console()
    synthetic = [s.run.run_id for s in scored if s.run.synthetic]
    flag = f" — {SYNTHETIC}" if synthetic else ""
    span = f"{len(days)} common days, {days[0].date()} → {days[-1].date()}{flag}"
    figures = (Column("run"), Column("CAGR", "right", whole=True), Column("Sharpe", "right", whole=True),
               Column("PSR", "right", whole=True), Column("DSR", "right", whole=True),
               Column("turn/yr", "right", whole=True, drop=2), Column("cost/yr", "right", whole=True, drop=1))
    rows = [(s.run.label, _pct(s.figures["cagr"]), _num(s.figures["sharpe"]),
             _num(s.figures["psr"]), _num(s.figures["dsr"]), _num(s.run.turnover, "{:.1f}"), _pct(s.run.costs, 2))
            for s in scored]
    rows += [(name, _pct(f["cagr"]), _num(f["sharpe"]), _num(f["psr"]), "—", "—", "—")
             for name, f in references.items()]
    out.print(Fitted(f"Runs on {span}; DSR for {used['trials']} trial(s)", figures, rows))
    level = f"{used['confidence']:.0%}"
    differences = (Column("run", whole=True), Column("vs"), Column("Δ CAGR"), Column("Δ Sharpe"), Column("verdict"))
    pairs = [(s.run.run_id, v.benchmark, cmp.interval_text(v.cagr, percent=True), cmp.interval_text(v.sharpe),
             v.verdict) for s in scored for v in s.versus]
    out.print(Fitted(f"Differences, {level} intervals (stationary bootstrap, {used['resamples']} resamples, "
                     f"seed {used['seed']})", differences, pairs))
    for s in scored:
        if not s.versus:
            out.print(f"{s.run.run_id} ({s.run.policy}): no SPY or equal-weight benchmark in this run")
        for v in s.versus:
            out.print(v.sentence)
    if synthetic:
        out.print(f"{SYNTHETIC}: {', '.join(synthetic)} ran on the seeded synthetic market", style="bold yellow")


def _num(value: float, shape: str = "{:.2f}") -> str:
    return shape.format(value) if math.isfinite(value) else "n/a"


def _pct(value: float, places: int = 1) -> str:
    return f"{value:.{places}%}" if math.isfinite(value) else "n/a"


def _clean(figures: dict[str, float]) -> dict[str, float | None]:
    return {k: (round(v, 8) if math.isfinite(v) else None) for k, v in figures.items()}


def _interval(interval: Interval) -> dict[str, float | None]:
    return _clean({"estimate": interval.estimate, "low": interval.low, "high": interval.high})
