"""The work of ``paperdesk backtest`` and ``paperdesk report`` once ``bot.cli.backtest`` has checked their options:
run, write the files, store, render. Errors: one line, exit 1.

The replay runs in memory with its progress on stderr (``bot.cli.progress``: a bar on a terminal, a line
per tenth of the days elsewhere once the run lasts a few seconds); at the end the metrics table (strategy
vs benchmarks) goes to stdout, or one JSON document with ``--json``. The out dir (default
PAPERDESK_HOME/backtests/<run id>/), the policy's settings and the data source are checked before
the database is touched or a day replayed. The out dir receives ``equity.csv``, ``metrics.json``,
``summary.txt`` and the PNG charts (with ``--walk-forward``, per fold and the folds chained); the
run (each fold with ``--walk-forward``) is stored in ``backtest_run``. The summary's notes
(``bot.backtest.notes``: SYNTHETIC data, what was left out, a baseline's sizing, a warning when
most proposals were not executed) come first in ``summary.txt`` and last on the terminal. It
counts stop-loss sells and circuit-breaker days; with ``--policy llm`` (calls stored in ``llm_call``
as live, ``bot.backtest.llm``) the progress bar and the summary show the LLM calls made and
replayed and their cost.
``report`` builds the live portfolio's report (``bot.evaluation.report``) and prints its text.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from agent.market.base import MarketData, MarketDataError
from agent.policies.base import Policy
from agent.universe import Universe, UniverseError, load_universe
from bot.backtest import notes
from bot.backtest.engine import DESK_COUNTS
from bot.backtest.run import (
    BacktestError,
    BacktestRequest,
    DataReport,
    FoldResult,
    check_out_dir,
    replay_policy,
    run_backtest,
    write_equity,
)
from bot.backtest.run_files import run_charts, run_curves
from bot.backtest.sleeve_report import fold_sleeves, write_sleeve_files
from bot.cli.app import _app
from bot.cli.errors import fail
from bot.cli.progress import DayProgress
from bot.cli.render import Column, Fitted, make_console
from bot.clock import system_clock
from bot.desk import formats
from bot.evaluation.attribution import sleeve_lines
from bot.evaluation.report import alpha_line
from bot.evaluation.stored_runs import write_benchmarks
from bot.logging import configure_logging
from bot.market_wiring import make_provider
from bot.preflight import check_policy
from bot.settings import Settings, SettingsError, load_settings
from broker.simulated import SimConfig
from storage.backtest_store import BacktestStore
from storage.engine import DatabaseError, Engine, make_engine
from storage.migrate import SchemaOutOfDate, ensure_schema
from storage.session import transaction
from storage.tables_backtest import BacktestRunRow

if TYPE_CHECKING:
    from agent.llm.policy import LlmPolicy
    from bot.backtest.llm import CallTally
    from bot.sleeves.plan import SleevePlan

EXPECTED = (BacktestError, SettingsError, MarketDataError, UniverseError, SchemaOutOfDate)
out = make_console()  # reads no markup: paths, symbols and report text print as written


def make_backtest_policy(name: str, settings: Settings, database: Engine, universe: Universe
                         ) -> tuple[Policy, CallTally | None, SleevePlan | None]:
    """The policy by name; ``llm`` records its calls in ``database`` and comes with their tally; ``sleeves``
    comes with its plan (its llm sleeves share one tally). Only these two load the desk's Store."""
    if name == "llm":
        from bot.backtest.llm import backtest_llm  # the openai SDK loads only for the llm policy
        from storage.store import Store

        return (*backtest_llm(settings, Store(database, system_clock), system_clock), None)
    if name == "sleeves":
        from bot.sleeves.wiring import replay_plan
        from storage.store import Store

        store = Store(database, system_clock)
        tallies: list[CallTally] = []

        def make_llm(chosen: Settings) -> tuple[Policy, LlmPolicy]:
            from bot.backtest.llm import backtest_llm

            policy, tally = backtest_llm(chosen, store, system_clock, tallies[0] if tallies else None)
            tallies[:1] = [tally]
            return policy, policy.policy

        plan = replay_plan(settings, universe, make_llm)
        return plan.policy, tallies[0] if tallies else None, plan
    return replay_policy(name), None, None


