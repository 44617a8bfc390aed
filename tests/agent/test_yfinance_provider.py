"""The yfinance provider on recorded frames laid out like ``yfinance.download`` (never the network)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agent.market import YFinanceMarketData
from agent.market.base import MarketDataError
from agent.market.yfinance_provider import frame_to_history
from broker.models import AssetClass
from tests.agent.factories import instrument

SPY = instrument("SPY", currency="USD", asset_class=AssetClass.US_EQUITY)
MC = instrument("MC.PA")
CAC = instrument("CAC.PA", data_symbol="^FCHI", price_scale="0.01")
FIELDS = ["Adj Close", "Close", "High", "Low", "Open", "Volume"]
DAYS = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], name="Date")


def recorded_frame(prices: dict[str, list[float]], *, ticker_first: bool = False) -> pd.DataFrame:
    """What ``yfinance.download(..., auto_adjust=False, group_by="column")`` returns: (Price, Ticker) columns."""
    tickers = sorted(prices)
    columns = pd.MultiIndex.from_product([FIELDS, tickers], names=["Price", "Ticker"])
    frame = pd.DataFrame(index=DAYS, columns=columns, dtype=float)
    for ticker, closes in prices.items():
        close = np.array(closes, dtype=float)
        frame[("Close", ticker)] = close
        frame[("Adj Close", ticker)] = close * 0.98
        frame[("Open", ticker)] = frame[("High", ticker)] = frame[("Low", ticker)] = close
        frame[("Volume", ticker)] = 0.0 if ticker.endswith("=X") else 1_000_000.0
    if ticker_first:
        frame = frame.swaplevel(0, 1, axis=1).sort_index(axis=1)
        frame.columns.names = ["Ticker", "Price"]
    return frame


PRICES = {
    "SPY": [470.0, 467.0, np.nan, 469.0],
    "MC.PA": [701.0, np.nan, 708.0, 710.0],
    "^FCHI": [7500.0, 7510.0, 7520.0, 7530.0],
    "EURUSD=X": [1.10, 1.09, np.nan, np.nan],
}


def test_frame_to_history_prefers_adj_close_and_applies_price_scale() -> None:
    history = frame_to_history(recorded_frame(PRICES), [SPY, MC, CAC], "EUR")

    assert list(history.close.columns) == ["SPY", "MC.PA", "CAC.PA"]
    assert history.close["SPY"].iloc[0] == pytest.approx(470.0 * 0.98)
    assert history.close["CAC.PA"].iloc[0] == pytest.approx(75.0 * 0.98)
    assert np.isnan(history.close["SPY"].iloc[2])  # a US holiday stays NaN
    assert history.volume["SPY"].iloc[0] == 1_000_000.0
    assert history.currencies == {"SPY": "USD", "MC.PA": "EUR", "CAC.PA": "EUR"}


def test_fx_comes_from_eurusd_inverted_for_a_eur_base() -> None:
    history = frame_to_history(recorded_frame(PRICES), [SPY, MC], "EUR")

    assert history.fx["USD"].iloc[0] == pytest.approx(1 / (1.10 * 0.98))


def test_ticker_first_layout_is_understood() -> None:
    history = frame_to_history(recorded_frame(PRICES, ticker_first=True), [SPY, MC], "EUR")

    assert history.close["MC.PA"].iloc[0] == pytest.approx(701.0 * 0.98)


def test_close_is_used_when_adj_close_is_missing() -> None:
    frame = recorded_frame(PRICES).drop(columns="Adj Close", level=0)

    history = frame_to_history(frame, [MC], "EUR")

    assert history.close["MC.PA"].iloc[0] == 701.0


@pytest.mark.parametrize(
    "prices",
    [{**PRICES, "MC.PA": [np.nan] * 4}, {k: v for k, v in PRICES.items() if k != "MC.PA"}],
    ids=["all-nan", "absent"],
)
def test_empty_symbol_is_an_error_naming_it(prices: dict[str, list[float]]) -> None:
    with pytest.raises(MarketDataError, match=r"no data for MC\.PA \(ticker MC\.PA\)"):
        frame_to_history(recorded_frame(prices), [SPY, MC], "EUR")


def test_empty_download_names_every_symbol() -> None:
    with pytest.raises(MarketDataError, match=r"SPY \(ticker SPY\).*FX USD->EUR \(ticker EURUSD=X\)"):
        frame_to_history(pd.DataFrame(), [SPY, MC], "EUR")


class RecordedDownload:
    """A fake ``download`` that remembers its arguments and returns a recorded frame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.calls: list[tuple[list[str], date, date]] = []

    def __call__(self, tickers: list[str], start: date, end: date) -> pd.DataFrame:
        self.calls.append((tickers, start, end))
        return self.frame


def test_history_asks_for_data_symbols_and_fx_with_an_exclusive_end() -> None:
    download = RecordedDownload(recorded_frame(PRICES))
    market = YFinanceMarketData(download=download, base_currency="EUR")

    history = market.history([SPY, MC, CAC], date(2024, 1, 4), 2)

    tickers, start, end = download.calls[0]
    assert tickers == ["EURUSD=X", "MC.PA", "SPY", "^FCHI"]
    assert end == date(2024, 1, 5) and start < date(2024, 1, 1)
    assert [d.day for d in history.close.index] == [3, 4]
    assert history.fx["USD"].loc["2024-01-04"] == pytest.approx(1 / (1.09 * 0.98))  # forward-filled
    assert history.source == "yfinance" and not history.synthetic


def test_download_failure_becomes_a_market_data_error() -> None:
    def broken(tickers: list[str], start: date, end: date) -> pd.DataFrame:
        raise ConnectionError("network unreachable")

    with pytest.raises(MarketDataError, match=r"yfinance download failed.*network unreachable"):
        YFinanceMarketData(download=broken).history([SPY], date(2024, 1, 5), 10)


def test_importing_the_provider_does_not_import_yfinance() -> None:
    code = ("import sys, agent.market, agent.market.yfinance_provider; "
            "sys.exit(1 if 'yfinance' in sys.modules else 0)")
    root = Path(__file__).resolve().parents[2]

    result = subprocess.run([sys.executable, "-c", code], cwd=root, check=False)

    assert result.returncode == 0
