"""A backtest run's curves and chart images, made once for ``paperdesk backtest`` and a sweep's worker.

Policy: a single fold has one curve (no suffix); walk-forward folds have one each (``_fold<k>``)
and the folds chained into one curve (no suffix). ``run_charts`` renders each curve's equity and
drawdown charts to PNG bytes, so a sweep renders them in its Dask worker, in parallel, and its
client only writes bytes; ``paperdesk backtest`` writes the same images.

Failure contract: none of its own; matplotlib's errors propagate.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import pandas as pd

from bot.backtest import notes
from bot.backtest.run import FoldResult, combined
from bot.evaluation import charts


class Curve(NamedTuple):
    """One equity curve of a run, its benchmarks and the suffix of its files."""

    suffix: str
    equity: pd.Series
    benchmarks: dict[str, pd.Series]
    first: date
    last: date


def run_curves(folds: list[FoldResult]) -> list[Curve]:
    """The curves whose files a run writes."""
    if len(folds) == 1:
        fold = folds[0]
        return [Curve("", fold.equity, fold.benchmark_series, fold.start, fold.end)]
    curves = [Curve(f"_fold{k + 1}", f.equity, f.benchmark_series, f.start, f.end) for k, f in enumerate(folds)]
    equity, benchmarks = combined(folds)
    return [*curves, Curve("", equity, benchmarks, folds[0].start, folds[-1].end)]


def run_charts(folds: list[FoldResult], policy: str, currency: str) -> dict[str, bytes]:
    """Every chart of a run as PNG bytes, by file name."""
    flag = f" — {notes.SYNTHETIC}" if folds[0].data.synthetic else ""
    out: dict[str, bytes] = {}
    for c in run_curves(folds):
        out[f"equity{c.suffix}.png"] = charts.backtest_equity_png(c.equity, c.benchmarks,
                                                                  f"{policy} {c.first} → {c.last}{flag}", currency)
        out[f"drawdown{c.suffix}.png"] = charts.drawdown_png(c.equity, f"{policy} drawdown{flag}")
    return out
