"""Alpaca daily bars over real HTTP (paged), and the ``PAPERDESK_DATA=alpaca`` provider built on them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from agent.market import MarketDataError, make_market_data
from agent.universe import load_universe
from broker.alpaca import AlpacaBars, AlpacaConfig
from broker.errors import FatalBrokerError
from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpaca

END = date(2026, 11, 20)


def weekdays(n: int, end: date = END) -> list[str]:
    days: list[str] = []
    day = end
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day.isoformat())
        day -= timedelta(days=1)
    return sorted(days)


@pytest.fixture
def alpaca() -> Iterator[FakeAlpaca]:
    server = FakeAlpaca()
    server.start()
    server.page_size = 7  # several pages for a handful of bars
    yield server
    server.stop()


def bars(alpaca: FakeAlpaca, **changes: object) -> AlpacaBars:
    values: dict[str, object] = {"api_key": KEY, "secret_key": SECRET, "url": alpaca.url, "data_url": alpaca.url,
                                 "backoff_seconds": 0, "timeout_seconds": 2}
    values.update(changes)
    return AlpacaBars(AlpacaConfig.model_validate(values))


def test_daily_bars_follow_next_page_token_and_arrive_as_decimals(alpaca: FakeAlpaca) -> None:
    days = weekdays(10)
    alpaca.add_bars("SPY", [(d, 600.0 + i, 1_000 + i) for i, d in enumerate(days)])
    alpaca.add_bars("QQQ", [(d, 500.5, 2_000) for d in days[-4:]])

    got = bars(alpaca)(["SPY", "QQQ", "NOPE"], date(2026, 10, 1), END)

    assert sorted(got) == ["QQQ", "SPY"]
    assert [b.day.isoformat() for b in got["SPY"]] == days and got["SPY"][-1].close == Decimal("609.0")
    assert got["QQQ"][0].volume == Decimal(2000) and isinstance(got["QQQ"][0].close, Decimal)
    assert alpaca.requests.count(("GET", "/v2/stocks/bars")) == 2  # 14 bars, 7 per page


def test_bad_data_keys_are_a_fatal_error_naming_the_keys(alpaca: FakeAlpaca) -> None:
    with pytest.raises(FatalBrokerError, match="ALPACA_API_KEY"):
        bars(alpaca, secret_key="wrong")(["SPY"], date(2026, 10, 1), END)


def test_provider_builds_a_usd_history_from_alpaca_bars(alpaca: FakeAlpaca) -> None:
    universe = load_universe("us")
    days = weekdays(80)
    for n, symbol in enumerate(universe.symbols):
        alpaca.add_bars(symbol, [(d, 50.0 + n + i * 0.1, 10_000) for i, d in enumerate(days)])
    alpaca.page_size = 10_000
    provider = make_market_data("alpaca", base_currency="USD", bars=bars(alpaca))

    history = provider.history(universe.instruments, END, 60)

    assert (history.source, history.synthetic, history.base_currency) == ("alpaca", False, "USD")
    assert list(history.close.columns) == list(universe.symbols) and len(history.close) == 60
    assert history.as_of == END and history.fx == {}
    assert history.close["SPY"].iloc[-1] == pytest.approx(50.0 + 79 * 0.1)


def test_provider_names_symbols_alpaca_has_no_bars_for(alpaca: FakeAlpaca) -> None:
    universe = load_universe("us")
    alpaca.add_bars("SPY", [(d, 600.0, 1) for d in weekdays(5)])
    provider = make_market_data("alpaca", base_currency="USD", bars=bars(alpaca))

    with pytest.raises(MarketDataError, match="no data for QQQ from Alpaca"):
        provider.history(universe.instruments, END, 60)


def test_provider_refuses_euronext_and_a_eur_base_in_one_line() -> None:
    seed = load_universe("seed")
    provider = make_market_data("alpaca", base_currency="EUR", bars=lambda symbols, start, end: {})

    with pytest.raises(MarketDataError) as caught:
        provider.history(seed.instruments, END, 60)

    message = str(caught.value)
    assert "MC.PA" in message and "PAPERDESK_UNIVERSE=us" in message and "\n" not in message
