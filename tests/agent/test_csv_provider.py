"""The csv:DIR provider: price choice, calendars, FX forward-fill, errors naming symbol, file and line."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from agent.market import CsvMarketData, make_market_data
from agent.market.base import MarketDataError
from broker.models import AssetClass
from tests.agent.factories import instrument

HEADER = "date,open,high,low,close,adj_close,volume"
SPY = instrument("SPY", currency="USD", asset_class=AssetClass.US_EQUITY)
FEZ = instrument("FEZ", currency="USD", asset_class=AssetClass.INTL_EQUITY)
MC = instrument("MC.PA")
CAC = instrument("CAC.PA", data_symbol="^FCHI", price_scale="0.01")


def write(directory: Path, name: str, *rows: str, header: str = HEADER) -> Path:
    path = directory / f"{name}.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Two US days, a Paris holiday on 2024-01-03 for the US, EURUSD ending early."""
    write(tmp_path, "SPY",
          "2024-01-02,470,472,468,471.0,465.0,80000000",
          "2024-01-03,469,470,466,467.0,461.0,90000000",
          "2024-01-05,468,470,466,469.0,463.0,85000000")
    write(tmp_path, "FEZ", "2024-01-02,,,,48.5,48.5,", "2024-01-03,,,,48.0,48.0,", "2024-01-05,,,,48.2,48.2,")
    write(tmp_path, "MC.PA",
          "2024-01-02,700,705,695,701.0,701.0,500000",
          "2024-01-04,702,710,700,708.0,708.0,0",
          "2024-01-05,708,712,704,710.0,710.0,450000")
    write(tmp_path, "^FCHI", "2024-01-02,7500,7550,7450,7520.0,7520.0,0", "2024-01-05,7500,7560,7480,7550.0,,0")
    write(tmp_path, "EURUSD=X", "2024-01-02,,,,1.10,1.10,", "2024-01-03,,,,1.09,1.09,")
    return tmp_path


def test_full_ohlcv_file_prefers_adj_close(data_dir: Path) -> None:
    history = CsvMarketData(data_dir).history([SPY], date(2024, 1, 31), 100)

    assert history.close["SPY"].tolist() == [465.0, 461.0, 463.0]
    assert history.volume["SPY"].tolist() == [80e6, 90e6, 85e6]
    assert history.synthetic is False


def test_opens_are_adjusted_like_the_closes_and_absent_without_an_open_column(data_dir: Path) -> None:
    history = CsvMarketData(data_dir).history([SPY, CAC], date(2024, 1, 31), 100)
    assert history.open is not None
    spy = history.open["SPY"].dropna().round(6).tolist()
    assert spy == [round(470 * 465 / 471, 6), round(469 * 461 / 467, 6), round(468 * 463 / 469, 6)]
    assert history.open["CAC.PA"].dropna().tolist() == [75.0, 75.0]  # price_scale applies to opens too
    assert CsvMarketData(data_dir).history([FEZ], date(2024, 1, 31), 100).open is None


def test_close_only_file_has_unknown_volume(data_dir: Path) -> None:
    history = CsvMarketData(data_dir).history([FEZ], date(2024, 1, 31), 100)

    assert history.close["FEZ"].tolist() == [48.5, 48.0, 48.2]
    assert history.volume["FEZ"].isna().all()


def test_file_without_adj_close_column_uses_close(tmp_path: Path) -> None:
    write(tmp_path, "MC.PA", "2024-01-02,701.5", "2024-01-03,702.5", header="Date,Close")

    history = CsvMarketData(tmp_path).history([MC], date(2024, 1, 31), 100)

    assert history.close["MC.PA"].tolist() == [701.5, 702.5]
    assert history.volume["MC.PA"].isna().all()


def test_data_symbol_and_price_scale_with_empty_adj_close_falling_back_to_close(data_dir: Path) -> None:
    history = CsvMarketData(data_dir).history([CAC], date(2024, 1, 31), 100)

    assert list(history.close.columns) == ["CAC.PA"]
    assert history.close["CAC.PA"].tolist() == pytest.approx([75.2, 75.5])


