"""Which instruments a backtest keeps: those with a price in the period, however the data is loaded.

``restrict_universe`` loads every instrument at once; an instrument whose file is missing is an
error, unless ``skip_missing`` (then one load each finds which); both ways keep the same instruments.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from agent.market import make_market_data
from agent.policies.baselines import EqualWeightPolicy
from agent.universe import Universe
from bot.backtest.run import BacktestError, BacktestRequest, restrict_universe
from broker.models import AssetClass, Instrument
from broker.simulated import SimConfig
from risk.limits import RiskLimits

START, END = date(2024, 3, 1), date(2024, 3, 29)


def _instrument(symbol: str) -> Instrument:
    return Instrument(symbol=symbol, asset_class=AssetClass.US_EQUITY, sector="broad", currency="USD",
                      exchange="TEST")


def _write(directory: Path, symbol: str, first: str, last: str) -> None:
    days = pd.bdate_range(first, last)
    frame = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": range(10, 10 + len(days)),
                          "volume": 1000})
    frame.to_csv(directory / f"{symbol}.csv", index=False)


def _request(directory: Path, symbols: list[str], skip_missing: bool = False) -> BacktestRequest:
    universe = Universe(base_currency="USD", instruments=tuple(_instrument(s) for s in symbols), name="test")
    return BacktestRequest(start=START, end=END, policy=EqualWeightPolicy(), universe=universe,
                           provider=make_market_data(f"csv:{directory}", base_currency="USD"),
                           limits=RiskLimits(), sim=SimConfig(initial_cash=Decimal(1000), base_currency="USD"),
                           skip_missing=skip_missing)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    _write(tmp_path, "IN", "2024-01-02", "2024-04-30")
    _write(tmp_path, "BEFORE", "2023-01-02", "2024-02-28")  # priced, but not in the period
    _write(tmp_path, "LATE", "2024-03-15", "2024-04-30")
    return tmp_path


def test_one_load_keeps_the_instruments_priced_in_the_period(data: Path) -> None:
    kept = restrict_universe(_request(data, ["IN", "BEFORE", "LATE"]))
    assert kept.symbols == ("IN", "LATE")


def test_an_instrument_without_any_file_is_dropped_only_with_skip_missing(data: Path) -> None:
    with pytest.raises(BacktestError, match=r"NOFILE\.csv not found .*--skip-missing"):
        restrict_universe(_request(data, ["IN", "NOFILE", "BEFORE", "LATE"]))
    kept = restrict_universe(_request(data, ["IN", "NOFILE", "BEFORE", "LATE"], skip_missing=True))
    assert kept.symbols == ("IN", "LATE")


def test_no_instrument_priced_in_the_period_is_a_one_line_error(data: Path) -> None:
    with pytest.raises(BacktestError, match="no price data between 2024-03-01 and 2024-03-29") as caught:
        restrict_universe(_request(data, ["BEFORE", "NOFILE"], skip_missing=True))
    assert "\n" not in str(caught.value)
