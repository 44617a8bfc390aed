"""``paperdesk dataset``: hindsight-labelled training data for a small local model (parse, generate, summarise).

Everything is checked before a file is written: the dates, the horizon, the states, the split
fractions, the output mode and the out dir, then the data (loaded as ``paperdesk backtest`` loads
it) and the number of days the splits need. Progress goes to stderr (``bot.cli.progress``); the
summary (examples per split, the card's path) to stdout. The files are described in
``bot.backtest.dataset_files``, the generator in ``bot.backtest.dataset``.

Failure contract: bad input, settings, data or an out dir that cannot be written print one line
(``error: …``) and exit 1.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from agent.market.base import MarketDataError
from agent.universe import UniverseError, load_universe
from bot.backtest.dataset import DatasetError, DatasetRequest, Prepared, check_request, prepare
from bot.backtest.dataset_files import write_dataset
from bot.backtest.dataset_labels import Utility
from bot.backtest.dataset_states import STATES
from bot.backtest.run import BacktestError, check_out_dir
from bot.backtest.sweep_grid import GridError, data_hash
from bot.cli.backtest import parse_day
from bot.cli.progress import DayProgress
from bot.logging import configure_logging
from bot.market_wiring import make_provider
from bot.settings import Settings, SettingsError, load_settings
from broker.simulated import SimConfig

EXPECTED = (DatasetError, BacktestError, SettingsError, MarketDataError, UniverseError)


def _fail(message: str) -> typer.Exit:
    print(f"error: {message}", file=sys.stderr)  # noqa: T201
    return typer.Exit(1)


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or not all(0 < p < 1 for p in parts):
        raise _fail(f"invalid --split {text!r}: three fractions for train,validation,test, e.g. 0.7,0.15,0.15")
    return parts[0], parts[1], parts[2]


def dataset(
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD); labels read no data after it.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory (JSONL per split, index.csv, data card).")],
    data: Annotated[str | None, typer.Option(
        help="synthetic, yfinance, alpaca or csv:DIR (default: PAPERDESK_DATA).")] = None,
    symbols: Annotated[str | None, typer.Option(help="Comma-separated symbols to restrict the universe to.")] = None,
    skip_missing: Annotated[bool, typer.Option(
        "--skip-missing", help="Leave out instruments whose data is missing or broken.")] = False,
    horizon: Annotated[int, typer.Option(min=1, max=250, help="Label horizon in trading days.")] = 5,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the simulated states (same seed, same bytes).")] = 0,
    states: Annotated[str | None, typer.Option(help=f"Comma-separated states (default: all): {', '.join(STATES)}.")
                      ] = None,
    split: Annotated[str, typer.Option(help="Train,validation,test fractions of the days.")] = "0.7,0.15,0.15",
    output_mode: Annotated[str | None, typer.Option(help=(
        "json_schema, json_object or prompt (the schema in the system message); default: from "
        "PAPERDESK_LLM_OUTPUT_MODE, json_schema for auto."))] = None,
    loss_aversion: Annotated[float, typer.Option(min=1.0, max=10.0, help="λ: weight of a loss.")] = 2.25,
    cvar_weight: Annotated[float, typer.Option(min=0.0, max=100.0, help="κ: weight of the CVaR(95%) penalty.")] = 1.0,
) -> None:
    """Write hindsight-labelled chat examples (the llm policy's prompts) for fine-tuning a small model."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if first >= last:
        raise _fail(f"empty range: --start {first} must be before --end {last}")
    fractions = _fractions(split)
    chosen = tuple(s.strip() for s in states.split(",") if s.strip()) if states is not None else tuple(STATES)
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        request = replace(_request(settings, first, last, data, symbols, horizon, seed, chosen, fractions, output_mode,
                                   Utility(loss_aversion=loss_aversion, cvar_weight=cvar_weight)),
                          skip_missing=skip_missing)
        check_out_dir(out_dir)  # before the data is read
        started = time.perf_counter()
        prepared = prepare(request)
        card = _generate(prepared, out_dir, _data(data or settings.data, settings, prepared))
    except EXPECTED as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot write {exc.filename or 'the data set'}: {exc.strerror or exc}") from None
    seconds = time.perf_counter() - started
    counts = ", ".join(f"{name} {s['rows']}" for name, s in card["splits"].items())
    print(f"dataset: {card['rows']} examples ({counts}) from {prepared.days} days × {len(chosen)} states "  # noqa: T201
          f"in {seconds:.1f} s ({card['rows'] / max(seconds, 1e-9):.0f} examples/s); card: {out_dir / 'data_card.md'}")


def _request(settings: Settings, first: date, last: date, data: str | None, symbols: str | None, horizon: int,
             seed: int, states: tuple[str, ...], fractions: tuple[float, float, float], output_mode: str | None,
             utility: Utility) -> DatasetRequest:
    universe = load_universe(settings.universe)
    mode = output_mode or ("json_schema" if settings.llm_output_mode == "auto" else settings.llm_output_mode)
    sim = SimConfig(initial_cash=Decimal(str(settings.sim.initial_cash)), base_currency=universe.base_currency)
    wanted = tuple(s.strip().upper() for s in symbols.split(",") if s.strip()) if symbols else ()
    request = DatasetRequest(start=first, end=last, provider=make_provider(settings, universe, data),
                             universe=universe, limits=settings.risk, sim=sim, symbols=wanted, horizon=horizon,
                             seed=seed, states=states, fractions=fractions, utility=utility,
                             max_instruments=settings.llm_prompt_max_instruments, output_mode=mode)
    check_request(request)
    return request


def _data(spec: str, settings: Settings, prepared: Prepared) -> dict[str, Any]:
    try:
        digest: str | None = data_hash(spec, settings.synthetic_seed)
    except GridError:
        digest = None  # network sources have no content hash
    return {"source": spec, "synthetic": prepared.history.synthetic, "content_hash": digest}


def _generate(prepared: Prepared, target: Path, data: dict[str, Any]) -> dict[str, Any]:
    with DayProgress(Console(stderr=True), label="dataset") as progress:
        progress.start(prepared.days)
        return write_dataset(prepared, target, data, on_day=progress.day)