def run_command(first: date, last: date, policy: str | None, data: str | None, symbols: str | None,
                out_dir: Path | None, approve_borderline: bool, walk_forward: int, skip_missing: bool, as_json: bool,
                engine: str, breaker_days: int) -> None:
    """``paperdesk backtest`` once its options are checked (``bot.cli.backtest``): run, write, store, render."""
    database = None
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        policy = policy or ("sleeves" if settings.sleeves else "rules")
        run_id = "bt" + uuid.uuid4().hex[:10]
        target = out_dir or settings.home.expanduser() / "backtests" / run_id
        universe, provider = _checked_inputs(settings, policy, data, target)  # before anything is written
        database = make_engine(settings.effective_database_url)
        ensure_schema(database)
        chosen, tally, plan = make_backtest_policy(policy, settings, database, universe)
        request = replace(_request(settings, universe, provider, first, last, chosen, symbols, approve_borderline,
                                   walk_forward), engine=engine, breaker_days=breaker_days, skip_missing=skip_missing,
                          sleeves=plan)
        started = time.perf_counter()
        try:
            folds = _run_with_progress(request, tally)
        finally:
            if tally is not None:
                tally.flush()  # a replay's buffered audit rows, stored even when the run stops early
        elapsed = round(time.perf_counter() - started, 3)
        document = _write(target, run_id, request, folds, elapsed, policy, data or settings.data, tally)
        _store(database, run_id, request, folds, document, policy, data or settings.data, elapsed)
    except EXPECTED as exc:
        raise fail(str(exc)) from None
    except DatabaseError as exc:
        raise fail(f"database error: {str(exc).splitlines()[0]}") from None
    except OSError as exc:  # the out dir was checked before the run; a disk can still fill up
        raise fail(f"cannot write {exc.filename or 'the output files'}: {exc.strerror or exc}") from None
    finally:
        if database is not None:
            database.dispose()
    if as_json:
        print(json.dumps(document, indent=2, default=str))  # noqa: T201
    else:
        _render(document)


def _checked_inputs(settings: Settings, policy: str, data: str | None, target: Path) -> tuple[Universe, MarketData]:
    """The output directory, the policy's settings, the universe and the data source, checked before the run."""
    check_out_dir(target)
    if policy in {"llm", "sleeves"}:
        check_policy(policy, settings)
    universe = load_universe(settings.universe)
    return universe, make_provider(settings, universe, data)


def _request(settings: Settings, universe: Universe, provider: MarketData, first: date, last: date, policy: Policy,
             symbols: str | None, approve_borderline: bool, walk_forward: int) -> BacktestRequest:
    sim = settings.sim
    config = SimConfig(initial_cash=Decimal(str(sim.initial_cash)), base_currency=universe.base_currency,
                       slippage_bps=Decimal(str(sim.slippage_bps)), commission_bps=Decimal(str(sim.commission_bps)),
                       min_commission=Decimal(str(sim.min_commission)))
    wanted = tuple(s.strip().upper() for s in symbols.split(",") if s.strip()) if symbols else ()
    return BacktestRequest(start=first, end=last, policy=policy, provider=provider,
                           universe=universe, limits=settings.risk, sim=config, symbols=wanted,
                           approve_borderline=approve_borderline, walk_forward=walk_forward)


def _run_with_progress(request: BacktestRequest, tally: CallTally | None = None) -> list[FoldResult]:
    """Replay with its progress on stderr (``bot.cli.progress``): days done of the total, elapsed, LLM calls.

    A bar on a terminal; elsewhere a line per tenth of the days once the run is long enough to need one.
    """
    with DayProgress(Console(stderr=True), tally.line if tally is not None else None) as progress:
        return asyncio.run(run_backtest(request, on_day=progress.day, on_start=progress.start))


def _fold_document(fold: FoldResult) -> dict[str, Any]:
    result = fold.result
    return {"start": str(fold.start), "end": str(fold.end), "days": len(result.dates), "metrics": fold.metrics,
            "benchmarks": fold.benchmarks, "counts": dict(result.counts),
            "risk_codes": dict(result.codes.most_common()),
            "final_equity": round(float(fold.equity.iloc[-1]), 2),
            **({"sleeves": sleeves} if (sleeves := fold_sleeves(result)) is not None else {})}


