"""The fake Alpaca server and alpaca-py's requests, checked against Alpaca's OpenAPI documents.

The documents are the subsets in tests/fakes/specs/ (cut by cut_alpaca_specs.py from Alpaca's
published trading and market data specs; the checks live in tests/fakes/specs/alpaca_spec.py).
(a) Every route the fake serves is an operation of the documents, with the path parameters it names.
(b) The requests alpaca-py sends in real flows against the fake (the desk's AlpacaBroker and
AlpacaBars, and alpaca-py directly for the routes the desk does not call) carry the documented
credentials, only documented path and query parameters, every required one, values of the
documented types, and a JSON body valid against the operation's requestBody schema.
(c) Every answer's status is documented for its operation (or listed in UNDOCUMENTED_STATUSES with
the reason) and its JSON body is valid against the documented response schema.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, MarketOrderRequest

from agent.universe import load_universe
from broker.alpaca import AlpacaBars, AlpacaBroker, AlpacaConfig
from broker.errors import OrderRejectedError
from broker.models import OrderRequest, Side
from tests.fakes.alpaca_server import KEY, ROUTES, SECRET, Exchange, FakeAlpaca
from tests.fakes.specs.alpaca_spec import (
    UNDOCUMENTED_STATUSES,
    answer_problems,
    body_problems,
    credential_problems,
    parameter_problems,
    problems,
    spec,
)
from tests.fakes.specs.cut_alpaca_specs import cut, routes_in

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


# the flows ------------------------------------------------------------------------------------------


def _config(url: str) -> AlpacaConfig:
    return AlpacaConfig(api_key=KEY, secret_key=SECRET, url=url, data_url=url, backoff_seconds=0, poll_seconds=0,
                        timeout_seconds=2)


def _order(coid: str, symbol: str, side: Side, quantity: str) -> OrderRequest:
    return OrderRequest(client_order_id=coid, symbol=symbol, side=side, quantity=Decimal(quantity))


async def _desk_flows(fake: FakeAlpaca) -> str:
    """What AlpacaBroker does in a cycle, an approval and a reconcile; returns a queued order's id."""
    broker = AlpacaBroker(_config(fake.url), load_universe("us").by_symbol, lambda: NOW)
    await broker.account()
    await broker.positions()
    await broker.submit(_order("p-spec-buy", "SPY", Side.BUY, "2.5"))
    await broker.submit(_order("p-spec-buy", "SPY", Side.BUY, "2.5"))  # a duplicate: 422, then the lookup
    await broker.submit(_order("p-spec-sell", "SPY", Side.SELL, "1"))
    await broker.positions()
    assert await broker.order_by_client_id("p-spec-buy") is not None
    assert await broker.order_by_client_id("p-spec-unknown") is None
    with pytest.raises(OrderRejectedError):
        await broker.submit(_order("p-spec-big", "QQQ", Side.BUY, "1000"))
    fake.close_market()
    queued = await broker.submit(_order("p-spec-night", "QQQ", Side.BUY, "1"))  # accepted; reads the clock
    return queued.id


def _sdk_flows(fake: FakeAlpaca, order_id: str) -> None:
    """The routes the fake serves that the desk does not call, through alpaca-py itself."""
    client = TradingClient(KEY, SECRET, paper=True, url_override=fake.url)
    client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=50, symbols=["SPY", "QQQ"]))
    client.get_order_by_id(order_id)
    client.get_asset("SPY")
    client.cancel_order_by_id(order_id)
    for call in (lambda: client.cancel_order_by_id(order_id), lambda: client.get_asset("NOPE")):
        with pytest.raises(APIError):
            call()


@pytest.fixture(scope="module")
def recorded() -> Iterator[list[Exchange]]:
    """Every exchange of the flows above against one fake."""
    fake = FakeAlpaca(prices={"SPY": Decimal("600.25"), "QQQ": Decimal("510.10")})
    fake.start()
    fake.page_size = 3  # daily bars come back in pages, so the page_token travels too
    for symbol, close in (("SPY", 600.0), ("QQQ", 510.5)):
        fake.add_bars(symbol, [(f"2026-11-{day}", close + day, 1000 + day) for day in (16, 17, 18, 19, 20)])
    try:
        _sdk_flows(fake, asyncio.run(_desk_flows(fake)))
        AlpacaBars(_config(fake.url))(["SPY", "QQQ"], date(2026, 11, 16), date(2026, 11, 20))
        yield list(fake.exchanges)
    finally:
        fake.stop()


# (a) ------------------------------------------------------------------------------------------------


def test_every_route_the_fake_serves_is_a_documented_operation() -> None:
    missing, unnamed = [], []
    for method, template in ROUTES:
        op = spec().operation(method, template)
        if op is None:
            missing.append(f"{method} {template}")
            continue
        documented = {name for where, name in spec().parameters(op) if where == "path"}
        if documented != set(re.findall(r"\{(\w+)\}", template)):
            unnamed.append(f"{method} {template}: documented path parameters {sorted(documented)}")

    assert missing == [], "re-run tests/fakes/specs/cut_alpaca_specs.py, or the route is not Alpaca's"
    assert unnamed == []


