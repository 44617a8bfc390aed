"""Indicators against hand-computed values on tiny series, and regime labels for constructed inputs."""

from __future__ import annotations

import itertools
import math
import random
import warnings
from dataclasses import replace
from datetime import date
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from agent import correlations
from agent.correlations import CorrelationRows
from agent.indicator_panels import indicator_panels, indicators_at
from agent.indicators import (
    INDICATOR_COLUMNS,
    NUMERIC_COLUMNS,
    IndicatorSet,
    Regime,
    RowDates,
    classify_regime,
    compute_indicators,
    regime_inputs,
    risk_volatility,
)
from agent.market.synthetic import SyntheticMarketData
from agent.universe import synthetic_universe
from tests.agent.factories import history

# Wilder's worked example (as published by StockCharts), 33 closes.
WILDER = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28,
          46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18,
          44.22, 44.57, 43.42, 42.66, 43.13]
# The published RSI values (computed there with rounded intermediate values, hence the tolerance).
PUBLISHED_RSI = {15: 70.53, 16: 66.32, 20: 57.97, 27: 39.99, 33: 37.77}


def reference_rsi(prices: list[float], period: int = 14) -> float:
    """Wilder's RSI with plain loops: simple mean of the first ``period`` changes, then smoothing."""
    changes = [b - a for a, b in itertools.pairwise(prices)]
    gains = [max(c, 0.0) for c in changes]
    losses = [max(-c, 0.0) for c in changes]
    avg_gain, avg_loss = sum(gains[:period]) / period, sum(losses[:period]) / period
    for gain, loss in zip(gains[period:], losses[period:], strict=True):
        avg_gain = (avg_gain * (period - 1) + gain) / period
        avg_loss = (avg_loss * (period - 1) + loss) / period
    return 100 - 100 / (1 + avg_gain / avg_loss)


def test_table_has_exactly_the_indicator_columns_per_symbol() -> None:
    result = compute_indicators(history({"A": [1.0, 2.0, 3.0], "B": [3.0, 2.0, 1.0]}))

    assert tuple(result.table.columns) == INDICATOR_COLUMNS
    assert list(result.table.index) == ["A", "B"]
    assert result.as_of == date(2024, 1, 3)


def test_simple_moving_averages_on_a_ramp() -> None:
    table = compute_indicators(history({"R": [float(v) for v in range(1, 251)]})).table

    assert table.loc["R", "close"] == 250.0
    assert table.loc["R", "sma20"] == pytest.approx(240.5)
    assert table.loc["R", "sma50"] == pytest.approx(225.5)
    assert table.loc["R", "sma200"] == pytest.approx(150.5)
    assert table.loc["R", "return_20d"] == pytest.approx(250 / 230 - 1)
    assert table.loc["R", "drawdown_252"] == 0.0
    assert table.loc["R", "rsi14"] == 100.0


@pytest.mark.parametrize("length", range(15, len(WILDER) + 1))
def test_rsi_matches_wilders_recursion(length: int) -> None:
    prices = WILDER[:length]

    rsi = compute_indicators(history({"X": prices})).table.loc["X", "rsi14"]

    assert rsi == pytest.approx(reference_rsi(prices), abs=1e-9)
    if length in PUBLISHED_RSI:
        assert rsi == pytest.approx(PUBLISHED_RSI[length], abs=0.1)


def test_rsi_needs_fifteen_prices_and_is_50_when_flat() -> None:
    short = compute_indicators(history({"S": WILDER[:14]})).table
    flat = compute_indicators(history({"F": [10.0] * 30})).table

    assert math.isnan(short.loc["S", "rsi14"])
    assert flat.loc["F", "rsi14"] == 50.0


def test_bollinger_bands_use_the_population_deviation() -> None:
    prices = [10.0, 11.0] * 10
    table = compute_indicators(history({"B": prices})).table
    # mean 10.5, population std 0.5 -> bands 9.5 .. 11.5; the last close 11 sits at %b 0.75

    assert table.loc["B", "bb_mid"] == pytest.approx(10.5)
    assert table.loc["B", "bb_upper"] == pytest.approx(11.5)
    assert table.loc["B", "bb_lower"] == pytest.approx(9.5)
    assert table.loc["B", "bb_pct"] == pytest.approx(0.75)


