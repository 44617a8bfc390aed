"""``paperdesk compare``: backtest runs against SPY buy-and-hold and the equal-weight universe, honestly.

Policy (runs are read back by ``bot.evaluation.stored_runs``):

- Every run is cut to the days all of them have; returns are the day-to-day returns on those days
  (``metrics.returns_of``). Each run is compared with its own benchmark curves, so runs on
  different data are each held to their own market.
- Per run: CAGR and Sharpe (``bot.evaluation.metrics``, the one implementation), the probabilistic
  Sharpe ratio against 0 and the deflated Sharpe ratio (``bot.evaluation.statistics``) with N =
  ``trials`` (default: the number of runs compared) and V the variance of the runs' per-day Sharpe
  ratios; with fewer than two runs V is 1/(T − 1), the variance of a per-day Sharpe estimate of
  normal returns without skill. Turnover and costs are the run's whole-run figures.
- Per run and benchmark: the differences of CAGR and of Sharpe with paired stationary-bootstrap
  intervals (``statistics.paired_bootstrap``: ``resamples``, ``seed``, ``confidence``) and a plain
  sentence on the CAGR difference: "beats" when its interval lies above 0, "trails" when below,
  else "no evidence of beating ... at 95%".

Failure contract: ``CompareError`` (one line) for runs that share fewer than three days (and, from
``stored_runs``, unknown runs and missing files).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bot.evaluation import metrics
from bot.evaluation import statistics as stats
from bot.evaluation.benchmarks import EQUAL_WEIGHT, NAMES, SPY
from bot.evaluation.stored_runs import CompareError, Run, latest_ids, load_run

__all__ = ["CompareError", "Run", "Scored", "Versus", "common_days", "latest_ids", "load_run", "score"]

REFERENCES = (NAMES[SPY], EQUAL_WEIGHT)
MIN_DAYS = 3


@dataclass(frozen=True)
class Versus:
    """One run against one benchmark on the common days."""

    benchmark: str
    cagr: stats.Interval
    sharpe: stats.Interval
    verdict: str
    sentence: str


@dataclass(frozen=True)
class Scored:
    """One run's figures on the common days."""

    run: Run
    figures: dict[str, float]
    versus: list[Versus] = field(default_factory=list)


def sharpe_of(returns: np.ndarray) -> float:
    """The annualised Sharpe ratio of a return array (``metrics.sharpe``)."""
    return metrics.sharpe(pd.Series(returns, copy=False))


def cagr_of(returns: np.ndarray) -> float:
    """The CAGR of a return array (``metrics.cagr``)."""
    return metrics.cagr(pd.Series(returns, copy=False))


DIFFERENCES = {"cagr": cagr_of, "sharpe": sharpe_of}


def common_days(runs: list[Run]) -> pd.DatetimeIndex:
    """The days every run has; at least ``MIN_DAYS`` of them."""
    days = runs[0].equity.index
    for run in runs[1:]:
        days = days.intersection(run.equity.index)
    if len(days) < MIN_DAYS:
        spans = ", ".join(f"{r.run_id} {r.equity.index[0].date()} → {r.equity.index[-1].date()}" for r in runs)
        raise CompareError(f"the runs share {len(days)} day(s), at least {MIN_DAYS} are needed: {spans}")
    return pd.DatetimeIndex(days.sort_values())


def figures_of(returns: np.ndarray) -> dict[str, float]:
    """CAGR, Sharpe and the per-day Sharpe, skewness and kurtosis the PSR and DSR need."""
    skew, kurtosis = stats.moments(returns)
    annual = sharpe_of(returns)
    return {"cagr": cagr_of(returns), "sharpe": annual, "sharpe_per_day": annual / math.sqrt(metrics.PERIODS_PER_YEAR),
            "skew": skew, "kurtosis": kurtosis, "observations": float(len(returns))}


def score(runs: list[Run], *, trials: int | None = None, confidence: float = 0.95, seed: int = 0,
          resamples: int = stats.RESAMPLES) -> tuple[pd.DatetimeIndex, list[Scored]]:
    """Every run's figures and its differences with the benchmarks on the common days."""
    days = common_days(runs)
    returns = [_returns(run.equity, days) for run in runs]
    scored = [Scored(run, figures_of(r)) for run, r in zip(runs, returns, strict=True)]
    n = trials or len(runs)
    per_day = [s.figures["sharpe_per_day"] for s in scored if math.isfinite(s.figures["sharpe_per_day"])]
    variance = float(np.var(per_day, ddof=1)) if len(per_day) >= 2 else 1 / (len(days) - 2)
    for s, r in zip(scored, returns, strict=True):
        f = s.figures
        observations = len(r)
        f["psr"] = stats.probabilistic_sharpe(f["sharpe_per_day"], observations, f["skew"], f["kurtosis"])
        f["dsr"] = stats.deflated_sharpe(f["sharpe_per_day"], observations, f["skew"], f["kurtosis"], n, variance)
        for name in REFERENCES:
            if name in s.run.benchmarks:
                theirs = _returns(s.run.benchmarks[name], days)
                found = stats.paired_bootstrap(r, theirs, DIFFERENCES, confidence=confidence, resamples=resamples,
                                               seed=seed)
                s.versus.append(_versus(s.run, name, found["cagr"], found["sharpe"]))
    return days, scored


def benchmark_figures(run: Run, days: pd.DatetimeIndex) -> dict[str, dict[str, float]]:
    """The reference benchmarks' own figures on the common days (PSR against 0), from ``run``'s curves."""
    out = {}
    for name in REFERENCES:
        if name in run.benchmarks:
            f = figures_of(_returns(run.benchmarks[name], days))
            f["psr"] = stats.probabilistic_sharpe(f["sharpe_per_day"], int(f["observations"]), f["skew"], f["kurtosis"])
            out[name] = f
    return out


def _returns(curve: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    return metrics.returns_of(curve.reindex(days)).to_numpy(dtype=float)


def _versus(run: Run, benchmark: str, cagr: stats.Interval, sharpe: stats.Interval) -> Versus:
    level = f"{cagr.confidence:.0%}"
    if not cagr.defined:
        verdict, says = "n/a", f"cannot be compared with {benchmark}"
    elif cagr.low > 0:
        verdict, says = "beats", f"beats {benchmark} at {level}"
    elif cagr.high < 0:
        verdict, says = "trails", f"trails {benchmark} at {level}"
    else:
        verdict, says = "no evidence", f"no evidence of beating {benchmark} at {level}"
    detail = (f"CAGR {interval_text(cagr, percent=True)}, Sharpe {interval_text(sharpe)}"
              if cagr.defined else "its return difference is undefined")
    return Versus(benchmark, cagr, sharpe, verdict, f"{run.run_id} ({run.policy}): {says} ({detail})")


def interval_text(interval: stats.Interval, percent: bool = False) -> str:
    """``+3.1% [-0.5%, +6.0%]`` or ``+0.21 [-0.10, +0.52]``; ``n/a`` when undefined."""
    if not interval.defined:
        return "n/a"
    estimate, low, high = (_signed(v, percent) for v in (interval.estimate, interval.low, interval.high))
    return f"{estimate} [{low}, {high}]"


def _signed(value: float, percent: bool) -> str:
    """``+0.21`` or ``+3.1%``; a tiny negative that rounds to zero shows as ``+0.00``, never ``-0.00``."""
    text = f"{value:+.1%}" if percent else f"{value:+.2f}"
    return "+" + text[1:] if text.startswith("-") and not text.strip("-0.%") else text
