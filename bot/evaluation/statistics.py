"""Statistics for an honest comparison: block-bootstrap intervals, the probabilistic and deflated Sharpe ratios.

Policy: pure functions on numpy arrays of simple daily returns (no pandas, no I/O, no clock). The
figures themselves (a Sharpe ratio, a CAGR) come from ``bot.evaluation.metrics``, passed in as a
``Statistic``; this module only resamples and tests them.

- ``paired_bootstrap``: the stationary bootstrap (Politis & Romano 1994) of the days, the same
  resampled days for the strategy and its benchmark (so the days they move together stay together).
  Blocks start at a uniformly drawn day, have a geometric length of mean ``block`` days and wrap
  round the end of the series; the default mean is n^(1/3) days (at least 1), the rate of the
  optimal block length for a variance (Politis & White 2004). Each of ``resamples`` (default 2,000)
  resamples gives statistic(strategy) − statistic(benchmark); the interval is the percentile
  interval of those at ``confidence`` (resamples where a statistic is undefined are left out). The
  days come from a numpy ``Generator`` seeded with ``seed``: the same inputs and seed, the same interval.
- ``probabilistic_sharpe`` (Bailey & López de Prado 2012, "The Sharpe ratio efficient frontier"):
  P(true SR > SR*) = Φ((SR − SR*) √(T − 1) / √(1 − γ₃ SR + (γ₄ − 1)/4 SR²)), SR per period (not
  annualised), T the number of returns, γ₃ their skewness and γ₄ their kurtosis (3 for a normal
  law), both the population moments of ``moments``.
- ``expected_max_sharpe`` and ``deflated_sharpe`` (Bailey & López de Prado 2014, "The deflated
  Sharpe ratio"): the Sharpe ratio that the best of N unskilled trials reaches on average,
  SR₀ = √V ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e))) with V the variance of the trials' Sharpe
  ratios and γ the Euler–Mascheroni constant (SR₀ = 0 for one trial); DSR = PSR(SR₀).

Failure contract: ``ValueError`` (one line) for fewer than two returns, series of different lengths,
a confidence outside (0, 1), fewer than one resample or trial, a negative variance. An undefined
figure is NaN, never an exception: flat returns have no skewness, a statistic undefined on every
resample gives NaN bounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
RESAMPLES = 2_000
FLAT = 1e-10  # a standard deviation below this fraction of the largest |return| is rounding, not spread
NAN = float("nan")
Statistic = Callable[[np.ndarray], float]
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Interval:
    """A difference measured on the data, with its bootstrap interval at ``confidence``."""

    estimate: float
    low: float
    high: float
    confidence: float

    @property
    def defined(self) -> bool:
        """Whether the estimate and both bounds are numbers."""
        return all(math.isfinite(v) for v in (self.estimate, self.low, self.high))


def default_block(n: int) -> float:
    """The mean block length used when none is given: n^(1/3) days, at least 1."""
    return max(1.0, math.pow(n, 1 / 3))


def stationary_indices(n: int, block: float, rng: np.random.Generator) -> np.ndarray:
    """One stationary-bootstrap resample of the positions 0..n-1: geometric blocks of mean ``block``, wrapping."""
    new_block = rng.random(n) < 1.0 / block
    new_block[0] = True
    starts = rng.integers(0, n, size=n)
    # Each position continues the block opened at the last position that opened one.
    opened = np.maximum.accumulate(np.where(new_block, np.arange(n), 0))
    return (starts[opened] + np.arange(n) - opened) % n


def paired_bootstrap(strategy: np.ndarray, benchmark: np.ndarray, statistics: Mapping[str, Statistic], *,
                     confidence: float = 0.95, resamples: int = RESAMPLES, block: float | None = None,
                     seed: int = 0) -> dict[str, Interval]:
    """For each statistic, statistic(strategy) − statistic(benchmark) and its stationary-bootstrap interval."""
    a, b = _paired(strategy, benchmark)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    mean_block = default_block(len(a)) if block is None else block
    if mean_block < 1:
        raise ValueError(f"the mean block length must be at least 1 day, not {mean_block}")
    rng = np.random.default_rng(seed)
    draws = {name: np.empty(resamples) for name in statistics}
    for k in range(resamples):
        idx = stationary_indices(len(a), mean_block, rng)
        sample_a, sample_b = a[idx], b[idx]
        for name, statistic in statistics.items():
            draws[name][k] = statistic(sample_a) - statistic(sample_b)
    tail = (1 - confidence) / 2
    out = {}
    for name, statistic in statistics.items():
        finite = draws[name][np.isfinite(draws[name])]
        low, high = (float(q) for q in np.quantile(finite, [tail, 1 - tail])) if finite.size else (NAN, NAN)
        out[name] = Interval(statistic(a) - statistic(b), low, high, confidence)
    return out


def moments(returns: np.ndarray) -> tuple[float, float]:
    """Skewness and (non-excess) kurtosis of the returns: population moments; NaN when they are flat."""
    values = np.asarray(returns, dtype=float)
    if not values.size:
        return NAN, NAN
    centred = values - values.mean()
    variance = float(np.mean(centred**2))
    # A spread within rounding of the values (or one whose square underflows) is a flat series.
    if variance <= (FLAT * float(np.max(np.abs(values)))) ** 2 or variance**2 == 0:
        return NAN, NAN
    return float(np.mean(centred**3)) / variance**1.5, float(np.mean(centred**4)) / variance**2


def probabilistic_sharpe(sharpe: float, observations: int, skew: float, kurtosis: float,
                         benchmark: float = 0.0) -> float:
    """P(true Sharpe > ``benchmark``) given a per-period Sharpe measured on ``observations`` returns."""
    if observations < 2:
        raise ValueError(f"the probabilistic Sharpe ratio needs at least 2 returns, not {observations}")
    spread = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if not (math.isfinite(spread) and math.isfinite(sharpe)) or spread <= 0:
        return NAN
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(spread))


def expected_max_sharpe(trials: int, variance: float, mean: float = 0.0) -> float:
    """The expected largest per-period Sharpe of ``trials`` unskilled trials whose Sharpes have ``variance``."""
    if trials < 1:
        raise ValueError(f"the number of trials must be at least 1, not {trials}")
    if variance < 0:
        raise ValueError(f"the variance of the trials' Sharpe ratios cannot be negative ({variance})")
    if trials == 1:
        return mean
    spread = ((1 - EULER_GAMMA) * _NORMAL.inv_cdf(1 - 1 / trials)
              + EULER_GAMMA * _NORMAL.inv_cdf(1 - 1 / (trials * math.e)))
    return mean + math.sqrt(variance) * spread


def deflated_sharpe(sharpe: float, observations: int, skew: float, kurtosis: float, trials: int,
                    variance: float) -> float:
    """P(true Sharpe > the best of ``trials`` unskilled trials): the PSR against ``expected_max_sharpe``."""
    return probabilistic_sharpe(sharpe, observations, skew, kurtosis, expected_max_sharpe(trials, variance))


def _paired(strategy: np.ndarray, benchmark: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(strategy, dtype=float), np.asarray(benchmark, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired returns must be two series of one length, not {a.shape} and {b.shape}")
    if len(a) < 2:
        raise ValueError(f"a bootstrap needs at least 2 paired returns, not {len(a)}")
    return a, b