def test_the_subsets_hold_exactly_what_the_cut_keeps_and_every_ref_resolves() -> None:
    for doc in spec().documents.values():
        again = cut(doc, routes_in(doc, ROUTES))  # raises KeyError on a dangling $ref

        assert again["paths"] == doc["paths"] and again["components"] == doc["components"]
        assert doc["info"]["x-cut"]["operations"] == len(routes_in(doc, ROUTES)) > 0


def test_the_flows_reach_every_route_and_the_answers_worth_checking(recorded: list[Exchange]) -> None:
    reached = {ex.route for ex in recorded}
    statuses = {(ex.method, ex.route[1] if ex.route else "", ex.status) for ex in recorded}

    assert reached == set(ROUTES)
    assert {("POST", "/v2/orders", 200), ("POST", "/v2/orders", 422), ("POST", "/v2/orders", 403),
            ("DELETE", "/v2/orders/{order_id}", 204), ("DELETE", "/v2/orders/{order_id}", 422),
            ("GET", "/v2/assets/{symbol_or_asset_id}", 404), *UNDOCUMENTED_STATUSES} <= statuses
    assert any("page_token" in ex.query for ex in recorded) and any(
        ex.route == ("GET", "/v2/positions") and ex.answer for ex in recorded)


# (b) ------------------------------------------------------------------------------------------------


def test_requests_carry_the_documented_credentials_and_parameters(recorded: list[Exchange]) -> None:
    found = problems(recorded, lambda op, ex: credential_problems(op, ex) + parameter_problems(op, ex))

    assert found == [], "\n".join(found)


def test_request_bodies_match_the_documented_request_schema(recorded: list[Exchange]) -> None:
    found = problems(recorded, body_problems)

    assert found == [], "\n".join(found)


def test_alpaca_py_sends_the_order_quantity_as_a_json_number_where_the_spec_says_string(
        recorded: list[Exchange]) -> None:
    post = next(ex for ex in recorded if ex.route == ("POST", "/v2/orders"))
    op = spec().operation("POST", "/v2/orders")
    assert op is not None

    assert json.loads(post.body)["qty"] == 2.5
    assert body_problems(op, post, lenient=False) == ["qty: 2.5 is not of type 'string'"]


def test_the_checks_refuse_undocumented_and_ill_typed_parameters(recorded: list[Exchange]) -> None:
    bars = next(ex for ex in recorded if ex.route == ("GET", "/v2/stocks/bars"))
    op = spec().operation("GET", "/v2/stocks/bars")
    assert op is not None
    query = {k: v for k, v in bars.query.items() if k != "symbols"} | {"limit": ["many"], "colour": ["red"]}
    broken = Exchange(bars.method, bars.path, bars.route, {}, query, {}, b"", 200, None)

    found = parameter_problems(op, broken) + credential_problems(op, broken)

    assert found == ["missing required query parameter symbols",
                     "query limit='many': [\"<root>: 'many' is not of type 'integer'\"]",
                     "undocumented query parameter colour=['red']",
                     "none of the documented credentials [['apca-api-key-id', 'apca-api-secret-key']]"]


# (c) ------------------------------------------------------------------------------------------------


def test_answers_have_documented_statuses_and_match_the_documented_schemas(recorded: list[Exchange]) -> None:
    found = problems(recorded, answer_problems)

    assert found == [], "\n".join(found)


def test_the_checks_refuse_an_order_without_its_required_fields(recorded: list[Exchange]) -> None:
    ok = next(ex for ex in recorded if ex.route == ("POST", "/v2/orders") and ex.status == 200)
    op = spec().operation("POST", "/v2/orders")
    assert op is not None
    answer = {k: v for k, v in ok.answer.items() if k != "notional"} | {"filled_qty": 2.5, "created_at": "Friday"}
    broken = Exchange(ok.method, ok.path, ok.route, {}, {}, ok.headers, ok.body, 200, answer)

    assert sorted(answer_problems(op, broken)) == ["<root>: 'notional' is a required property",
                                                   "created_at: 'Friday' is not a 'date-time'",
                                                   "filled_qty: 2.5 is not of type 'string'"]


def test_the_order_list_follows_the_documented_defaults_and_filters() -> None:
    fake = FakeAlpaca(prices={"SPY": Decimal(600), "QQQ": Decimal(510)})
    fake.start()
    try:
        client = TradingClient(KEY, SECRET, paper=True, url_override=fake.url)
        for i, symbol in enumerate(("SPY", "QQQ", "SPY")):
            client.submit_order(MarketOrderRequest(symbol=symbol, qty=1, side=OrderSide.BUY,
                                                   time_in_force=TimeInForce.DAY, client_order_id=f"p-{i}"))
        fake.close_market()
        client.submit_order(MarketOrderRequest(symbol="QQQ", qty=1, side=OrderSide.BUY,
                                               time_in_force=TimeInForce.DAY, client_order_id="p-open"))

        def listed(**fields: Any) -> list[str | None]:
            return [o.client_order_id for o in client.get_orders(GetOrdersRequest(**fields))]  # type: ignore[union-attr]

        assert listed() == ["p-open"]  # status defaults to open
        assert listed(status=QueryOrderStatus.ALL) == ["p-open", "p-2", "p-1", "p-0"]  # newest first
        assert listed(status=QueryOrderStatus.CLOSED, symbols=["SPY"], limit=1) == ["p-2"]
        assert listed(status=QueryOrderStatus.ALL, direction="asc", side=OrderSide.BUY)[0] == "p-0"
    finally:
        fake.stop()
