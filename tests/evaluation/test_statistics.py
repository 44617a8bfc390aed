"""Bootstrap intervals, PSR and DSR: the DSR paper's worked example, hand computations with scipy, properties.

Published figures (Bailey & López de Prado 2014, "The deflated Sharpe ratio", numerical example): the
best of N = 100 trials has an annualised Sharpe of 2.5 over T = 1,250 daily returns (250 a year),
skewness −3 and kurtosis 10; the trials' annualised Sharpes have a variance of 1/2. The paper finds
SR₀ = 0.1132 (per day) and DSR = 0.9004, and DSR = 0.9505 with N = 46.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from bot.evaluation import metrics
from bot.evaluation.statistics import (
    EULER_GAMMA,
    deflated_sharpe,
    expected_max_sharpe,
    moments,
    paired_bootstrap,
    probabilistic_sharpe,
    stationary_indices,
)

DAYS_A_YEAR_IN_THE_PAPER = 250


def sharpe(r: np.ndarray) -> float:
    return metrics.sharpe(pd.Series(r))


def cagr(r: np.ndarray) -> float:
    return metrics.cagr(pd.Series(r))


FIGURES = {"return": cagr, "sharpe": sharpe}


def _paper_example(trials: int) -> tuple[float, float]:
    per_day = 2.5 / math.sqrt(DAYS_A_YEAR_IN_THE_PAPER)
    variance = 0.5 / DAYS_A_YEAR_IN_THE_PAPER
    sr0 = expected_max_sharpe(trials, variance)
    return sr0, deflated_sharpe(per_day, 1250, -3.0, 10.0, trials, variance)


def test_the_deflated_sharpe_ratio_reproduces_the_papers_numerical_example() -> None:
    sr0, dsr = _paper_example(100)
    assert round(sr0, 4) == 0.1132
    assert round(dsr, 4) == 0.9004
    assert round(_paper_example(46)[1], 4) == 0.9505


def test_expected_max_sharpe_matches_a_hand_computation_and_one_trial_is_no_deflation() -> None:
    by_hand = math.sqrt(0.04) * ((1 - np.euler_gamma) * scipy_stats.norm.ppf(1 - 1 / 20)
                                 + np.euler_gamma * scipy_stats.norm.ppf(1 - 1 / (20 * math.e)))
    assert expected_max_sharpe(20, 0.04) == pytest.approx(by_hand, rel=1e-9)
    assert EULER_GAMMA == pytest.approx(np.euler_gamma, abs=1e-15)
    assert expected_max_sharpe(1, 0.04) == 0.0
    returns = np.array([0.01, -0.004, 0.006, 0.002, -0.012, 0.009, 0.003])
    skew, kurt = moments(returns)
    sr = sharpe(returns) / math.sqrt(252)
    assert deflated_sharpe(sr, 7, skew, kurt, 1, 0.04) == probabilistic_sharpe(sr, 7, skew, kurt)


def test_psr_and_moments_match_a_hand_computation_with_scipy_on_a_small_series() -> None:
    returns = np.array([0.012, -0.007, 0.004, 0.021, -0.015, 0.003, 0.008, -0.002, 0.011, -0.009])
    skew, kurt = moments(returns)
    assert skew == pytest.approx(scipy_stats.skew(returns, bias=True), rel=1e-12)
    assert kurt == pytest.approx(scipy_stats.kurtosis(returns, fisher=False, bias=True), rel=1e-12)
    sr = returns.mean() / returns.std(ddof=1)
    assert sharpe(returns) / math.sqrt(252) == pytest.approx(sr, rel=1e-12)  # the one Sharpe, de-annualised
    z = (sr - 0.05) * math.sqrt(9) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    assert probabilistic_sharpe(sr, 10, skew, kurt, benchmark=0.05) == pytest.approx(scipy_stats.norm.cdf(z), 1e-12)


def test_flat_returns_have_no_moments_and_no_psr() -> None:
    skew, kurt = moments(np.zeros(30))
    assert math.isnan(skew) and math.isnan(kurt)
    assert math.isnan(probabilistic_sharpe(float("nan"), 30, skew, kurt))


def test_a_strategy_identical_to_spy_shows_a_zero_difference_with_an_interval_containing_zero() -> None:
    spy = np.random.default_rng(1).normal(0.0004, 0.011, 750)
    found = paired_bootstrap(spy.copy(), spy, FIGURES, resamples=300, seed=7)
    for interval in found.values():
        assert interval.estimate == 0.0
        assert interval.low <= 0.0 <= interval.high
        assert interval.low == interval.high == 0.0  # the same days every resample: no difference at all


def test_the_bootstrap_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(0.0006, 0.01, 500), rng.normal(0.0003, 0.012, 500)
    first = paired_bootstrap(a, b, FIGURES, resamples=200, seed=11)
    assert paired_bootstrap(a, b, FIGURES, resamples=200, seed=11) == first
    assert paired_bootstrap(a, b, FIGURES, resamples=200, seed=12) != first
    assert first["sharpe"].estimate == pytest.approx(sharpe(a) - sharpe(b), abs=1e-12)
    assert first["return"].estimate == pytest.approx(cagr(a) - cagr(b), abs=1e-12)


def test_the_interval_narrows_as_the_track_record_lengthens() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.0005, 0.01, 4000), rng.normal(0.0003, 0.01, 4000)
    short = paired_bootstrap(a[:250], b[:250], FIGURES, resamples=300, seed=1)
    long = paired_bootstrap(a, b, FIGURES, resamples=300, seed=1)
    for name in FIGURES:
        assert long[name].high - long[name].low < 0.5 * (short[name].high - short[name].low)  # √16 = 4 in theory


def test_one_day_blocks_give_the_iid_bootstrap_spread_of_a_mean_by_hand() -> None:
    rng = np.random.default_rng(4)
    d = rng.normal(0.0, 0.01, 400)
    found = paired_bootstrap(d, np.zeros(400), {"mean": np.mean}, resamples=2000, block=1, seed=5)["mean"]
    by_hand = d.std(ddof=0) / math.sqrt(400) * scipy_stats.norm.ppf(0.975)  # the normal approximation
    assert (found.high - found.low) / 2 == pytest.approx(by_hand, rel=0.1)
    assert found.low < d.mean() < found.high


def test_one_block_longer_than_the_series_is_a_rotation_and_keeps_the_mean() -> None:
    d = np.array([0.01, -0.02, 0.03, 0.005, -0.001])
    rng = np.random.default_rng(6)
    idx = stationary_indices(5, 1e12, rng)
    assert sorted(idx.tolist()) == [0, 1, 2, 3, 4]
    assert np.array_equal(np.diff(idx) % 5, np.ones(4, dtype=int))
    found = paired_bootstrap(d, np.zeros(5), {"mean": np.mean}, resamples=50, block=1e12)["mean"]
    assert found.low == pytest.approx(d.mean(), abs=1e-15) and found.high == pytest.approx(d.mean(), abs=1e-15)


def test_stationary_blocks_have_the_asked_mean_length() -> None:
    idx = stationary_indices(100_000, 8.0, np.random.default_rng(8))
    breaks = np.count_nonzero(np.diff(idx) % 100_000 != 1)
    assert 100_000 / (breaks + 1) == pytest.approx(8.0, rel=0.05)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: paired_bootstrap(np.zeros(5), np.zeros(4), FIGURES), "one length"),
    (lambda: paired_bootstrap(np.zeros(1), np.zeros(1), FIGURES), "at least 2 paired returns"),
    (lambda: paired_bootstrap(np.zeros(5), np.zeros(5), FIGURES, confidence=1.0), "between 0 and 1"),
    (lambda: paired_bootstrap(np.zeros(5), np.zeros(5), FIGURES, resamples=0), "at least 1"),
    (lambda: expected_max_sharpe(0, 0.1), "at least 1"),
    (lambda: expected_max_sharpe(3, -0.1), "cannot be negative"),
    (lambda: probabilistic_sharpe(0.1, 1, 0.0, 3.0), "at least 2 returns"),
])
def test_bad_arguments_are_one_line_value_errors(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# Pearson's inequality: kurtosis ≥ 1 + skewness², so the PSR's spread is never negative.
moment_pairs = st.tuples(st.floats(-3, 3), st.floats(0, 30)).map(lambda p: (p[0], 1 + p[0] ** 2 + p[1]))


@given(st.floats(-1, 1), st.integers(2, 10_000), moment_pairs, st.floats(-0.5, 0.5))
def test_psr_is_a_probability(sr: float, n: int, shape: tuple[float, float], benchmark: float) -> None:
    psr = probabilistic_sharpe(sr, n, *shape, benchmark=benchmark)
    assert math.isnan(psr) or 0.0 <= psr <= 1.0


@given(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5), st.integers(2, 10_000), moment_pairs)
def test_psr_rises_with_the_sharpe(sr_a: float, sr_b: float, n: int, shape: tuple[float, float]) -> None:
    # dz/dSR has the sign of 1 − γ₃·SR/2: positive for per-day Sharpes |SR| ≤ 0.5 and |γ₃| ≤ 3 (|γ₃·SR| ≤ 1.5).
    low, high = sorted((sr_a, sr_b))
    assert probabilistic_sharpe(low, n, *shape) <= probabilistic_sharpe(high, n, *shape)


@given(st.lists(st.floats(-0.2, 0.2), min_size=3, max_size=60))
def test_psr_of_any_return_series_is_a_probability_or_undefined(values: list[float]) -> None:
    returns = np.array(values)
    skew, kurt = moments(returns)
    psr = probabilistic_sharpe(sharpe(returns) / math.sqrt(252), len(returns), skew, kurt)
    assert math.isnan(psr) or 0.0 <= psr <= 1.0