def _write(target: Path, run_id: str, request: BacktestRequest, folds: list[FoldResult], elapsed: float,
           policy: str, data: str, tally: CallTally | None = None,
           rendered: Mapping[str, bytes] | None = None) -> dict[str, Any]:
    """The run's files (``rendered``: its charts, when a sweep's worker drew them) and its summary document."""
    target.mkdir(parents=True, exist_ok=True)
    main = folds[0] if len(folds) == 1 else None
    document: dict[str, Any] = {"run_id": run_id, "policy": policy, "data": data, "start": str(request.start),
                                "end": str(request.end), "elapsed_seconds": elapsed, "out_dir": str(target),
                                "approve_borderline": request.approve_borderline, "engine": request.engine,
                                "breaker_days": request.breaker_days, "folds": [_fold_document(f) for f in folds],
                                "sim": request.sim.model_dump(mode="json")}  # the costs `paperdesk compare` estimates
    if tally is not None:
        document["llm"] = tally.document()
    if main is not None:
        document.update({k: v for k, v in document["folds"][0].items() if k in {"metrics", "benchmarks", "counts"}})
    document.update(_data_document(folds[0].data, request, policy, document["folds"]))
    flag = f" — {notes.SYNTHETIC}" if folds[0].data.synthetic else ""
    for curve in run_curves(folds):
        write_equity(target / f"equity{curve.suffix}.csv", curve.equity)
        write_benchmarks(target / f"benchmarks{curve.suffix}.csv", curve.benchmarks)  # read by `paperdesk compare`
    images = rendered if rendered is not None else run_charts(folds, policy, request.universe.base_currency)
    for name, image in images.items():
        (target / name).write_bytes(image)
    for k, fold in enumerate(folds):
        write_sleeve_files(target, fold.result, "" if main is not None else f"_fold{k + 1}",
                           f"sleeve budgets {fold.start} → {fold.end}{flag}")
    (target / "metrics.json").write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    (target / "summary.txt").write_text(summary_text(document), encoding="utf-8")
    return document


