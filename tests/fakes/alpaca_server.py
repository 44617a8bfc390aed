"""A local Alpaca server for tests: real HTTP on 127.0.0.1, the v2 trading and market data wire format.

Serves what alpaca-py's ``TradingClient`` and ``StockHistoricalDataClient`` call with
``url_override``: ``GET /v2/account`` (money as strings), ``POST/GET /v2/orders``,
``GET /v2/orders:by_client_order_id``, ``GET/DELETE /v2/orders/{id}``, ``GET /v2/positions``,
``GET /v2/clock``, ``GET /v2/assets/{symbol}`` and ``GET /v2/stocks/bars`` (paged through
``next_page_token``). Every request must carry the configured ``APCA-API-KEY-ID`` and
``APCA-API-SECRET-KEY`` headers, else 401. Errors use Alpaca's bodies: 422 ``40010001``
"client_order_id must be unique", 403 ``40310000`` "insufficient buying power" (and "insufficient qty
available"), 404 ``40410000``. Market orders fill at once at ``prices[symbol]`` while the clock says
open (or, with ``fill_after_reads`` = n, are ``accepted`` first and fill when read the n-th time, as
the real API answers ``accepted``/``pending_new`` before the fill); while closed they are ``accepted``
and queued until the test calls ``open_market()``.
Tests script failures: ``fail(status, times)`` answers the next requests with 429/500/503,
``outage()`` fails every trading request until ``restore()``, ``slow(seconds)`` processes the next
matching request and then holds its response past the client's timeout.
``ROUTES`` is the table the router dispatches on, with Alpaca's path templates; ``exchanges`` records
every request as received (path parameters, query, body) with the status and body answered, so that
tests/broker/test_alpaca_spec.py can check both against Alpaca's OpenAPI documents.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

KEY, SECRET = "PKTEST", "SECRETTEST"
ERRORS: dict[int, Any] = {
    401: {"code": 40110000, "message": "request is not authorized"},
    429: {"code": 42910000, "message": "rate limit exceeded"},
    500: {"code": 50010000, "message": "internal server error occurred"},
    503: "upstream connect error or disconnect/reset before headers",  # the proxy's text, not JSON
}
# (method, path template of Alpaca's OpenAPI documents) -> handler; the router serves these and nothing else
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/v2/account"): "_account", ("GET", "/v2/positions"): "_positions", ("GET", "/v2/clock"): "_clock",
    ("GET", "/v2/orders"): "_list_orders", ("POST", "/v2/orders"): "_submit",
    ("GET", "/v2/orders:by_client_order_id"): "_by_client_id",
    ("GET", "/v2/orders/{order_id}"): "_get_order", ("DELETE", "/v2/orders/{order_id}"): "_cancel_order",
    ("GET", "/v2/assets/{symbol_or_asset_id}"): "_asset", ("GET", "/v2/stocks/bars"): "_bars",
}
Params = dict[str, str]


@dataclass
class Held:
    """A position as the fake account holds it."""

    qty: Decimal
    cost: Decimal


@dataclass(frozen=True)
class Exchange:
    """One request as the fake received it and its answer (``route`` None: the fake serves no such route)."""

    method: str
    path: str
    route: tuple[str, str] | None
    params: Params
    query: dict[str, list[str]]
    headers: Params  # lower-case names
    body: bytes
    status: int
    answer: Any


@dataclass
class Script:
    """Scripted misbehaviour: failures to answer with, and responses to hold back."""

    failures: list[int] = field(default_factory=list)
    outage: int | None = None
    outage_from: tuple[str, str] | None = None  # (method, path) of the request that starts the outage
    slow: list[tuple[str, float]] = field(default_factory=list)  # (path prefix, seconds)


class FakeAlpaca:
    """The server's state and the test-facing API; thread-safe."""

    def __init__(self, cash: Decimal = Decimal(100_000), prices: dict[str, Decimal] | None = None) -> None:
        self.cash = cash
        self.buying_power: Decimal | None = None  # None: the cash; lower it to make buys fail with 403
        self.prices: dict[str, Decimal] = dict(prices or {})
        self.positions: dict[str, Held] = {}
        self.orders: list[dict[str, Any]] = []
        self.bars: dict[str, list[dict[str, Any]]] = {}
        self.not_tradable: set[str] = set()
        self.is_open = True
        self.fill_after_reads = 0  # > 0: like the real API, an order sent while open is `accepted` first
        self.now = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
        self.page_size = 10_000
        self.requests: list[tuple[str, str]] = []
        self.exchanges: list[Exchange] = []
        self.script = Script()
        self._lock = threading.RLock()
        self._order_ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # lifecycle --------------------------------------------------------------------------------

    def start(self) -> str:
        """Listen on 127.0.0.1:<free port>; returns the base URL for ``url_override``."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # what tests script ------------------------------------------------------------------------

    def fail(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` trading requests with ``status`` (429, 500 or 503)."""
        with self._lock:
            self.script.failures += [status] * times

    def outage(self, status: int = 503, starting_at: tuple[str, str] | None = None) -> None:
        """Fail every trading request with ``status`` until ``restore()``, from now or from the first
        request matching ``starting_at`` = (method, path), e.g. ``("POST", "/v2/orders")``."""
        with self._lock:
            self.script.outage, self.script.outage_from = status, starting_at

    def restore(self) -> None:
        """End an outage and forget pending scripted failures."""
        with self._lock:
            self.script = Script()

    def slow(self, seconds: float, path: str = "/v2/orders") -> None:
        """Process the next request under ``path``, then hold its response for ``seconds``."""
        with self._lock:
            self.script.slow.append((path, seconds))

    def close_market(self) -> None:
        """The clock says closed: market orders are accepted and queued."""
        with self._lock:
            self.is_open = False

    def open_market(self) -> None:
        """The session opens: queued market orders fill at the current prices."""
        with self._lock:
            self.is_open = True
            for order in self.orders:
                if order["status"] == "accepted":
                    self._fill(order)

    def add_bars(self, symbol: str, rows: list[tuple[str, float, int]]) -> None:
        """Daily bars for ``symbol`` as (YYYY-MM-DD, close, volume)."""
        self.bars[symbol] = [{"t": f"{day}T05:00:00Z", "o": c, "h": c, "l": c, "c": c, "v": v, "n": 1, "vw": c}
                             for day, c, v in rows]

    def orders_for(self, client_order_id: str) -> list[dict[str, Any]]:
        """Every order the server holds under ``client_order_id`` (more than one would be a duplicate)."""
        with self._lock:
            return [o for o in self.orders if o["client_order_id"] == client_order_id]

    # request handling (server threads) --------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, float]:
        """Route one request; returns (status, JSON-able body or text, seconds to hold the response)."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        route, params = _match(method, path)
        with self._lock:
            self.requests.append((method, path))
            status, payload, delay = self._answer(method, path, route, (params, query, body), headers)
            self.exchanges.append(Exchange(method, path, route, params, query, headers, body, status, payload))
            return status, payload, delay

    def _answer(self, method: str, path: str, route: tuple[str, str] | None,
                request: tuple[Params, dict[str, list[str]], bytes], headers: dict[str, str]) -> tuple[int, Any, float]:
        if headers.get("apca-api-key-id") != KEY or headers.get("apca-api-secret-key") != SECRET:
            return 401, ERRORS[401], 0.0
        failure = self._scripted_failure(method, path)
        if failure is not None:
            return failure, ERRORS.get(failure, ERRORS[500]), 0.0
        if route is None:
            return 404, {"code": 40410000, "message": "endpoint not found"}, 0.0
        params, query, body = request
        status, payload = getattr(self, ROUTES[route])(params, {k: v[-1] for k, v in query.items()}, body)
        return status, payload, self._delay(path)

    def _scripted_failure(self, method: str, path: str) -> int | None:
        if path.startswith("/v2/stocks"):
            return None
        if self.script.outage is not None:
            if self.script.outage_from not in (None, (method, path)):
                return None
            self.script.outage_from = None
            return self.script.outage
        return self.script.failures.pop(0) if self.script.failures else None

    def _delay(self, path: str) -> float:
        for i, (prefix, seconds) in enumerate(self.script.slow):
            if path.startswith(prefix):
                del self.script.slow[i]
                return seconds
        return 0.0

    def _account(self, *_: object) -> tuple[int, Any]:
        value = sum((h.qty * self.prices.get(s, Decimal(0)) for s, h in self.positions.items()), Decimal(0))
        return 200, {"id": "a1b2c3d4-0000-4000-8000-000000000001", "account_number": "PA3TEST", "status": "ACTIVE",
                     "currency": "USD", "cash": str(self.cash), "buying_power": str(self._buying_power()),
                     "portfolio_value": str(self.cash + value), "equity": str(self.cash + value),
                     "long_market_value": str(value), "trading_blocked": False, "account_blocked": False,
                     "pattern_day_trader": False, "created_at": "2026-01-02T15:00:00Z"}

    def _positions(self, *_: object) -> tuple[int, Any]:
        rows = []
        for symbol, held in sorted(self.positions.items()):
            price = self.prices.get(symbol, held.cost / held.qty)
            gain = held.qty * price - held.cost  # the fake has no yesterday: lastday_price is today's
            rows.append({"asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)), "symbol": symbol,
                         "exchange": "ARCA", "asset_class": "us_equity", "asset_marginable": True,
                         "qty": str(held.qty), "qty_available": str(held.qty), "side": "long",
                         "avg_entry_price": str(held.cost / held.qty), "cost_basis": str(held.cost),
                         "market_value": str(held.qty * price), "current_price": str(price),
                         "lastday_price": str(price), "change_today": "0", "unrealized_pl": str(gain),
                         "unrealized_plpc": f"{gain / held.cost:f}", "unrealized_intraday_pl": "0",
                         "unrealized_intraday_plpc": "0"})
        return 200, rows

    def _clock(self, *_: object) -> tuple[int, Any]:
        next_open = self.now + timedelta(hours=17, minutes=30)
        return 200, {"timestamp": self.now.isoformat(), "is_open": self.is_open,
                     "next_open": next_open.isoformat(), "next_close": (next_open + timedelta(hours=6.5)).isoformat()}

    def _asset(self, params: Params, *_: object) -> tuple[int, Any]:
        symbol = params["symbol_or_asset_id"]
        if symbol not in self.prices:
            return 404, {"code": 40410000, "message": f"asset not found for {symbol}"}
        return 200, {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)), "class": "us_equity", "exchange": "ARCA",
                     "symbol": symbol, "name": f"{symbol} (fake)", "status": "active",
                     "tradable": symbol not in self.not_tradable, "marginable": True, "shortable": True,
                     "easy_to_borrow": True, "fractionable": True}

    def _list_orders(self, _: Params, query: Params, *__: object) -> tuple[int, Any]:
        """As documented: open orders by default, newest first, 50 unless ``limit`` says (at most 500)."""
        wanted, symbols = query.get("status", "open"), {s for s in query.get("symbols", "").split(",") if s}
        open_states = {"accepted", "new", "partially_filled"}
        found = [_public(o) for o in self.orders
                 if (wanted == "all" or (o["status"] in open_states) == (wanted == "open"))
                 and (not symbols or o["symbol"] in symbols) and query.get("side", o["side"]) == o["side"]]
        if query.get("direction", "desc") == "desc":
            found.reverse()  # the fake keeps its orders in submission order
        return 200, found[:min(int(query.get("limit") or 50), 500)]

    def _by_client_id(self, _: Params, query: Params, *__: object) -> tuple[int, Any]:
        found = self.orders_for(query.get("client_order_id", ""))
        if not found:
            return 404, {"code": 40410000, "message": "order not found"}
        order = found[0]
        order["_reads"] = order.get("_reads", 0) + 1
        if self.is_open and order["status"] == "accepted" and order["_reads"] >= self.fill_after_reads:
            self._fill(order)
        return 200, _public(order)

    def _get_order(self, params: Params, *_: object) -> tuple[int, Any]:
        order = next((o for o in self.orders if o["id"] == params["order_id"]), None)
        if order is None:
            return 404, {"code": 40410000, "message": "order not found"}
        return 200, _public(order)

    def _cancel_order(self, params: Params, *_: object) -> tuple[int, Any]:
        order = next((o for o in self.orders if o["id"] == params["order_id"]), None)
        if order is None:
            return 404, {"code": 40410000, "message": "order not found"}
        if order["status"] not in {"accepted", "new"}:
            return 422, {"code": 42210000, "message": f"order is already in \"{order['status']}\" state"}
        order.update(status="canceled", canceled_at=self.now.isoformat())
        return 204, None

    def _submit(self, _: Params, __: Params, raw: bytes) -> tuple[int, Any]:
        body: dict[str, Any] = json.loads(raw or b"{}")
        coid, symbol = body.get("client_order_id") or uuid.uuid4().hex, str(body.get("symbol", ""))
        if self.orders_for(coid):
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}
        if symbol not in self.prices:
            return 422, {"code": 40010001, "message": f"asset \"{symbol}\" not found"}
        qty, price = Decimal(str(body.get("qty", "0"))), self.prices[symbol]
        if body.get("side") == "buy" and qty * price > self._buying_power():
            return 403, {"buying_power": str(self._buying_power()), "code": 40310000, "cost_basis": str(qty * price),
                         "message": "insufficient buying power"}
        held = self.positions.get(symbol, Held(Decimal(0), Decimal(0))).qty
        if body.get("side") == "sell" and qty > held:
            return 403, {"available": str(held), "code": 40310000, "existing_qty": str(held), "held_for_orders": "0",
                         "message": f"insufficient qty available for order (requested: {qty}, available: {held})",
                         "symbol": symbol}
        order = self._new_order(coid, symbol, qty, body)
        self.orders.append(order)
        if self.is_open and not self.fill_after_reads:
            self._fill(order)
        return 200, _public(order)

    def _buying_power(self) -> Decimal:
        return self.cash if self.buying_power is None else min(self.cash, self.buying_power)

    def _new_order(self, coid: str, symbol: str, qty: Decimal, body: dict[str, Any]) -> dict[str, Any]:
        at = self.now.isoformat()
        return {"id": f"0000{next(self._order_ids):04d}-0000-4000-8000-000000000000", "client_order_id": coid,
                "created_at": at, "updated_at": at, "submitted_at": at, "filled_at": None,
                "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)), "symbol": symbol, "asset_class": "us_equity",
                "qty": str(qty), "notional": None, "filled_qty": "0", "filled_avg_price": None, "order_class": "",
                "order_type": body.get("type", "market"), "type": body.get("type", "market"),
                "side": body.get("side"), "time_in_force": body.get("time_in_force", "day"), "status": "accepted",
                "extended_hours": False, "legs": None, "limit_price": None, "stop_price": None, "hwm": None,
                "trail_percent": None, "trail_price": None, "canceled_at": None, "expired_at": None,
                "failed_at": None, "replaced_at": None, "replaced_by": None, "replaces": None}

    def _fill(self, order: dict[str, Any]) -> None:
        symbol, qty = order["symbol"], Decimal(order["qty"])
        price = self.prices[symbol]
        held = self.positions.setdefault(symbol, Held(Decimal(0), Decimal(0)))
        if order["side"] == "buy":
            self.cash -= qty * price
            held.qty, held.cost = held.qty + qty, held.cost + qty * price
        else:
            self.cash += qty * price
            held.cost -= held.cost * qty / held.qty
            held.qty -= qty
            if held.qty == 0:
                del self.positions[symbol]
        order.update(status="filled", filled_qty=str(qty), filled_avg_price=str(price),
                     filled_at=self.now.isoformat(), updated_at=self.now.isoformat())

    def _bars(self, _: Params, query: Params, *__: object) -> tuple[int, Any]:
        symbols = [s for s in query.get("symbols", "").split(",") if s]
        start, end = query.get("start", "")[:10], query.get("end", "9999")[:10]
        rows = [(s, bar) for s in sorted(symbols) for bar in self.bars.get(s, []) if start <= bar["t"][:10] <= end]
        offset = int(base64.b64decode(query["page_token"])) if query.get("page_token") else 0
        size = min(int(query.get("limit") or 1000), self.page_size)  # 1000: the documented default
        page = rows[offset:offset + size]
        grouped: dict[str, list[dict[str, Any]]] = {}
        for symbol, bar in page:
            grouped.setdefault(symbol, []).append(bar)
        more = offset + size < len(rows)
        return 200, {"bars": grouped, "next_page_token": base64.b64encode(str(offset + size).encode()).decode()
                     if more else None}


def _match(method: str, path: str) -> tuple[tuple[str, str] | None, Params]:
    """The route serving ``path`` and its decoded path parameters."""
    for route in ROUTES:
        pattern = "".join(f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{\w+\})", route[1]))
        found = re.fullmatch(pattern, path)
        if route[0] == method and found is not None:
            return route, {name: unquote(value) for name, value in found.groupdict().items()}
    return None, {}


def _public(order: dict[str, Any]) -> dict[str, Any]:
    """The order as the API shows it (without the fake's bookkeeping)."""
    return {k: v for k, v in order.items() if not k.startswith("_")}


def _handler_for(fake: FakeAlpaca) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload, delay = fake.handle(self.command, self.path, headers, body)
            if delay:
                time.sleep(delay)
            data = b"" if payload is None else (
                payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
