"""Input files cannot smuggle in what the desk would choke on or should never read: a CSV close of
``inf`` is refused with the symbol and the line, and a universe symbol or ``data_symbol`` that is a
path (``../outside/x``, an absolute path) is refused before any file outside the data directory is
opened; valid names (``^FCHI``, ``EURUSD=X``, ``BRK-B``, ``MC.PA``) still pass.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.market import CsvMarketData
from agent.market.base import MarketDataError
from agent.universe import UniverseError, is_symbol, load_universe, parse_universe
from bot.cli.app import app
from broker.models import AssetClass
from tests.agent.factories import instrument

HEADER = "symbol,name,asset_class,sector,currency,exchange,fractional,data_symbol,price_scale"
SPY = instrument("SPY", currency="USD", asset_class=AssetClass.US_EQUITY)


def universe_text(*rows: str) -> str:
    return "\n".join(["# base_currency: EUR", HEADER, *rows]) + "\n"


@pytest.mark.parametrize(("value", "column"), [
    ("inf", "close"), ("Infinity", "close"), ("-inf", "close"), ("1e400", "close"), ("inf", "adj_close"),
    ("inf", "open"), ("inf", "volume"),
])
def test_a_non_finite_number_in_a_price_file_names_the_symbol_and_line(tmp_path: Path, value: str,
                                                                        column: str) -> None:
    row = {"date": "2024-01-03", "open": "470", "close": "471.0", "adj_close": "465.0", "volume": "100"}
    row[column] = value
    (tmp_path / "SPY.csv").write_text("date,open,close,adj_close,volume\n2024-01-02,470,471.0,465.0,100\n"
                                      + ",".join(row.values()) + "\n")
    with pytest.raises(MarketDataError) as caught:
        CsvMarketData(tmp_path).history([SPY], date(2024, 1, 31), 100)
    assert str(caught.value).startswith("SPY: ") and "line 3" in str(caught.value) and column in str(caught.value)
    assert "non-finite" in str(caught.value) or "non-positive" in str(caught.value)


@pytest.mark.parametrize("data_symbol", ["../outside/x", "ABSOLUTE/x", "sub/x", "..\\outside\\x", ".."])
def test_a_data_symbol_that_is_a_path_never_reads_outside_the_data_directory(tmp_path: Path,
                                                                             data_symbol: str) -> None:
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (outside / "x.csv").write_text("date,close\n2024-01-02,10\n")  # a valid file the provider must not reach
    (data / "sub").mkdir()
    (data / "sub" / "x.csv").write_text("date,close\n2024-01-02,10\n")
    escaping = instrument("XX.PA", data_symbol=data_symbol.replace("ABSOLUTE", str(outside)))
    with pytest.raises(MarketDataError, match="is not a symbol"):
        CsvMarketData(data).history([escaping], date(2024, 1, 31), 100)
    with pytest.raises(UniverseError, match=r"universe\.csv:3: bad data_symbol"):
        parse_universe(universe_text(f"XX.PA,X,eu_equity,x,EUR,XPAR,false,{escaping.data_symbol},1"),
                       source="universe.csv", name="u")


@pytest.mark.parametrize("symbol", ["A/B", "../X", "BAD SYMBOL", "-X", ".X", "X" * 21, "SPY;rm", "x..y", "A\\B"])
def test_a_symbol_outside_the_pattern_is_refused_with_file_and_line(symbol: str) -> None:
    with pytest.raises(UniverseError, match=r"universe\.csv:3: bad symbol"):
        parse_universe(universe_text(f'"{symbol}",X,eu_equity,x,EUR,XPAR,false,,1'), source="universe.csv", name="u")


def test_real_symbols_and_the_packaged_universes_still_pass() -> None:
    names = ["SPY", "MC.PA", "CAC.PA", "^FCHI", "EURUSD=X", "BRK-B", "BF-B", "BRK.B", "USDJPY=X", "SYN001", "X" * 20]
    assert all(is_symbol(name) for name in names)
    for spec in ("seed", "us"):
        universe = load_universe(spec)
        assert all(is_symbol(i.symbol) and is_symbol(i.data_symbol or i.symbol) for i in universe.instruments)
    parsed = parse_universe(universe_text("CAC.PA,C,eu_equity,x,EUR,XPAR,false,^FCHI,0.01",
                                          "BRK-B,B,us_equity,x,USD,NYSE,false,,1"), source="u.csv", name="u")
    assert parsed.symbols == ("CAC.PA", "BRK-B")


def test_cycle_refuses_an_infinite_close_in_one_line(isolated_env: Path, tmp_path: Path) -> None:
    data = tmp_path / "csv"
    data.mkdir()
    universe = tmp_path / "universe.csv"
    universe.write_text(universe_text("AAA.PA,A,eu_equity,industrials,EUR,XPAR,false,,1"))
    (data / "AAA.PA.csv").write_text("date,close\n2024-01-02,10\n2024-01-03,inf\n")
    result = CliRunner().invoke(app, ["cycle", "--as-of", "2024-01-03"],
                                env={"PAPERDESK_DATA": f"csv:{data}", "PAPERDESK_UNIVERSE": str(universe)})
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert result.exit_code == 1 and len(lines) == 1
    assert "AAA.PA" in lines[0] and "line 3" in lines[0] and "non-finite close 'inf'" in lines[0]
