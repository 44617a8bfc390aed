"""The seeded synthetic market: determinism, path extension, regimes, FX and realistic levels."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from agent.market.base import MarketDataError
from agent.market.synthetic import SyntheticMarketData
from agent.universe import load_universe

SEED = load_universe("seed")
US = load_universe("us")


def test_same_seed_gives_identical_frames() -> None:
    first = SyntheticMarketData(seed=3).history(SEED.instruments, date(2024, 6, 28), 250)
    second = SyntheticMarketData(seed=3).history(SEED.instruments, date(2024, 6, 28), 250)

    pd.testing.assert_frame_equal(first.close, second.close)
    pd.testing.assert_frame_equal(first.volume, second.volume)
    pd.testing.assert_series_equal(first.fx["USD"], second.fx["USD"])


def test_a_later_end_extends_the_same_path() -> None:
    early = SyntheticMarketData(seed=3).history(SEED.instruments, date(2023, 3, 1), 120)
    late = SyntheticMarketData(seed=3).history(SEED.instruments, date(2025, 9, 30), 900)

    assert early.close.index[-1] in late.close.index
    pd.testing.assert_frame_equal(early.close, late.close.loc[early.close.index])
    pd.testing.assert_frame_equal(early.volume, late.volume.loc[early.close.index])
    pd.testing.assert_series_equal(early.fx["USD"], late.fx["USD"].loc[early.close.index])


def test_values_do_not_depend_on_the_other_instruments() -> None:
    market = SyntheticMarketData(seed=3)
    full = market.history(SEED.instruments, date(2024, 6, 28), 100)
    alone = market.history([SEED.by_symbol["MC.PA"]], date(2024, 6, 28), 100)

    pd.testing.assert_series_equal(full.close["MC.PA"], alone.close["MC.PA"])


def test_a_different_seed_gives_different_prices() -> None:
    one = SyntheticMarketData(seed=1).history(SEED.instruments, date(2024, 6, 28), 50)
    two = SyntheticMarketData(seed=2).history(SEED.instruments, date(2024, 6, 28), 50)

    assert not np.allclose(one.close.to_numpy(), two.close.to_numpy())


def test_business_days_and_weekend_end() -> None:
    history = SyntheticMarketData().history(SEED.instruments, date(2024, 6, 30), 300)  # a Sunday

    assert history.as_of == date(2024, 6, 28)
    assert len(history.close) == 300
    assert (history.close.index.day_of_week < 5).all()
    assert list(history.close.columns) == list(SEED.symbols)
    assert history.synthetic is True
    assert history.close.notna().all().all()


def test_labelled_synthetic_with_symbols_not_data_symbols() -> None:
    market = SyntheticMarketData(seed=9)
    history = market.history(SEED.instruments, date(2024, 6, 28), 10)

    assert market.name == "synthetic" and market.synthetic
    assert "CAC.PA" in history.close.columns and "^FCHI" not in history.close.columns
    assert "seed=9" in history.source
    assert history.currencies["SPY"] == "USD"


def test_end_before_start_is_an_error() -> None:
    with pytest.raises(MarketDataError, match="starts on 2019-01-01"):
        SyntheticMarketData().history(SEED.instruments, date(2018, 12, 31), 10)


def test_stressed_regime_occurs_and_persists() -> None:
    stressed = SyntheticMarketData(seed=42).regime(date(2030, 12, 31))
    starts = (stressed & ~stressed.shift(1, fill_value=False)).sum()

    assert 0.03 < stressed.mean() < 0.35
    assert starts >= 3
    assert stressed.sum() / starts >= 8  # episodes last weeks, not days


def test_stress_raises_volatility_and_correlation() -> None:
    market = SyntheticMarketData(seed=42)
    history = market.history(SEED.instruments, date(2030, 12, 31), 10_000)
    stressed = market.regime(date(2030, 12, 31)).reindex(history.close.index)
    returns = np.log(history.close).diff().iloc[1:]
    calm, stress = returns[~stressed.iloc[1:]], returns[stressed.iloc[1:]]

    assert stress["SPY"].std() > 2 * calm["SPY"].std()
    assert stress.corr().to_numpy().mean() > calm.corr().to_numpy().mean() + 0.1
    assert stress["SPY"].mean() < 0 < calm["SPY"].mean()


@pytest.mark.parametrize("seed", [1, 2, 3, 42])
def test_eurusd_stays_plausible(seed: int) -> None:
    history = SyntheticMarketData(seed=seed).history(SEED.instruments, date(2026, 12, 31), 10_000)
    eurusd = 1 / history.fx["USD"]
    vol = np.log(eurusd).diff().std() * np.sqrt(252)

    assert 0.95 < eurusd.min() and eurusd.max() < 1.35
    assert 0.05 < vol < 0.09


def test_usd_base_gets_eurusd_for_eur() -> None:
    eur_base = SyntheticMarketData(seed=5, base_currency="EUR").history(SEED.instruments, date(2024, 6, 28), 30)
    usd_base = SyntheticMarketData(seed=5, base_currency="USD").history(SEED.instruments, date(2024, 6, 28), 30)

    assert usd_base.base_currency == "USD" and "EUR" in usd_base.fx and "USD" not in usd_base.fx
    np.testing.assert_allclose((eur_base.fx["USD"] * usd_base.fx["EUR"]).to_numpy(), 1.0)


def test_base_currency_is_inferred_from_a_single_currency_universe() -> None:
    history = SyntheticMarketData().history(US.instruments, date(2024, 6, 28), 30)

    assert history.base_currency == "USD"
    assert history.fx == {}


@pytest.mark.parametrize(
    ("symbol", "low", "high"),
    [("TLT", 0.08, 0.17), ("SPY", 0.11, 0.22), ("IWM", 0.16, 0.29), ("MC.PA", 0.18, 0.33), ("USO", 0.30, 0.52),
     ("GLD", 0.14, 0.27)],
)
def test_long_run_volatility_by_asset_class(symbol: str, low: float, high: float) -> None:
    history = SyntheticMarketData(seed=11).history(SEED.instruments, date(2030, 12, 31), 10_000)
    vol = np.log(history.close[symbol]).diff().std() * np.sqrt(252)

    assert low < vol < high


def test_prices_and_traded_values_are_realistic() -> None:
    history = SyntheticMarketData(seed=11).history(SEED.instruments, date(2024, 12, 31), 500)
    traded = (history.close * history.volume).median()

    assert ((history.close.iloc[0] > 10) & (history.close.iloc[0] < 1000)).all()
    assert traded["SPY"] > 1e8
    assert 5e6 < traded["MC.PA"] < 1e9
    assert (history.volume > 0).all().all()