def test_bollinger_pct_is_nan_when_the_band_has_no_width() -> None:
    table = compute_indicators(history({"F": [10.0] * 25})).table

    assert table.loc["F", "bb_upper"] == table.loc["F", "bb_lower"] == 10.0
    assert math.isnan(table.loc["F", "bb_pct"])


def test_volatility_is_the_annualised_sample_deviation_of_simple_returns() -> None:
    rng = np.random.default_rng(0)
    prices = list(100 * np.cumprod(1 + rng.normal(0, 0.01, 80)))
    returns = np.diff(prices) / prices[:-1]

    table = compute_indicators(history({"V": prices})).table

    assert table.loc["V", "vol20"] == pytest.approx(np.std(returns[-20:], ddof=1) * math.sqrt(252))
    assert table.loc["V", "vol60"] == pytest.approx(np.std(returns[-60:], ddof=1) * math.sqrt(252))


def test_drawdown_from_the_252_day_high() -> None:
    prices = [100.0, 120.0, 110.0, 90.0]

    table = compute_indicators(history({"D": prices})).table

    assert table.loc["D", "drawdown_252"] == pytest.approx(-0.25)


def test_drawdown_forgets_highs_older_than_252_rows() -> None:
    prices = [200.0] + [100.0] * 252

    assert compute_indicators(history({"D": prices})).table.loc["D", "drawdown_252"] == 0.0


def test_short_history_gives_nan_long_windows_without_error() -> None:
    table = compute_indicators(history({"Y": [float(v) for v in range(1, 61)]})).table

    assert math.isnan(table.loc["Y", "sma200"])
    assert table.loc["Y", "sma50"] == pytest.approx(35.5)
    assert not math.isnan(table.loc["Y", "vol20"]) and math.isnan(table.loc["Y", "vol60"])


def test_late_listing_counts_only_its_own_rows() -> None:
    early = [100.0] * 30
    late = [math.nan] * 10 + [float(v) for v in range(1, 21)]

    table = compute_indicators(history({"E": early, "L": late})).table

    assert table.loc["L", "sma20"] == pytest.approx(10.5)
    assert math.isnan(table.loc["L", "return_20d"])


def test_price_date_is_the_last_real_close_and_close_is_carried() -> None:
    prices = [10.0, 11.0, 12.0, math.nan, math.nan]

    result = compute_indicators(history({"P": prices, "Q": [1.0] * 5}))

    assert result.table.loc["P", "price_date"] == date(2024, 1, 3)
    assert result.table.loc["Q", "price_date"] == date(2024, 1, 5)
    assert result.table.loc["P", "close"] == 12.0


def test_holidays_are_forward_filled_to_zero_returns() -> None:
    result = compute_indicators(history({"US": [10.0, 11.0, 12.0], "PA": [20.0, math.nan, 22.0]}))

    assert result.returns["PA"].tolist() == pytest.approx([0.0, 0.0, 0.1])


def test_returns_are_in_base_currency() -> None:
    fx = [0.9, 0.99, 0.99]
    result = compute_indicators(history({"SPY": [100.0, 100.0, 110.0]}, fx={"USD": fx},
                                        currencies={"SPY": "USD"}))

    assert result.returns["SPY"].tolist() == pytest.approx([0.0, 0.1, 0.1])
    assert result.table.loc["SPY", "vol20"] != result.table.loc["SPY", "vol20"]  # NaN: 2 returns only


def test_missing_fx_series_leaves_base_values_unknown() -> None:
    result = compute_indicators(history({"SPY": [10.0, 11.0, 12.0]}, volume={"SPY": [5.0, 5.0, 5.0]},
                                        currencies={"SPY": "USD"}))

    assert result.returns["SPY"].tolist() == [0.0, 0.0, 0.0]
    assert math.isnan(result.table.loc["SPY", "adv_base"])
    assert result.table.loc["SPY", "close"] == 12.0


def test_adv_base_converts_and_ignores_zero_volume() -> None:
    result = compute_indicators(history(
        {"SPY": [10.0, 10.0, 20.0], "MC": [5.0, 5.0, 5.0], "Z": [1.0, 1.0, 1.0]},
        volume={"SPY": [100.0, 0.0, 100.0], "MC": [10.0, 10.0, 10.0], "Z": [0.0, 0.0, 0.0]},
        fx={"USD": [0.5, 0.5, 0.5]},
        currencies={"SPY": "USD", "MC": "EUR", "Z": "EUR"},
    ))

    assert result.table.loc["SPY", "adv_base"] == pytest.approx((10 * 100 * 0.5 + 20 * 100 * 0.5) / 2)
    assert result.table.loc["MC", "adv_base"] == pytest.approx(50.0)
    assert math.isnan(result.table.loc["Z", "adv_base"])


