"""A backtest from request to stored result: data, universe, replay, benchmarks, metrics, files.

Policy: the instruments are the configured universe restricted to the symbols with at least one
price in the period (``symbols`` restricts further; an unknown symbol is an error); those without
one are named in ``DataReport.unpriced``. Broken data fails the run as it fails a cycle, unless
``skip_missing``: then the instruments whose data cannot be loaded are left out and named with
their error (``DataReport.skipped``). The whole history up to ``end`` is loaded once (earlier rows
warm the indicators up); the period's rows are replayed by ``bot.backtest.engine``; walk-forward
splits them into N consecutive folds, each a fresh portfolio (``combined`` chains them into one
curve). Every policy goes through that one replay (``engine`` ``auto`` and ``objects`` are kept for
scripts and mean the same). A benchmark whose data cannot be loaded is named with the reason
(``DataReport.benchmarks_unavailable``). Outputs: ``equity.csv`` (``date,equity``),
``metrics.json``, ``summary.txt`` and the PNG charts in the out dir, and one ``backtest_run`` row.

Failure contract: ``BacktestError`` (one line, says what to do) for an empty range, a period with
no data, unknown symbols, broken data without ``skip_missing`` (the provider's message, naming the
file and line, and the way out), an output directory that cannot be written (``check_out_dir``,
called before the run), fewer than two days per fold, and (raised by the policy,
``bot.backtest.llm``) a day missing from the LLM cache in replay mode.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from agent.indicator_panels import indicator_panels
from agent.market.assemble import NoPriceBeforeEnd
from agent.market.base import MarketData, MarketDataError, PriceHistory
from agent.policies.base import Policy
from agent.policies.baselines import BuyAndHoldPolicy, EqualWeightPolicy
from agent.policies.rules import RulesPolicy
from agent.universe import Universe
from bot.backtest.engine import Replay, ReplayResult, replay
from bot.backtest.options import BREAKER_DAYS
from bot.evaluation import benchmarks as bench
from bot.evaluation.metrics import as_json, summarize
from bot.sleeves.plan import SleevePlan
from broker.models import Instrument
from broker.simulated import SimConfig
from risk.limits import RiskLimits

ALL_ROWS = 1_000_000


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
    skip_missing: bool = False
    approve_borderline: bool = False
    walk_forward: int = 1
    engine: str = "auto"
    breaker_days: int = BREAKER_DAYS
    sleeves: SleevePlan | None = None  # a sleeved desk: its plan (``policy`` is then its policy)


def replay_policy(name: str) -> Policy:
    """The policies a replay builds without settings or a database, by name (the llm policy is wired
    by ``bot.backtest.llm``): the live rules policy and the two baselines."""
    made: dict[str, Callable[[], Policy]] = {"rules": RulesPolicy, "buy_and_hold": BuyAndHoldPolicy,
                                             "equal_weight": EqualWeightPolicy}
    if name not in made:
        raise BacktestError(f"unknown policy {name!r}: choose {', '.join([*made, 'llm'])}")
    return made[name]()


@dataclass(frozen=True)
class DataReport:
    """What a run's data was and left out: synthetic prices, instruments ``--skip-missing`` dropped
    (symbol → error), instruments without a price in the period, benchmarks that could not be loaded."""

    synthetic: bool
    skipped: dict[str, str] = field(default_factory=dict)
    unpriced: tuple[str, ...] = ()
    benchmarks_unavailable: dict[str, str] = field(default_factory=dict)


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
    data: DataReport = field(default_factory=lambda: DataReport(synthetic=False))


def restrict_universe(request: BacktestRequest) -> Universe:
    """The universe limited to ``symbols`` (if given) and to instruments with data in the period."""
    return _restricted(request).universe


@dataclass(frozen=True)
class Restricted:
    """The instruments a backtest keeps, the history that was loaded for them, and what was left out."""

    universe: Universe
    history: PriceHistory | None
    skipped: dict[str, str]
    unpriced: tuple[str, ...]


def _restricted(request: BacktestRequest) -> Restricted:
    """``restrict_universe``, with the history of its instruments when the check loaded exactly those."""
    by_symbol = request.universe.by_symbol
    unknown = [s for s in request.symbols if s not in by_symbol]
    if unknown:
        raise BacktestError(f"unknown symbol(s) {', '.join(unknown)}: not in universe {request.universe.name}")
    wanted = [by_symbol[s] for s in request.symbols] if request.symbols else list(request.universe.instruments)
    loadable, skipped, history = _loadable(request, wanted)
    if history is None and loadable:
        history = request.provider.history(loadable, request.end, ALL_ROWS)
    priced = _priced_in_period(request, history) if history is not None else pd.Series(dtype=bool)
    kept = [i for i in loadable if priced.get(i.symbol, False)]
    if not kept:
        left_out = f"; left out for their data: {_listed(skipped)}" if skipped else ""
        raise BacktestError(f"no price data between {request.start} and {request.end} for any instrument of "
                            f"{request.universe.name}; choose another period or data source{left_out}")
    kept_symbols = {i.symbol for i in kept}  # not ``i in kept``: pydantic equality, n² of it at 500 symbols
    unpriced = tuple(i.symbol for i in wanted if i.symbol not in kept_symbols and i.symbol not in skipped)
    return Restricted(replace(request.universe, instruments=tuple(kept)),
                      history if len(kept) == len(loadable) else None, skipped, unpriced)


Loadable = tuple[list[Instrument], dict[str, str], PriceHistory | None]


def _loadable(request: BacktestRequest, wanted: list[Instrument]) -> Loadable:
    """The instruments whose data loads (less those priced only after ``end``), the broken ones with
    their error (only with ``skip_missing``; else a broken one is a ``BacktestError``), and their history
    when one load of all of them gave it."""
    try:
        return wanted, {}, request.provider.history(wanted, request.end, ALL_ROWS)
    except NoPriceBeforeEnd as exc:  # series that start after the period: not priced in it
        rest = [i for i in wanted if i.symbol not in exc.symbols]
        return _loadable(request, rest) if rest else ([], {}, None)
    except MarketDataError as exc:
        if not request.skip_missing:
            raise BacktestError(f"{exc} (fix the data, or pass --skip-missing to leave out the instruments whose "
                                "data cannot be loaded)") from None
    # Find which, one by one (a provider's series of one symbol never depends on the others).
    loadable, broken = [], {}
    for instrument in wanted:
        try:
            request.provider.history([instrument], request.end, ALL_ROWS)
        except NoPriceBeforeEnd:
            continue
        except MarketDataError as exc:
            broken[instrument.symbol] = str(exc)
            continue
        loadable.append(instrument)
    return loadable, broken, None


def _listed(reasons: dict[str, str]) -> str:
    """``SYMBOL (reason), …`` in one line."""
    return ", ".join(f"{symbol} ({reason})" for symbol, reason in reasons.items())


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


async def run_backtest(request: BacktestRequest, on_day: Callable[[int], None] | None = None,
                       on_start: Callable[[int], None] | None = None) -> list[FoldResult]:
    """Replay the period (or each walk-forward fold) and measure it against the benchmarks.

    ``on_start`` is told the number of days to replay (all folds) before the first; ``on_day`` after each.
    """
    if request.start >= request.end:
        raise BacktestError(f"empty range: start {request.start} is not before end {request.end}")
    kept = _restricted(request)
    universe = kept.universe
    history = kept.history if kept.history is not None else request.provider.history(universe.instruments,
                                                                                     request.end, ALL_ROWS)
    rows = period_rows(history, request.start, request.end)
    if len(rows) < 2 * request.walk_forward:
        raise BacktestError(f"{len(rows)} day(s) of data between {request.start} and {request.end}: too few for "
                            f"{request.walk_forward} fold(s) of at least two days")
    panels = indicator_panels(history)
    references, unavailable = _benchmark_histories(request, kept.skipped)
    data = DataReport(synthetic=history.synthetic, skipped=kept.skipped, unpriced=kept.unpriced,
                      benchmarks_unavailable=unavailable)
    if on_start is not None:
        on_start(len(rows))
    folds = []
    for rows_k in split_folds(rows, request.walk_forward):
        plan = request.sleeves.fresh() if request.sleeves is not None else None  # each fold starts afresh
        spec = Replay(history=history, panels=panels, rows=rows_k, universe=universe,
                      policy=plan.policy if plan is not None else request.policy, limits=request.limits,
                      sim=request.sim, approve_borderline=request.approve_borderline, on_day=on_day,
                      breaker_days=request.breaker_days, sleeves=plan)
        result = await replay(spec)
        fold = _measure(result, references, history, float(request.sim.initial_cash))
        fold.symbols, fold.data = universe.symbols, data
        folds.append(fold)
    return folds


def _benchmark_histories(request: BacktestRequest, skipped: dict[str, str]
                        ) -> tuple[dict[str, PriceHistory], dict[str, str]]:
    """SPY and CAC 40 histories when the universe has them; those whose data failed, with the reason."""
    out, unavailable = {}, {}
    for symbol in (bench.SPY, bench.CAC):
        instrument = request.universe.by_symbol.get(symbol)
        if instrument is None:
            continue
        if symbol in skipped:
            unavailable[bench.NAMES[symbol]] = skipped[symbol]
            continue
        try:
            out[symbol] = request.provider.history([instrument], request.end, ALL_ROWS)
        except MarketDataError as exc:
            unavailable[bench.NAMES[symbol]] = str(exc)
    return out, unavailable


def _measure(result: ReplayResult, references: dict[str, PriceHistory], history: PriceHistory,
             initial: float) -> FoldResult:
    index = pd.DatetimeIndex(result.dates)
    equity = pd.Series([float(e) for e in result.equity], index=index, name="equity")
    traded = pd.Series([float(x) for x in result.traded], index=index)
    series = bench.benchmark_series(references, history, result.dates, initial)
    return FoldResult(start=result.dates[0], end=result.dates[-1], result=result, equity=equity,
                      metrics=as_json(summarize(equity, traded)),
                      benchmarks={name: as_json(summarize(s)) for name, s in series.items()}, benchmark_series=series)


def check_out_dir(path: Path) -> None:
    """Refuse, before any work, an output directory that is a file or cannot be created or written."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise BacktestError(f"cannot write the output directory {path}: {existing} is a file, not a directory; "
                            "choose another --out")
    try:
        tempfile.TemporaryDirectory(dir=existing).cleanup()
    except OSError as exc:
        raise BacktestError(f"cannot write the output directory {path}: {existing} refuses it "
                            f"({exc.strerror or exc}); choose another --out") from None


def chained(curves: list[pd.Series]) -> pd.Series:
    """Consecutive equity curves, each a fresh portfolio, as one: each rescaled to start where the one before ended."""
    parts: list[pd.Series] = []
    for curve in curves:
        parts.append(curve if not parts else curve * (float(parts[-1].iloc[-1]) / float(curve.iloc[0])))
    whole: pd.Series = pd.concat(parts)
    whole.name = curves[0].name
    return whole


def combined(folds: list[FoldResult]) -> tuple[pd.Series, dict[str, pd.Series]]:
    """The walk-forward folds' equity chained into one curve, with the benchmarks every fold has, chained alike."""
    names = [n for n in folds[0].benchmark_series if all(n in f.benchmark_series for f in folds)]
    return (chained([f.equity for f in folds]),
            {n: chained([f.benchmark_series[n] for f in folds]) for n in names})


def write_equity(path: Path, equity: pd.Series) -> None:
    """``date,equity`` CSV of an equity curve."""
    frame = pd.DataFrame({"date": [d.date().isoformat() for d in equity.index], "equity": equity.round(2).to_numpy()})
    frame.to_csv(path, index=False)