def test_exchanges_are_outer_joined_without_filling_holidays(data_dir: Path) -> None:
    history = CsvMarketData(data_dir).history([SPY, MC], date(2024, 1, 31), 100)

    assert [d.day for d in history.close.index] == [2, 3, 4, 5]
    assert math.isnan(history.close.loc["2024-01-03", "MC.PA"])
    assert math.isnan(history.close.loc["2024-01-04", "SPY"])
    assert history.volume.loc["2024-01-04", "MC.PA"] == 0  # kept as given; indicators treat it as unknown


def test_fx_is_inverted_for_a_eur_base_and_forward_filled(data_dir: Path) -> None:
    history = CsvMarketData(data_dir, base_currency="EUR").history([SPY, MC], date(2024, 1, 31), 100)
    usd = history.fx["USD"]

    assert history.base_currency == "EUR" and history.currencies == {"SPY": "USD", "MC.PA": "EUR"}
    assert usd.loc["2024-01-02"] == pytest.approx(1 / 1.10)
    assert usd.loc["2024-01-05"] == pytest.approx(1 / 1.09)  # forward-filled past the FX file's end
    assert usd.attrs["last_observed"] == date(2024, 1, 3)
    assert list(usd.index) == list(history.close.index)


def test_usd_base_uses_eurusd_as_is(data_dir: Path) -> None:
    history = CsvMarketData(data_dir, base_currency="USD").history([SPY, MC], date(2024, 1, 31), 100)

    assert history.fx["EUR"].loc["2024-01-02"] == pytest.approx(1.10)
    assert "USD" not in history.fx


def test_no_fx_needed_for_a_single_currency_request(tmp_path: Path) -> None:
    write(tmp_path, "MC.PA", "2024-01-02,,,,701,701,1")

    history = CsvMarketData(tmp_path).history([MC], date(2024, 1, 31), 10)

    assert history.fx == {}


def test_end_and_lookback_trim_the_union_of_dates(data_dir: Path) -> None:
    history = CsvMarketData(data_dir).history([SPY, MC], date(2024, 1, 4), 2)

    assert [d.day for d in history.close.index] == [3, 4]
    assert history.as_of == date(2024, 1, 4)


def test_missing_file_names_the_symbol_and_path(data_dir: Path) -> None:
    qqq = instrument("QQQ", currency="USD")

    with pytest.raises(MarketDataError) as caught:
        CsvMarketData(data_dir).history([SPY, qqq], date(2024, 1, 31), 10)

    assert str(caught.value) == f"no data for QQQ: file {data_dir / 'QQQ.csv'} not found"


def test_missing_fx_file_is_an_error(data_dir: Path) -> None:
    (data_dir / "EURUSD=X.csv").unlink()

    with pytest.raises(MarketDataError, match=r"FX USD->EUR: file .*EURUSD=X\.csv not found"):
        CsvMarketData(data_dir).history([SPY, MC], date(2024, 1, 31), 10)


def test_symbol_without_rows_before_end_is_an_error(data_dir: Path) -> None:
    with pytest.raises(MarketDataError, match=r"no data for MC\.PA on or before 2024-01-01"):
        CsvMarketData(data_dir).history([MC], date(2024, 1, 1), 10)


