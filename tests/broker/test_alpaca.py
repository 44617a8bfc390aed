"""AlpacaBroker over real HTTP: alpaca-py pointed at the local Alpaca server in tests/fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from agent.universe import load_universe
from broker.alpaca import AlpacaBroker, AlpacaConfig
from broker.errors import BrokerUnavailableError, FatalBrokerError, OrderRejectedError
from broker.models import OrderRequest, OrderStatus, Side
from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpaca

pytestmark = pytest.mark.asyncio
NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
PRICES = {"SPY": Decimal("600.25"), "QQQ": Decimal("510.10"), "TLT": Decimal("90.05")}


@pytest.fixture
def alpaca() -> Iterator[FakeAlpaca]:
    server = FakeAlpaca(cash=Decimal(100_000), prices=dict(PRICES))
    server.start()
    yield server
    server.stop()


def config(url: str, **changes: object) -> AlpacaConfig:
    """Fast retries and a short timeout, so failure scenarios run in milliseconds."""
    values: dict[str, object] = {"api_key": KEY, "secret_key": SECRET, "url": url, "data_url": url,
                                 "backoff_seconds": 0, "poll_seconds": 0, "timeout_seconds": 0.5}
    values.update(changes)
    return AlpacaConfig.model_validate(values)


def make(alpaca: FakeAlpaca, universe: str = "us", **changes: object) -> AlpacaBroker:
    loaded = load_universe(universe)
    return AlpacaBroker(config(alpaca.url, **changes), loaded.by_symbol, lambda: NOW,
                        base_currency=loaded.base_currency, fx_rate={"USD": Decimal("0.9")}.get)


def buy(client_order_id: str, symbol: str = "SPY", quantity: str = "2.5") -> OrderRequest:
    return OrderRequest(client_order_id=client_order_id, symbol=symbol, side=Side.BUY, quantity=Decimal(quantity))


async def test_order_carries_the_proposal_id_and_fills_in_decimals(alpaca: FakeAlpaca) -> None:
    order = await make(alpaca).submit(buy("p-abc123"))

    [sent] = alpaca.orders_for("p-abc123")
    assert sent["client_order_id"] == "p-abc123" and sent["symbol"] == "SPY"
    assert order.client_order_id == "p-abc123" and order.status is OrderStatus.FILLED
    assert order.filled_quantity == Decimal("2.5") and order.filled_avg_price == Decimal("600.25")
    [fill] = order.fills
    assert fill.price == Decimal("600.25") and fill.currency == "USD" and fill.fx_rate == 1
    assert all(isinstance(x, Decimal) for x in (order.quantity, fill.quantity, fill.commission_base))


async def test_submit_that_times_out_is_retried_without_a_second_order(alpaca: FakeAlpaca) -> None:
    alpaca.slow(2.0)  # the server takes the order, then answers after the client gave up (0.5 s)

    order = await make(alpaca).submit(buy("p-timeout"))

    assert len(alpaca.orders_for("p-timeout")) == 1
    assert order.id == alpaca.orders_for("p-timeout")[0]["id"] and order.status is OrderStatus.FILLED
    posts = [r for r in alpaca.requests if r == ("POST", "/v2/orders")]
    assert len(posts) == 2 and ("GET", "/v2/orders:by_client_order_id") in alpaca.requests


async def test_duplicate_client_order_id_is_reconciled_to_the_existing_order(alpaca: FakeAlpaca) -> None:
    first = await make(alpaca).submit(buy("p-dup"))
    again = await make(alpaca).submit(buy("p-dup"))  # another process, same proposal

    assert again.id == first.id and again.status is OrderStatus.FILLED
    assert len(alpaca.orders_for("p-dup")) == 1
    assert (await make(alpaca).positions())[0].quantity == Decimal("2.5")


async def test_insufficient_buying_power_rejects_the_order_with_alpacas_reason(alpaca: FakeAlpaca) -> None:
    with pytest.raises(OrderRejectedError) as caught:
        await make(alpaca).submit(buy("p-big", quantity="1000"))

    assert caught.value.code == "INSUFFICIENT_BUYING_POWER"
    assert "insufficient buying power" in str(caught.value)
    assert alpaca.orders_for("p-big") == []


async def test_selling_more_than_held_is_rejected(alpaca: FakeAlpaca) -> None:
    request = OrderRequest(client_order_id="p-sell", symbol="QQQ", side=Side.SELL, quantity=Decimal(3))
    with pytest.raises(OrderRejectedError) as caught:
        await make(alpaca).submit(request)

    assert caught.value.code == "INSUFFICIENT_QTY" and "available: 0" in str(caught.value)


@pytest.mark.parametrize("call", ["account", "submit"])
async def test_bad_keys_stop_with_a_message_naming_the_keys(alpaca: FakeAlpaca, call: str) -> None:
    broker = make(alpaca, api_key="PKWRONG")
    with pytest.raises(FatalBrokerError) as caught:
        await (broker.account() if call == "account" else broker.submit(buy("p-keys")))

    assert caught.value.code == "ALPACA_UNAUTHORIZED"
    assert "ALPACA_API_KEY" in str(caught.value) and "ALPACA_SECRET_KEY" in str(caught.value)
    assert alpaca.requests == [("GET", "/v2/account")] or alpaca.requests == [("POST", "/v2/orders")]


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_transient_errors_are_retried_until_success(alpaca: FakeAlpaca, status: int) -> None:
    alpaca.fail(status, times=2)

    account = await make(alpaca).account()

    assert account.equity == Decimal(100_000)
    assert alpaca.requests == [("GET", "/v2/account")] * 3


async def test_an_outage_longer_than_the_retries_says_the_broker_is_unavailable(alpaca: FakeAlpaca) -> None:
    alpaca.outage(503)

    with pytest.raises(BrokerUnavailableError) as caught:
        await make(alpaca, attempts=3).submit(buy("p-down"))

    assert caught.value.code == "ALPACA_UNAVAILABLE" and "503" in str(caught.value)
    assert alpaca.requests == [("POST", "/v2/orders")] * 3 and alpaca.orders == []


async def test_market_order_after_the_close_is_queued_then_fills_at_the_open(alpaca: FakeAlpaca) -> None:
    alpaca.close_market()
    broker = make(alpaca)

    queued = await broker.submit(buy("p-night", symbol="TLT", quantity="10"))

    assert queued.status is OrderStatus.ACCEPTED and queued.fills == () and queued.filled_avg_price is None
    assert await broker.positions() == []
    alpaca.open_market()
    filled = await broker.order_by_client_id("p-night")
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.filled_quantity == Decimal(10) and filled.fills[0].price == Decimal("90.05")


async def test_unknown_client_order_id_is_none(alpaca: FakeAlpaca) -> None:
    assert await make(alpaca).order_by_client_id("p-never") is None


async def test_amounts_are_converted_to_a_eur_base_with_the_fx_source(alpaca: FakeAlpaca) -> None:
    broker = make(alpaca, universe="seed")
    await broker.submit(buy("p-eur", quantity="10"))

    account, [position] = await broker.account(), await broker.positions()

    assert account.base_currency == "EUR" and account.equity == Decimal("90000.0")
    assert position.market_value_base == Decimal("6002.5") * Decimal("0.9") and position.currency == "USD"


async def test_only_us_listed_usd_instruments_are_tradable_here(alpaca: FakeAlpaca) -> None:
    broker = make(alpaca, universe="seed")
    seed = load_universe("seed")

    untradable = {s for s in seed.symbols if not broker.is_tradable(s)}

    assert untradable == {i.symbol for i in seed.instruments if i.exchange == "XPAR"}
    assert "CAC.PA" in untradable and "MC.PA" in untradable and broker.is_tradable("SPY")
    assert not broker.is_tradable("NOT-IN-UNIVERSE")


async def test_an_order_accepted_while_open_is_read_again_until_it_fills(alpaca: FakeAlpaca) -> None:
    alpaca.fill_after_reads = 2  # the POST answers `accepted`, the second read sees the fill

    order = await make(alpaca).submit(buy("p-working"))

    assert order.status is OrderStatus.FILLED and order.fills[0].price == Decimal("600.25")
    assert alpaca.requests.count(("GET", "/v2/orders:by_client_order_id")) == 2
    assert ("GET", "/v2/clock") in alpaca.requests


async def test_an_order_still_working_after_the_polls_is_returned_as_accepted(alpaca: FakeAlpaca) -> None:
    alpaca.fill_after_reads = 10

    order = await make(alpaca, fill_polls=2).submit(buy("p-slow-fill"))

    assert order.status is OrderStatus.ACCEPTED and order.fills == ()
    assert alpaca.requests.count(("GET", "/v2/orders:by_client_order_id")) == 2