def _data_document(data: DataReport, request: BacktestRequest, policy: str,
                   folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Synthetic or not, what the data left out, and the notes the summary shows first."""
    warning = notes.execution_warning(notes.summed(folds, "counts"), notes.summed(folds, "risk_codes"),
                                      request.approve_borderline)
    lines = [*notes.data_notes(data), *notes.policy_note(policy, request.limits.model_dump()),
             *([warning] if warning else [])]
    return {"synthetic": data.synthetic, "skipped": data.skipped, "unpriced": list(data.unpriced),
            "benchmarks_unavailable": data.benchmarks_unavailable, "notes": lines}


def summary_text(document: dict[str, Any]) -> str:
    """The notes, then a plain-text metrics table per fold."""
    lines = [f"backtest {document['run_id']}: policy {document['policy']}, data {document['data']}, "
             f"{document['start']} → {document['end']}", *document.get("notes", [])]
    keys = ("total_return", "cagr", "annual_volatility", "sharpe", "sortino", "calmar", "max_drawdown",
            "max_drawdown_days", "hit_rate", "profit_factor", "turnover", "cvar_95")
    for k, fold in enumerate(document["folds"]):
        lines.append(f"\nfold {k + 1}: {fold['start']} → {fold['end']} ({fold['days']} days), "
                     f"orders: {order_tally(fold['counts'])}")
        lines.append(desk_line(fold["counts"], document["breaker_days"]))
        lines += notes.codes_lines(fold.get("risk_codes", {}))
        names = ["strategy", *fold["benchmarks"]]
        rows = [fold["metrics"], *fold["benchmarks"].values()]
        lines.append(f"{'metric':<18}" + "".join(f"{n[:22]:>24}" for n in names))
        for key in keys:
            lines.append(f"{key:<18}" + "".join(f"{formats.metric(key, r.get(key)):>24}" for r in rows))
        lines += [alpha_line(fold["metrics"], name, figures) for name, figures in fold["benchmarks"].items()]
        lines += sleeve_lines(fold["sleeves"]) if "sleeves" in fold else []
    if "llm" in document:
        lines.append(llm_line(document["llm"]))
    return "\n".join(lines) + "\n"


def order_tally(counts: dict[str, int]) -> str:
    """The proposal and fill counts of a fold in words (``desk_line`` says the others)."""
    return formats.tally({k: v for k, v in counts.items() if k not in DESK_COUNTS})


def desk_line(counts: dict[str, int], breaker_days: int) -> str:
    """Stop-loss sells and circuit-breaker days of a fold, in words."""
    return (f"stop-loss sells {counts.get('stop_loss_sells', 0)}, circuit-breaker days "
            f"{counts.get('breaker_days', 0)} ({counts.get('breaker_trips', 0)} trip(s), REDUCING {breaker_days} "
            f"day(s) each), days without a decision {counts.get('policy_abstained', 0)}")


def llm_line(llm: dict[str, Any]) -> str:
    """The LLM calls of the run, in words."""
    budget = f", {llm['over_budget']} refused by the budget" if llm["over_budget"] else ""
    return (f"llm {llm['model']} (cache {llm['cache']}): {llm['calls_made']} call(s) made, "
            f"{llm['calls_replayed']} replayed{budget}, cost ${llm['cost_usd']}")


def _render(document: dict[str, Any]) -> None:
    flag = f" — {notes.SYNTHETIC}" if document.get("synthetic") else ""
    for k, fold in enumerate(document["folds"]):
        names = ["strategy", *fold["benchmarks"]]
        columns = [Column("metric", whole=True), *(Column(name, "right", whole=True) for name in names)]
        figures = [fold["metrics"], *fold["benchmarks"].values()]
        rows = [(key, *(formats.metric(key, r.get(key)) for r in figures)) for key in fold["metrics"]]
        out.print(Fitted(f"fold {k + 1}: {fold['start']} → {fold['end']} ({fold['days']} days){flag}", columns, rows))
        for name, figures in fold["benchmarks"].items():
            out.print(alpha_line(fold["metrics"], name, figures))
        out.print(f"orders: {order_tally(fold['counts'])}")
        out.print(desk_line(fold["counts"], document["breaker_days"]))
        for line in notes.codes_lines(fold.get("risk_codes", {})):
            out.print(line)
        for line in sleeve_lines(fold["sleeves"]) if "sleeves" in fold else []:
            out.print(line)
    if "llm" in document:
        out.print(llm_line(document["llm"]))
    for line in document.get("notes", []):
        out.print(line, style="bold yellow" if line.startswith(("WARNING", notes.SYNTHETIC)) else "")
    out.print(f"files in {document['out_dir']} ({document['elapsed_seconds']} s)")


def _store(database: Engine, run_id: str, request: BacktestRequest, folds: list[FoldResult],
           document: dict[str, Any], policy: str, data: str, elapsed: float,
           extra_params: dict[str, Any] | None = None) -> None:
    """One ``backtest_run`` row per fold, in one transaction; ``extra_params`` (a sweep's key and limits) join
    its ``params``."""
    rows = []
    for k, fold in enumerate(folds):
        suffix = "" if len(folds) == 1 else f"-f{k + 1}"
        extra = {"llm": document["llm"]} if "llm" in document else {}
        rows.append(BacktestRunRow(
            id=run_id + suffix, created_at=system_clock(), start=fold.start, end=fold.end, policy=policy,
            data_source=data[:200], status="completed", symbols=list(fold.symbols),
            params={"approve_borderline": request.approve_borderline, "walk_forward": request.walk_forward,
                    "engine": request.engine, "breaker_days": request.breaker_days, "fold": k + 1,
                    "skip_missing": request.skip_missing,
                    "requested_symbols": list(request.symbols), **(extra_params or {})},
            metrics={**fold.metrics, "counts": dict(fold.result.counts), **extra}, benchmarks=fold.benchmarks,
            equity=[[d.isoformat(), round(float(v), 2)]
                    for d, v in zip(fold.result.dates, fold.equity, strict=True)],
            out_dir=document["out_dir"], elapsed_seconds=elapsed))
    BacktestStore(lambda: transaction(database), system_clock).save_runs(rows)  # every fold or none


def report_command(week: bool, as_of: str | None) -> None:
    """``paperdesk report`` (``bot.cli.backtest``): build the live portfolio's report and print it."""
    from bot.evaluation.report import build_report

    with _app(as_of, dating="view") as built:  # the CLI's one builder: one-line errors, notes, the portfolio's date
        result = build_report(built.desk, built.settings.home.expanduser(), week=week)
    out.print(result.text, end="")
    for path in result.charts:
        out.print(f"chart: {path}")
