"""A backtest from request to stored result: data, universe, replay, benchmarks, metrics, files.

Policy: the instruments are the configured universe restricted to the symbols with at least one
price in the period (``symbols`` restricts further; an unknown symbol is an error). The whole
history up to ``end`` is loaded once (earlier rows warm the indicators up); the period's rows are
replayed by ``bot.backtest.engine``; walk-forward splits them into N consecutive folds, each a
fresh portfolio. Every policy goes through that one replay (``engine`` ``auto`` and ``objects``
are kept for scripts and mean the same). Outputs: ``equity.csv`` (``date,equity``),
``metrics.json``, ``summary.txt`` and the PNG charts in the out dir, and one ``backtest_run`` row.

Failure contract: ``BacktestError`` (one line, says what to do) for an empty range, a period with
no data, unknown symbols, fewer than two days per fold, and (raised by the policy,
``bot.backtest.llm``) a day missing from the LLM cache in replay mode; ``MarketDataError`` from the
provider (e.g. a missing data directory) propagates unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from agent.indicator_panels import indicator_panels
from agent.market.base import MarketData, MarketDataError, PriceHistory
from agent.policies.base import Policy
from agent.universe import Universe
from bot.backtest.engine import BREAKER_DAYS, Replay, ReplayResult, replay
from bot.evaluation import benchmarks as bench
from bot.evaluation.metrics import as_json, summarize
from broker.models import Instrument
from broker.simulated import SimConfig
from risk.limits import RiskLimits

ALL_ROWS = 1_000_000
ENGINES = ("auto", "objects")


class BacktestError(ValueError):
    """The backtest cannot run as asked; the message says why."""


@dataclass(frozen=True)
class BacktestRequest:
    """What to replay and how."""

    start: date
    end: date
    policy: Policy
    provider: MarketData
    universe: Universe
    limits: RiskLimits
    sim: SimConfig
    symbols: tuple[str, ...] = ()
    approve_borderline: bool = False
    walk_forward: int = 1
    engine: str = "auto"
    breaker_days: int = BREAKER_DAYS


@dataclass
class FoldResult:
    """One replayed fold with its figures."""

    start: date
    end: date
    result: ReplayResult
    equity: pd.Series
    metrics: dict[str, Any]
    benchmarks: dict[str, dict[str, Any]]
    benchmark_series: dict[str, pd.Series] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()


def restrict_universe(request: BacktestRequest) -> Universe:
    """The universe limited to ``symbols`` (if given) and to instruments with data in the period."""
    return _restricted(request)[0]


def _restricted(request: BacktestRequest) -> tuple[Universe, PriceHistory | None]:
    """``restrict_universe``, with the history of its instruments when the check loaded exactly those."""
    by_symbol = request.universe.by_symbol
    unknown = [s for s in request.symbols if s not in by_symbol]
    if unknown:
        raise BacktestError(f"unknown symbol(s) {', '.join(unknown)}: not in universe {request.universe.name}")
    wanted = [by_symbol[s] for s in request.symbols] if request.symbols else list(request.universe.instruments)
    kept, history = _with_data(request, wanted)
    if not kept:
        raise BacktestError(f"no price data between {request.start} and {request.end} for any instrument of "
                            f"{request.universe.name}; choose another period or data source")
    return replace(request.universe, instruments=tuple(kept)), history if len(kept) == len(wanted) else None


def _with_data(request: BacktestRequest, wanted: list[Instrument]) -> tuple[list[Instrument], PriceHistory | None]:
    """The instruments with a price in the period (one load of all of them, else one load each), and that load."""
    try:
        history = request.provider.history(wanted, request.end, ALL_ROWS)
    except MarketDataError:
        # Some instrument has no data at all: find which, one by one (a provider's series of one
        # symbol never depends on the other symbols requested with it).
        return [i for i in wanted if _has_data(request, i)], None
    priced = _priced_in_period(request, history)
    return [i for i in wanted if priced.get(i.symbol, False)], history


def _has_data(request: BacktestRequest, instrument: Instrument) -> bool:
    try:
        history = request.provider.history([instrument], request.end, ALL_ROWS)
    except MarketDataError:
        return False
    return bool(_priced_in_period(request, history).get(instrument.symbol, False))


def _priced_in_period(request: BacktestRequest, history: PriceHistory) -> pd.Series:
    """For each symbol of the history, whether it has a price between ``start`` and ``end``."""
    index = history.close.index
    inside = (index >= pd.Timestamp(request.start)) & (index <= pd.Timestamp(request.end))
    return history.close.loc[inside].notna().any(axis=0)


def period_rows(history: PriceHistory, start: date, end: date) -> list[int]:
    """Row positions of the history inside [start, end]."""
    index = history.close.index
    return [i for i, d in enumerate(index) if start <= d.date() <= end]


def split_folds(rows: list[int], folds: int) -> list[range]:
    """``folds`` consecutive, nearly equal ranges of rows."""
    size, extra = divmod(len(rows), folds)
    out, at = [], 0
    for k in range(folds):
        n = size + (1 if k < extra else 0)
        out.append(range(rows[at], rows[at + n - 1] + 1))
        at += n
    return out


async def run_backtest(request: BacktestRequest, on_day: Callable[[int], None] | None = None) -> list[FoldResult]:
    """Replay the period (or each walk-forward fold) and measure it against the benchmarks."""
    if request.start >= request.end:
        raise BacktestError(f"empty range: start {request.start} is not before end {request.end}")
    universe, loaded = _restricted(request)
    history = loaded if loaded is not None else request.provider.history(universe.instruments, request.end, ALL_ROWS)
    rows = period_rows(history, request.start, request.end)
    if len(rows) < 2 * request.walk_forward:
        raise BacktestError(f"{len(rows)} day(s) of data between {request.start} and {request.end}: too few for "
                            f"{request.walk_forward} fold(s) of at least two days")
    panels = indicator_panels(history)
    references = _benchmark_histories(request)
    folds = []
    for rows_k in split_folds(rows, request.walk_forward):
        spec = Replay(history=history, panels=panels, rows=rows_k, universe=universe, policy=request.policy,
                      limits=request.limits, sim=request.sim, approve_borderline=request.approve_borderline,
                      on_day=on_day, breaker_days=request.breaker_days)
        result = await replay(spec)
        fold = _measure(result, references, history, float(request.sim.initial_cash))
        fold.symbols = universe.symbols
        folds.append(fold)
    return folds


def _benchmark_histories(request: BacktestRequest) -> dict[str, PriceHistory]:
    """SPY and CAC 40 histories when the universe has them and the data covers them."""
    out = {}
    for symbol in (bench.SPY, bench.CAC):
        instrument = request.universe.by_symbol.get(symbol)
        if instrument is None:
            continue
        try:
            out[symbol] = request.provider.history([instrument], request.end, ALL_ROWS)
        except MarketDataError:
            continue
    return out


def _measure(result: ReplayResult, references: dict[str, PriceHistory], history: PriceHistory,
             initial: float) -> FoldResult:
    index = pd.DatetimeIndex(result.dates)
    equity = pd.Series([float(e) for e in result.equity], index=index, name="equity")
    traded = pd.Series([float(x) for x in result.traded], index=index)
    series = bench.benchmark_series(references, history, result.dates, initial)
    return FoldResult(start=result.dates[0], end=result.dates[-1], result=result, equity=equity,
                      metrics=as_json(summarize(equity, traded)),
                      benchmarks={name: as_json(summarize(s)) for name, s in series.items()}, benchmark_series=series)


def write_equity(path: Path, equity: pd.Series) -> None:
    """``date,equity`` CSV of an equity curve."""
    frame = pd.DataFrame({"date": [d.date().isoformat() for d in equity.index], "equity": equity.round(2).to_numpy()})
    frame.to_csv(path, index=False)