def test_correlations_of_base_returns() -> None:
    rng = np.random.default_rng(1)
    moves = rng.normal(0, 0.01, 70)
    a = list(100 * np.cumprod(1 + moves))
    b = list(50 * np.cumprod(1 + moves))
    c = list(80 * np.cumprod(1 - moves))

    result = compute_indicators(history({"A": a, "B": b, "C": c, "K": [5.0] * 70}))

    assert result.correlations.loc["A", "B"] == pytest.approx(1.0)
    assert result.correlations.loc["A", "C"] == pytest.approx(-1.0)
    assert math.isnan(result.correlations.loc["A", "K"])
    assert result.correlations.loc["K", "K"] == 1.0
    assert len(result.returns) == 70


def test_returns_keep_the_last_252_rows() -> None:
    result = compute_indicators(history({"A": [float(v) for v in range(1, 301)]}))

    assert len(result.returns) == 252
    assert result.returns["A"].iloc[-1] == pytest.approx(300 / 299 - 1)


@pytest.mark.parametrize(
    ("vol", "corr", "drawdown", "expected"),
    [
        (0.30, 0.10, -0.20, Regime.DEFENSIVE),
        (0.20, 0.60, -0.10, Regime.DEFENSIVE),
        (0.20, 0.45, -0.10, Regime.BALANCED),
        (0.20, 0.15, -0.10, Regime.DIVERSIFIED),
        (0.12, 0.30, -0.02, Regime.OPPORTUNISTIC),
        (0.12, 0.30, -0.08, Regime.BALANCED),
        (0.16, 0.30, -0.02, Regime.BALANCED),
        (math.nan, math.nan, math.nan, Regime.BALANCED),
    ],
)
def test_regime_thresholds(vol: float, corr: float, drawdown: float, expected: Regime) -> None:
    assert classify_regime(vol, corr, drawdown) is expected


def _factor_history(common: float, noise: float, drift: float, n_symbols: int = 8, days: int = 120) -> dict:
    rng = np.random.default_rng(7)
    market = rng.normal(0, common, days)
    closes = {}
    for index in range(n_symbols):
        returns = drift + market + rng.normal(0, noise, days)
        closes[f"S{index}"] = list(100 * np.cumprod(1 + returns))
    return closes


def test_crowded_stress_is_defensive() -> None:
    result = compute_indicators(history(_factor_history(common=0.02, noise=0.005, drift=-0.002)))

    assert result.regime is Regime.DEFENSIVE
    assert result.regime_inputs["median_vol20"] > 0.25
    assert set(result.regime_inputs) == {"median_vol20", "avg_corr60", "median_drawdown_252"}


def test_independent_assets_are_diversified() -> None:
    result = compute_indicators(history(_factor_history(common=0.0, noise=0.008, drift=0.0)))

    assert result.regime is Regime.DIVERSIFIED
    assert abs(result.regime_inputs["avg_corr60"]) < 0.2


def test_calm_market_near_highs_is_opportunistic() -> None:
    result = compute_indicators(history(_factor_history(common=0.004, noise=0.003, drift=0.002)))

    assert result.regime is Regime.OPPORTUNISTIC


def test_empty_history_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no rows"):
        compute_indicators(history({"A": []}))


def test_arrays_hold_the_numbers_of_the_frames() -> None:
    result = compute_indicators(history({"A": [float(v) for v in range(1, 80)], "B": [5.0] * 79,
                                         "C": [float(80 - v) for v in range(79)]}))
    arrays = result.arrays

    assert list(arrays.symbols) == ["A", "B", "C"] and arrays.rows == {"A": 0, "B": 1, "C": 2}
    np.testing.assert_array_equal(arrays.values, result.table[list(NUMERIC_COLUMNS)].to_numpy(dtype=float))
    np.testing.assert_array_equal(arrays.column("sma20"), result.table["sma20"].to_numpy())
    assert arrays.price_dates == list(result.table["price_date"])
    np.testing.assert_array_equal(arrays.correlations.full(), result.correlations.to_numpy())
    np.testing.assert_array_equal(arrays.returns, result.returns.to_numpy())


