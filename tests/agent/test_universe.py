"""Universe files: the packaged seed and US universes, user files, errors naming the line."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from agent.universe import Universe, UniverseError, load_universe, synthetic_universe
from broker.models import AssetClass

HEADER = "symbol,name,asset_class,sector,currency,exchange,fractional,data_symbol,price_scale"


def write(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "universe.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_seed_universe_has_30_instruments_in_eur() -> None:
    universe = load_universe("seed")

    assert universe.base_currency == "EUR"
    assert universe.name == "seed"
    assert len(universe.instruments) == 30
    assert len(set(universe.symbols)) == 30


def test_seed_universe_classes_currencies_and_exchanges() -> None:
    universe = load_universe("seed")
    by_symbol = universe.by_symbol
    classes = Counter(i.asset_class for i in universe.instruments)

    assert classes == {AssetClass.US_EQUITY: 2, AssetClass.INTL_EQUITY: 2, AssetClass.SMALL_CAP: 3,
                       AssetClass.BOND: 1, AssetClass.COMMODITY: 6, AssetClass.EU_EQUITY: 16}
    paris = [i for i in universe.instruments if i.symbol.endswith(".PA")]
    assert len(paris) == 16
    assert all(i.currency == "EUR" and i.exchange == "XPAR" and not i.fractional for i in paris)
    us = [i for i in universe.instruments if not i.symbol.endswith(".PA")]
    assert all(i.currency == "USD" and i.fractional and i.exchange in {"NYSE", "NASDAQ", "ARCA"} for i in us)
    assert by_symbol["SPY"].asset_class is AssetClass.US_EQUITY
    assert by_symbol["TLT"].asset_class is AssetClass.BOND
    assert by_symbol["USO"].sector == "energy"
    assert by_symbol["BNP.PA"].sector == "financials"


def test_seed_cac_proxy_is_the_index_divided_by_100() -> None:
    cac = load_universe("seed").by_symbol["CAC.PA"]

    assert cac.data_symbol == "^FCHI"
    assert cac.price_scale == Decimal("0.01")
    assert cac.currency == "EUR"
    assert cac.exchange == "XPAR"


def test_us_universe_holds_only_the_us_etfs_in_usd() -> None:
    universe = load_universe("us")
    seed = load_universe("seed")

    assert universe.base_currency == "USD"
    assert {i.currency for i in universe.instruments} == {"USD"}
    assert set(universe.symbols) == {i.symbol for i in seed.instruments if i.currency == "USD"}
    assert len(universe.instruments) == 14


def test_user_file_with_comments_quotes_and_optional_columns(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "# my universe",
        "# base_currency: USD",
        "symbol,asset_class,sector,currency,exchange,name",
        "",
        'spy,us_equity,us_large_cap,USD,ARCA,"SPDR S&P 500, ETF"',
        "# a comment between rows",
        "MC.PA,EU_EQUITY,consumer_discretionary,EUR,XPAR,LVMH",
    )
    universe = load_universe(spec)

    assert isinstance(universe, Universe)
    assert universe.base_currency == "USD"
    assert universe.symbols == ("SPY", "MC.PA")
    assert universe.by_symbol["SPY"].name == "SPDR S&P 500, ETF"
    assert universe.by_symbol["MC.PA"].fractional is False
    assert universe.by_symbol["MC.PA"].price_scale == Decimal(1)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["# base_currency: EUR", HEADER, "SPY,S,us_equity,x,USD,ARCA,true,,1", "XYZ,X,crypto,x,USD,ARCA,true,,1"],
         ["universe.csv:4", "unknown asset class 'crypto'"]),
        (["# base_currency: EUR", HEADER, "SPY,S,us_equity,x,usd$,ARCA,true,,1"],
         ["universe.csv:3", "bad currency 'usd$'"]),
        (["# base_currency: EUR", HEADER, "SPY,S,us_equity,x,USD,ARCA,true,,1", "spy,S,us_equity,x,USD,ARCA,true,,1"],
         ["universe.csv:4", "duplicate symbol SPY", "first on line 3"]),
        (["# base_currency: EUR", "symbol,name,asset_class,currency,exchange", "SPY,S,us_equity,USD,ARCA"],
         ["universe.csv:2", "missing column(s) sector"]),
        ([HEADER, "SPY,S,us_equity,x,USD,ARCA,true,,1"], ["universe.csv:1", "base_currency"]),
        (["# base_currency: EURO", HEADER], ["universe.csv:1", "bad base_currency 'EURO'"]),
        (["# base_currency: EUR", HEADER, "SPY,S,us_equity,x,USD,ARCA,maybe,,1"], ["universe.csv:3", "fractional"]),
        (["# base_currency: EUR", HEADER, "SPY,S,us_equity,x,USD,ARCA,true,,-2"], ["universe.csv:3", "price_scale"]),
        (["# base_currency: EUR", HEADER, "SPY,S,us_equity,x,USD,ARCA,true"], ["universe.csv:3", "expected 9 fields"]),
        (["# base_currency: EUR", HEADER + ",colour", "SPY,S,us_equity,x,USD,ARCA,true,,1,red"],
         ["universe.csv:2", "unknown column(s) colour"]),
        (["# base_currency: EUR", HEADER], ["no instruments"]),
    ],
    ids=["asset-class", "currency", "duplicate", "missing-column", "no-base", "bad-base", "fractional",
         "price-scale", "short-row", "unknown-column", "empty"],
)
def test_bad_universe_file_names_file_and_line(tmp_path: Path, lines: list[str], expected: list[str]) -> None:
    with pytest.raises(UniverseError) as caught:
        load_universe(write(tmp_path, *lines))

    for fragment in expected:
        assert fragment in str(caught.value)


def test_missing_universe_file_says_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(UniverseError, match="not found; use 'seed', 'us'"):
        load_universe(str(tmp_path / "nope.csv"))


def test_universe_error_is_a_value_error() -> None:
    assert issubclass(UniverseError, ValueError)


def test_synthetic_universe_mixes_currencies_and_classes() -> None:
    universe = synthetic_universe(500)

    assert len(universe.instruments) == 500
    assert universe.symbols[0] == "SYN001" and universe.symbols[-1] == "SYN500"
    assert {i.currency for i in universe.instruments} == {"EUR", "USD"}
    assert len({i.asset_class for i in universe.instruments}) >= 5
    assert universe.base_currency == "EUR"


def test_synthetic_universe_is_deterministic_per_seed() -> None:
    assert synthetic_universe(50) == synthetic_universe(50)
    assert synthetic_universe(50, seed=1) != synthetic_universe(50, seed=2)


def test_synthetic_universe_needs_at_least_one_instrument() -> None:
    with pytest.raises(UniverseError):
        synthetic_universe(0)
