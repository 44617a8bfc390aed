"""Alpaca paper trading and daily bars through alpaca-py (the only module importing alpaca).

Policy: every SDK call leaves the event loop through ``asyncio.to_thread``; numbers cross the
boundary once as ``Decimal(str(x))``. Orders are market/day with ``client_order_id`` = the proposal
id, so a retried submit never duplicates: Alpaca's 422 "client_order_id must be unique" means the
first attempt got through, and the existing order is looked up and returned. An order that is not
final is re-read a few times while the clock says open; after the close it stays ``accepted``
(queued for the next session), which is not an error. The SDK's own 429 retry is switched off so
that retries live here: 429, 5xx, timeouts and refused connections are retried with exponential
backoff. The account is in USD; with another base currency, amounts are converted with the
injected FX source (``fx_rate``: base units per USD), so positions are valued at today's rate.
Only US-listed USD instruments of the universe are tradable here (Euronext is not).

Failure contract (see ``broker.errors``):
- ``BrokerUnavailableError`` ``ALPACA_UNAVAILABLE``: still 429/5xx/timeout/refused after every
  attempt; ``RetryableBrokerError`` ``NO_FX_RATE`` when a non-USD base has no USD rate.
- ``OrderRejectedError``: 403 ``INSUFFICIENT_BUYING_POWER`` / ``INSUFFICIENT_QTY`` /
  ``ALPACA_FORBIDDEN`` and 422 ``ALPACA_INVALID_ORDER`` on submit, with Alpaca's message.
- ``FatalBrokerError``: 401 ``ALPACA_UNAUTHORIZED`` (names ALPACA_API_KEY / ALPACA_SECRET_KEY),
  ``ALPACA_ACCOUNT_BLOCKED``, any other 4xx outside submit, or an answer the SDK cannot parse.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as dtime
from decimal import Decimal
from typing import Any, TypeVar, cast

import requests
import structlog
from alpaca.common.exceptions import APIError
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.models import TradeAccount
from alpaca.trading.requests import MarketOrderRequest
from pydantic import Field

from broker.errors import (
    BrokerError,
    BrokerUnavailableError,
    FatalBrokerError,
    OrderRejectedError,
    RetryableBrokerError,
)
from broker.models import ZERO, Account, Fill, Frozen, Instrument, Order, OrderRequest, OrderStatus, Position, Side

log = structlog.get_logger("paperdesk.alpaca")
T = TypeVar("T")
ACCOUNT_CURRENCY = "USD"
US_EXCHANGES = frozenset({"NYSE", "NASDAQ", "ARCA", "NYSEARCA", "AMEX", "BATS", "ASCX"})
STATUS = {"new": OrderStatus.NEW, "partially_filled": OrderStatus.PARTIALLY_FILLED, "filled": OrderStatus.FILLED,
          "canceled": OrderStatus.CANCELED, "replaced": OrderStatus.CANCELED, "expired": OrderStatus.EXPIRED,
          "rejected": OrderStatus.REJECTED, "suspended": OrderStatus.REJECTED}  # the rest are working: ACCEPTED
DUPLICATE = "client_order_id must be unique"


class AlpacaConfig(Frozen):
    """Keys, endpoints and patience of the Alpaca adapter."""

    api_key: str = Field(min_length=1)
    secret_key: str = Field(min_length=1)
    url: str | None = Field(default=None, description="trading API base URL; None = the paper endpoint")
    data_url: str | None = Field(default=None, description="market data API base URL; None = Alpaca's")
    attempts: int = Field(default=4, ge=1)
    backoff_seconds: float = Field(default=0.5, ge=0)
    timeout_seconds: float = Field(default=10.0, gt=0)
    fill_polls: int = Field(default=3, ge=0)
    poll_seconds: float = Field(default=0.5, ge=0)
    feed: str = "iex"  # the feed every account may query, including the most recent bars


@dataclass(frozen=True)
class DailyBar:
    """One daily bar, in USD."""

    day: date
    close: Decimal
    volume: Decimal


class _Duplicate(BrokerError):
    """422: an order with this client_order_id exists already."""


class _NotFound(BrokerError):
    """404 from a lookup."""


def _dec(value: object) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def _body(exc: APIError) -> dict[str, Any]:
    try:
        parsed = json.loads(str(exc))
    except ValueError:
        return {"message": str(exc)[:200]}
    return parsed if isinstance(parsed, dict) else {"message": str(parsed)}


def _api_error(exc: APIError, call: str) -> BrokerError:
    """Map an HTTP error answer to what the caller should do next."""
    status, body = exc.status_code or 0, _body(exc)
    message = str(body.get("message", "")) or f"HTTP {status}"
    if status == 401:
        return FatalBrokerError("Alpaca refused the API keys (401 request is not authorized): check "
                                "ALPACA_API_KEY and ALPACA_SECRET_KEY (paper keys for the paper endpoint)",
                                code="ALPACA_UNAUTHORIZED")
    if status == 429 or status >= 500:
        return BrokerUnavailableError(f"ALPACA_UNAVAILABLE: {call}: HTTP {status} {message}", code="ALPACA_UNAVAILABLE")
    if status == 404:
        return _NotFound(message, code="NOT_FOUND")
    if status == 422 and DUPLICATE in message:
        return _Duplicate(message, code="DUPLICATE_CLIENT_ORDER_ID")
    if call != "submit":
        return FatalBrokerError(f"ALPACA_ERROR: {call}: HTTP {status} {message}", code="ALPACA_ERROR")
    if status == 403:
        code = ("INSUFFICIENT_BUYING_POWER" if "buying power" in message
                else "INSUFFICIENT_QTY" if "insufficient qty" in message else "ALPACA_FORBIDDEN")
        return OrderRejectedError(f"{code}: {message}", code=code)
    return OrderRejectedError(f"ALPACA_INVALID_ORDER: HTTP {status} {message}", code="ALPACA_INVALID_ORDER")


def translate(exc: Exception, call: str) -> BrokerError:
    """Any failure of an SDK call as one of our broker errors."""
    if isinstance(exc, BrokerError):
        return exc
    if isinstance(exc, APIError):
        return _api_error(exc, call)
    if isinstance(exc, requests.RequestException):
        return BrokerUnavailableError(f"ALPACA_UNAVAILABLE: {call}: {type(exc).__name__}: {exc}",
                                      code="ALPACA_UNAVAILABLE")
    return FatalBrokerError(f"ALPACA_BAD_RESPONSE: {call}: {type(exc).__name__}: {exc}", code="ALPACA_BAD_RESPONSE")


def _with_timeout(client: Any, seconds: float) -> None:
    """alpaca-py sends without a timeout; a hung connection would hang the desk. Also retry here, not there."""
    session = client._session
    session.request = functools.partial(session.request, timeout=seconds)
    client._retry = 0


def _retry_sync(config: AlpacaConfig, call: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` with the adapter's retry policy, blocking (for the synchronous bars reader)."""
    for attempt in range(1, config.attempts + 1):
        try:
            return fn()
        except Exception as exc:  # every SDK failure is translated
            error = translate(exc, call)
            if not isinstance(error, RetryableBrokerError) or attempt == config.attempts:
                raise error from exc
            time.sleep(config.backoff_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


class AlpacaBroker:
    """The ``Broker`` port over an Alpaca paper account."""

    name: str = "alpaca"

    def __init__(self, config: AlpacaConfig, instruments: Mapping[str, Instrument], clock: Callable[[], datetime],
                 *, base_currency: str = ACCOUNT_CURRENCY, fx_rate: Callable[[str], Decimal | None] | None = None,
                 client: TradingClient | None = None) -> None:
        self._config = config
        self._instruments = dict(instruments)
        self._clock = clock
        self._base = base_currency
        self._fx_rate = fx_rate
        self._client = client or TradingClient(config.api_key, config.secret_key, paper=True, url_override=config.url)
        _with_timeout(self._client, config.timeout_seconds)

    async def account(self) -> Account:
        """Cash, positions value and equity, converted to the base currency."""
        raw = cast(TradeAccount, await self._call("account", self._client.get_account))
        if raw.account_blocked or raw.trading_blocked:
            raise FatalBrokerError(f"the Alpaca account {raw.account_number} is blocked for trading; see the "
                                   "Alpaca dashboard", code="ALPACA_ACCOUNT_BLOCKED")
        rate = self._rate()
        cash, equity = _dec(raw.cash) or ZERO, _dec(raw.equity) or ZERO
        return Account(base_currency=self._base, cash=cash * rate, positions_value=(equity - cash) * rate,
                       equity=equity * rate, at=self._clock())

    async def positions(self) -> list[Position]:
        """Open positions by symbol, valued at Alpaca's current prices."""
        raw = cast(list[AlpacaPosition], await self._call("positions", self._client.get_all_positions))
        rate = self._rate()
        return sorted((_position(p, rate) for p in raw), key=lambda p: p.symbol)

    async def submit(self, request: OrderRequest) -> Order:
        """Submit a market/day order; a client_order_id Alpaca already has returns that order."""
        order_request = MarketOrderRequest(symbol=request.symbol, qty=float(request.quantity),
                                           side=OrderSide(str(request.side)), time_in_force=AlpacaTif.DAY,
                                           client_order_id=request.client_order_id)
        try:
            raw = cast(AlpacaOrder, await self._call("submit", self._client.submit_order, order_request))
        except _Duplicate:
            existing = await self.order_by_client_id(request.client_order_id)
            if existing is None:
                raise RetryableBrokerError(f"Alpaca reports {request.client_order_id} as a duplicate but cannot "
                                           "find it yet", code="DUPLICATE_NOT_FOUND") from None
            log.info("alpaca_duplicate_reconciled", client_order_id=request.client_order_id, order_id=existing.id)
            return existing
        order = self._order(raw)
        return order if order.status.is_final else await self._settle(order)

    async def order_by_client_id(self, client_order_id: str) -> Order | None:
        """The order submitted with ``client_order_id``, or None when Alpaca has none."""
        try:
            raw = cast(AlpacaOrder, await self._call("lookup", self._client.get_order_by_client_id, client_order_id))
        except _NotFound:
            return None
        return self._order(raw)

    async def is_open(self) -> bool:
        """Whether Alpaca's clock says the market is open now."""
        clock = await self._call("clock", self._client.get_clock)
        return bool(getattr(clock, "is_open", False))

    def is_tradable(self, symbol: str) -> bool:
        """US-listed USD instruments of the universe; Euronext and other venues are not reachable here."""
        instrument = self._instruments.get(symbol)
        return (instrument is not None and instrument.tradable and instrument.currency == ACCOUNT_CURRENCY
                and instrument.exchange.upper() in US_EXCHANGES)

    async def _settle(self, order: Order) -> Order:
        """Give a working order a moment to fill while the market is open; after the close it stays queued."""
        if not await self.is_open():
            log.info("alpaca_order_queued", client_order_id=order.client_order_id, status=str(order.status))
            return order
        for _ in range(self._config.fill_polls):
            await asyncio.sleep(self._config.poll_seconds)
            latest = await self.order_by_client_id(order.client_order_id)
            if latest is not None:
                order = latest
            if order.status.is_final:
                break
        return order

    async def _call(self, call: str, fn: Callable[..., T], *args: object) -> T:
        """One SDK call off the event loop, retried with backoff while the failure is transient."""
        for attempt in range(1, self._config.attempts + 1):
            try:
                return await asyncio.to_thread(fn, *args)
            except Exception as exc:  # every SDK failure is translated
                error = translate(exc, call)
                if not isinstance(error, RetryableBrokerError) or attempt == self._config.attempts:
                    raise error from exc
                log.warning("alpaca_retry", call=call, attempt=attempt, error=str(error))
                await asyncio.sleep(self._config.backoff_seconds * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _rate(self) -> Decimal:
        """Base units per USD."""
        if self._base == ACCOUNT_CURRENCY:
            return Decimal(1)
        rate = self._fx_rate(ACCOUNT_CURRENCY) if self._fx_rate is not None else None
        if rate is None or rate <= 0:
            raise RetryableBrokerError(f"NO_FX_RATE: currency=USD, base={self._base}", code="NO_FX_RATE")
        return rate

    def _order(self, raw: AlpacaOrder) -> Order:
        status = STATUS.get(str(raw.status.value), OrderStatus.ACCEPTED)
        filled, price = _dec(raw.filled_qty) or ZERO, _dec(raw.filled_avg_price)
        side = Side(str(raw.side.value) if raw.side is not None else "buy")
        order = Order(id=str(raw.id), client_order_id=raw.client_order_id, symbol=raw.symbol or "", side=side,
                      quantity=_dec(raw.qty) or ZERO, status=status, filled_quantity=filled,
                      filled_avg_price=price if filled > 0 else None, submitted_at=raw.submitted_at,
                      reject_reason="rejected by Alpaca" if status is OrderStatus.REJECTED else None)
        if filled <= 0 or price is None:
            return order
        fill = Fill(order_id=order.id, client_order_id=order.client_order_id, symbol=order.symbol, side=side,
                    quantity=filled, price=price, currency=ACCOUNT_CURRENCY, fx_rate=self._rate(),
                    commission_base=ZERO, at=raw.filled_at or raw.updated_at)
        return order.model_copy(update={"fills": (fill,)})


def _position(raw: AlpacaPosition, rate: Decimal) -> Position:
    quantity = _dec(raw.qty) or ZERO
    price = _dec(raw.current_price) or _dec(raw.avg_entry_price) or ZERO
    value = _dec(raw.market_value)
    return Position(symbol=raw.symbol, quantity=-quantity if str(raw.side.value) == "short" else quantity,
                    avg_price=_dec(raw.avg_entry_price) or ZERO, currency=ACCOUNT_CURRENCY,
                    cost_base=(_dec(raw.cost_basis) or ZERO) * rate,
                    market_value_base=(value if value is not None else quantity * price) * rate, market_price=price)


class AlpacaBars:
    """Daily bars from Alpaca's market data API (split- and dividend-adjusted), paged by the SDK."""

    def __init__(self, config: AlpacaConfig, client: StockHistoricalDataClient | None = None) -> None:
        self._config = config
        self._client = client or StockHistoricalDataClient(config.api_key, config.secret_key,
                                                           url_override=config.data_url)
        _with_timeout(self._client, config.timeout_seconds)

    def __call__(self, symbols: Sequence[str], start: date, end: date) -> dict[str, list[DailyBar]]:
        """Bars per symbol from ``start`` to ``end`` inclusive; a symbol Alpaca does not know is absent."""
        request = StockBarsRequest(symbol_or_symbols=list(symbols), timeframe=TimeFrame.Day,
                                   start=datetime.combine(start, dtime.min, tzinfo=UTC),
                                   end=datetime.combine(end, dtime.max, tzinfo=UTC),
                                   adjustment=Adjustment.ALL, feed=DataFeed(self._config.feed))
        barset: Any = _retry_sync(self._config, "bars", lambda: self._client.get_stock_bars(request))
        return {symbol: [DailyBar(day=bar.timestamp.date(), close=Decimal(str(bar.close)),
                                  volume=Decimal(str(bar.volume))) for bar in bars]
                for symbol, bars in barset.data.items()}