def test_frames_built_from_arrays_are_the_live_frames() -> None:
    live = compute_indicators(history({"A": [float(v) for v in range(1, 80)], "B": [5.0 + v % 3 for v in range(79)]}))
    rebuilt = IndicatorSet.of_arrays(live.as_of, live.arrays, live.regime, live.regime_inputs)

    pd.testing.assert_frame_equal(rebuilt.table, live.table)
    pd.testing.assert_frame_equal(rebuilt.correlations, live.correlations)
    pd.testing.assert_frame_equal(rebuilt.returns, live.returns)
    assert rebuilt.table is rebuilt.table  # built once, then kept


@pytest.mark.parametrize("symbols", [12, correlations.WHOLE_UP_TO + 16])  # one product; rows one by one
def test_a_replay_day_builds_no_data_frame(monkeypatch: pytest.MonkeyPatch, symbols: int) -> None:
    data = SyntheticMarketData(seed=3).history(synthetic_universe(symbols).instruments, date(2024, 12, 31), 300)
    panels = indicator_panels(data)
    indicators_at(panels, 250)  # computes the panels themselves (pandas, once per replay)

    def no_frame(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pandas DataFrame was built for one replay day")

    with monkeypatch.context() as patched:
        patched.setattr(pd, "DataFrame", no_frame)
        day = indicators_at(panels, 280)
        arrays = day.arrays

    live = compute_indicators(replace(data, close=data.close.iloc[:281], volume=data.volume.iloc[:281]))
    assert day.as_of == live.as_of and list(day.table.columns) == list(INDICATOR_COLUMNS)
    np.testing.assert_allclose(arrays.column("vol60"), live.table["vol60"].to_numpy(), rtol=1e-9)
    assert arrays.correlations[3].tobytes() == live.correlations.to_numpy()[3].tobytes()  # a row read alone
    np.testing.assert_array_equal(arrays.correlations.full(), live.correlations.to_numpy())
    assert day.regime_inputs["avg_corr60"] == live.regime_inputs["avg_corr60"]


def _with_constant_columns(window: np.ndarray, layout: str, flat: list[int]) -> np.ndarray:
    for column in flat:
        if column < window.shape[1]:
            window[:, column] = 0.01  # a constant column: NaN correlations
    if layout == "F":
        return np.asfortranarray(window)
    if layout == "strided":
        return np.ascontiguousarray(np.repeat(window.T, 2, axis=1))[:, ::2].T  # as a replay's day window
    return window


# Daily returns: zero, or at least 1e-12 in size (a variance of 1e-250² underflows; see below).
windows = hnp.arrays(np.float64, st.tuples(st.integers(2, 70), st.integers(1, 8)), elements=st.one_of(
    st.just(0.0), st.floats(1e-12, 0.2), st.floats(-0.2, -1e-12)))


@given(windows, st.sampled_from(["C", "F", "strided"]), st.lists(st.integers(0, 7), max_size=3),
       st.randoms(use_true_random=False), st.sampled_from([0, correlations.WHOLE_UP_TO]))
@example(np.array([[0.0, -0.19999999999999998], *[[-0.2, -0.2]] * 7]), "C", [], random.Random(0), 0)  # found once
def test_correlation_rows_are_numpys_corrcoef(window: np.ndarray, layout: str, flat: list[int],
                                              order: random.Random, whole_up_to: int) -> None:
    # whole_up_to 0: every row computed alone, as on a 498-symbol day; else one product for all.
    window = _with_constant_columns(window, layout, flat)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.atleast_2d(np.corrcoef(window, rowvar=False))
    constant = np.ptp(window, axis=0) == 0  # corrcoef may see rounding noise there: we say NaN
    expected[constant, :] = expected[:, constant] = np.nan
    np.fill_diagonal(expected, 1.0)
    with mock.patch.object(correlations, "WHOLE_UP_TO", whole_up_to):
        whole = CorrelationRows(window).full()
        rows = CorrelationRows(np.array(window))
        alone = {i: rows[i] for i in order.sample(range(window.shape[1]), window.shape[1])}

    # Centring leaves a few ulps of a column's size in each value; against the column's spread that is
    # error every float algorithm (numpy's too) carries into its correlations. The comparison allows it:
    # about nothing for an ordinary column, everything for one whose values differ only by rounding
    # (0.2 and 0.19999999999999998: numpy says 0.35, the exact answer is 1).
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        noise = np.nan_to_num(16 * np.finfo(float).eps * np.abs(window).max(axis=0) / window.std(axis=0),
                              nan=np.inf)  # an all-zero column: constant, NaN off the diagonal anyway
        allowed = 1e-14 + 1e-12 * np.abs(expected) + np.add.outer(noise, noise)
    assert np.array_equal(np.isnan(whole), np.isnan(expected))  # NaN where corrcoef has NaN
    known = ~np.isnan(expected)
    assert (np.abs(whole - expected) <= allowed)[known].all(), (whole, expected)
    # A row read alone, in any order, is the whole matrix's row to the last bit (live frame = replay row).
    assert all(alone[i].tobytes() == whole[i].tobytes() for i in alone)
    assert all(rows[i, j] == whole[i, j] or math.isnan(whole[i, j]) for i in alone for j in alone)


@given(windows, st.sampled_from(["C", "F", "strided"]), st.lists(st.integers(0, 7), max_size=3))
def test_average_correlation_is_the_mean_of_the_finite_pairs(window: np.ndarray, layout: str,
                                                             flat: list[int]) -> None:
    window = _with_constant_columns(window, layout, flat)
    rows = CorrelationRows(window)
    whole = rows.full()
    off_diagonal = ~np.eye(len(whole), dtype=bool) & np.isfinite(whole)

    if off_diagonal.any():
        assert rows.average() == pytest.approx(float(whole[off_diagonal].mean()), rel=1e-9, abs=1e-12)
    else:
        assert math.isnan(rows.average())


def test_average_correlation_without_a_window_or_pairs_is_unknown() -> None:
    assert math.isnan(CorrelationRows(np.ones((1, 3))).average())  # one day: no correlation at all
    assert math.isnan(CorrelationRows(np.zeros((60, 0))).average())
    assert math.isnan(CorrelationRows(np.arange(60.0)[:, None]).average())  # one symbol: no pair
    assert CorrelationRows(np.zeros((0, 2))).full().shape == (2, 2)


def test_a_column_whose_variance_underflows_is_constant() -> None:
    rows = CorrelationRows(np.array([[0.125, 2.8404662041180094e-250], [0.0, 0.0]]))  # found by hypothesis

    assert math.isnan(rows[0, 1]) and math.isnan(rows.average())  # not ±1 from dividing by 0


@given(hnp.arrays(np.float64, st.integers(0, 40), elements=st.one_of(st.floats(-1, 1), st.just(math.nan))),
       hnp.arrays(np.float64, st.integers(0, 40), elements=st.one_of(st.floats(-1, 0), st.just(math.nan))))
def test_regime_inputs_are_numpys_nan_statistics(vol20: np.ndarray, drawdown: np.ndarray) -> None:
    correlations = CorrelationRows(np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]]))  # correlated 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        expected = (np.nanmedian(vol20), np.nanmedian(drawdown))

    inputs = regime_inputs(vol20, correlations, drawdown)

    assert [inputs["median_vol20"].hex(), inputs["median_drawdown_252"].hex()] == [float(e).hex() for e in expected]
    assert inputs["avg_corr60"] == 0.5


def test_the_risk_volatility_is_vol60_else_vol20_else_unknown() -> None:
    # One definition for the risk engine's market facts and the baselines' volatility cap.
    nan = float("nan")
    assert risk_volatility(0.3, 0.5) == 0.3
    assert risk_volatility(nan, 0.5) == 0.5 and risk_volatility(0.0, 0.5) == 0.5
    assert risk_volatility(nan, nan) is None and risk_volatility(0.0, 0.0) == 0.0


def test_row_dates_read_like_the_list_they_stand_for() -> None:
    """A replay day's price dates (``RowDates``) answer indexing, negatives, slices and iteration as a list."""
    days = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]
    rows = np.array([2, -1, 0, 1])
    expected = [days[2], None, days[0], days[1]]
    dates = RowDates(days, rows)
    assert len(dates) == 4
    assert list(dates) == expected
    assert [dates[i] for i in range(-4, 4)] == expected + expected
    assert dates[1:3] == expected[1:3] and dates[::-2] == expected[::-2]
    with pytest.raises(IndexError):
        dates[4]