@pytest.mark.parametrize(
    ("rows", "line", "reason"),
    [
        (["2024-01-02,1,1,1,10,10,5", "2024-01-03,1,1,1,11,11,5", "03/01/2024,1,1,1,12,12,5"], 4,
         "unparseable date '03/01/2024'"),
        (["2024-01-02,1,1,1,10,10,5", "2024-01-03,1,1,1,abc,11,5"], 3, "unparseable number 'abc' in close"),
        (["2024-01-02,1,1,1,10,10,5", "2024-01-03,1,1,1,11,-11,5"], 3, "non-positive adj_close '-11'"),
        (["2024-01-02,1,1,1,0,,5"], 2, "non-positive close '0'"),
        (["2024-01-02,1,1,1,10,10,5", "2024-01-02,1,1,1,11,11,5"], 3, "is not after the previous row's date"),
        (["2024-01-03,1,1,1,10,10,5", "2024-01-02,1,1,1,11,11,5"], 3, "is not after the previous row's date"),
        (["2024-01-02,1,1,1,10,10,-5"], 2, "negative volume '-5'"),
        (["2024-01-02,1,1,1,10,10,5", "", "2024-01-04,1,1,1,1e,11,5"], 4, "unparseable number '1e'"),
    ],
    ids=["date", "number", "negative-price", "zero-price", "duplicate", "descending", "volume", "after-blank"],
)
def test_corrupt_file_names_symbol_file_and_first_bad_line(
    tmp_path: Path, rows: list[str], line: int, reason: str
) -> None:
    path = write(tmp_path, "MC.PA", *rows)

    with pytest.raises(MarketDataError) as caught:
        CsvMarketData(tmp_path).history([MC], date(2024, 1, 31), 10)

    assert str(caught.value).startswith(f"MC.PA: {path} line {line}: ")
    assert reason in str(caught.value)


def test_missing_close_column_is_reported_on_the_header_line(tmp_path: Path) -> None:
    path = write(tmp_path, "MC.PA", "2024-01-02,10", header="date,price")

    with pytest.raises(MarketDataError, match=rf"MC\.PA: {path} line 1: missing column\(s\) close"):
        CsvMarketData(tmp_path).history([MC], date(2024, 1, 31), 10)


def test_the_first_bad_row_wins_across_columns(tmp_path: Path) -> None:
    write(tmp_path, "MC.PA", "2024-01-02,1,1,1,10,10,x", "2024-01-0X,1,1,1,10,10,5")

    with pytest.raises(MarketDataError, match="line 2: unparseable number 'x' in volume"):
        CsvMarketData(tmp_path).history([MC], date(2024, 1, 31), 10)


def test_changed_file_is_read_again(tmp_path: Path) -> None:
    market = CsvMarketData(tmp_path)
    write(tmp_path, "MC.PA", "2024-01-02,,,,701,701,1")
    assert market.history([MC], date(2024, 1, 31), 10).close["MC.PA"].tolist() == [701.0]

    write(tmp_path, "MC.PA", "2024-01-02,,,,701,701,1", "2024-01-03,,,,702.5,702.5,1")

    assert market.history([MC], date(2024, 1, 31), 10).close["MC.PA"].tolist() == [701.0, 702.5]


def test_factory_builds_csv_provider_named_after_the_directory(data_dir: Path) -> None:
    market = make_market_data(f"csv:{data_dir}")

    assert isinstance(market, CsvMarketData)
    assert market.name == f"csv:{data_dir}"
    assert market.synthetic is False


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bloomberg", "unknown market data 'bloomberg'; use synthetic, yfinance, alpaca or csv:DIR"),
        ("alpaca", "market data 'alpaca' needs Alpaca keys: set ALPACA_API_KEY and ALPACA_SECRET_KEY"),
        ("csv:", "needs a directory"),
        ("csv:/nonexistent/prices",
         "directory /nonexistent/prices not found; use synthetic, yfinance, alpaca or csv:DIR"),
    ],
)
def test_factory_rejects_bad_specs_listing_the_choices(spec: str, message: str) -> None:
    with pytest.raises(MarketDataError) as caught:
        make_market_data(spec)

    assert message in str(caught.value)


def test_factory_builds_synthetic_and_yfinance() -> None:
    synthetic = make_market_data("synthetic", seed=5)
    yahoo = make_market_data("yfinance")

    assert (synthetic.name, synthetic.synthetic) == ("synthetic", True)
    assert (yahoo.name, yahoo.synthetic) == ("yfinance", False)


def test_index_is_dates_without_time(data_dir: Path) -> None:
    history = CsvMarketData(data_dir).history([SPY], date(2024, 1, 31), 10)

    assert isinstance(history.close.index, pd.DatetimeIndex)
    assert (history.close.index == history.close.index.normalize()).all()
