"""The work of ``paperdesk dataset`` (``bot.cli.dataset``): hindsight-labelled training data, generated and summarised.

Everything is checked before a file is written: the options (``bot.cli.dataset``), the output mode
and the out dir, then the data (loaded as ``paperdesk backtest`` loads it) and the number of days
the splits need. Progress goes to stderr (``bot.cli.progress``); the
summary (examples per split, the card's path) to stdout. The files are described in
``bot.backtest.dataset_files``, the generator in ``bot.backtest.dataset``.

Failure contract: bad input, settings, data or an out dir that cannot be written print one line
(``error: …``) and exit 1.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console

from agent.market.base import MarketDataError
from agent.universe import UniverseError, load_universe
from bot.backtest.dataset import DatasetError, DatasetRequest, Prepared, check_request, prepare
from bot.backtest.dataset_files import write_dataset
from bot.backtest.dataset_labels import Utility
from bot.backtest.run import BacktestError, check_out_dir
from bot.backtest.sweep_grid import GridError, data_hash
from bot.cli.errors import fail
from bot.cli.progress import DayProgress
from bot.logging import configure_logging
from bot.market_wiring import make_provider
from bot.settings import Settings, SettingsError, load_settings
from broker.simulated import SimConfig

EXPECTED = (DatasetError, BacktestError, SettingsError, MarketDataError, UniverseError)


def run_command(first: date, last: date, out_dir: Path, data: str | None, symbols: str | None, skip_missing: bool,
                horizon: int, seed: int, chosen: tuple[str, ...], fractions: tuple[float, float, float],
                output_mode: str | None, loss_aversion: float, cvar_weight: float) -> None:
    """``paperdesk dataset`` once its options are checked: load, generate, write, summarise."""
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
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot write {exc.filename or 'the data set'}: {exc.strerror or exc}") from None
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
