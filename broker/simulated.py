"""The built-in paper venue: market orders fill at once against a market feed; state is a ledger.

Policy: a market order fills completely at the feed's quote × (1 ± slippage_bps/10,000), buys
paying more and sells receiving less. Commission is max(min_commission, notional_base ×
commission_bps/10,000), charged in the base currency. Instrument-currency amounts are converted
with the feed's FX rate at fill time; base amounts are rounded half up to cents. A client_order_id
seen before returns the recorded order unchanged, so retries never duplicate. Every change is
saved through the ``LedgerStore`` before ``submit`` returns. Positions are valued at the latest
quote, or at their average price when the feed has none (at cost when even the FX rate is
missing), and always counted in equity.

Failure contract (see ``broker.errors``):
- ``OrderRejectedError`` ``UNKNOWN_SYMBOL`` / ``NOT_TRADABLE`` / ``FRACTIONAL_NOT_ALLOWED``: nothing
  is recorded. ``INSUFFICIENT_CASH`` / ``INSUFFICIENT_POSITION``: the order is recorded as REJECTED
  with its reason, so a retry with the same client_order_id returns that rejected order.
- ``RetryableBrokerError`` ``NO_QUOTE`` / ``NO_FX_RATE``: nothing is recorded or changed.
- ``FatalBrokerError`` ``BASE_CURRENCY_MISMATCH`` (saved ledger vs config) or ``LEDGER_CORRUPT``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from pydantic import Field

from broker.errors import FatalBrokerError, OrderRejectedError, RetryableBrokerError
from broker.ledger import LedgerStore, SimLedger, to_cents
from broker.models import (
    ZERO,
    Account,
    Fill,
    Frozen,
    Instrument,
    Order,
    OrderRequest,
    OrderStatus,
    Position,
    Quote,
    Side,
)

BPS = Decimal(10_000)
ONE = Decimal(1)


class MarketFeed(Protocol):
    """Latest prices and FX rates the simulated venue trades and values against."""

    def quote(self, symbol: str) -> Quote | None:
        """The latest price of ``symbol`` in its instrument currency, or None when unknown."""
        ...

    def fx_rate(self, currency: str) -> Decimal | None:
        """Base currency units per one unit of ``currency`` (1 for the base), or None when unknown."""
        ...


def fill_terms(
    config: SimConfig, quantity: Decimal, price: Decimal, fx_rate: Decimal, *, buy: bool
) -> tuple[Decimal, Decimal, Decimal]:
    """Fill price (quote ± slippage), notional in base and commission, both rounded to cents."""
    slippage = config.slippage_bps / BPS
    fill_price = price * (ONE + slippage if buy else ONE - slippage)
    notional_base = to_cents(quantity * fill_price * fx_rate)
    commission = max(config.min_commission, to_cents(notional_base * config.commission_bps / BPS))
    return fill_price, notional_base, commission


class SimConfig(Frozen):
    """Account size, base currency and trading costs of the simulated venue."""

    initial_cash: Decimal = Field(default=Decimal(100_000), ge=0)
    base_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    slippage_bps: Decimal = Field(default=Decimal(5), ge=0, lt=BPS)
    commission_bps: Decimal = Field(default=Decimal(2), ge=0)
    min_commission: Decimal = Field(default=Decimal("1.00"), ge=0)


@dataclass(frozen=True)
class _Execution:
    """A priced market order, ready to be applied to the ledger."""

    order_id: str
    request: OrderRequest
    instrument: Instrument
    price: Decimal
    fx_rate: Decimal
    notional_base: Decimal
    commission_base: Decimal
    at: datetime

    def apply(self, ledger: SimLedger) -> SimLedger:
        """The ledger after this execution; raises OrderRejectedError when it cannot happen."""
        symbol, quantity = self.instrument.symbol, self.request.quantity
        if self.request.side is Side.BUY:
            return ledger.bought(
                symbol,
                quantity,
                self.price,
                self.instrument.currency,
                self.notional_base,
                self.commission_base,
                self.at,
            )
        return ledger.sold(symbol, quantity, self.notional_base, self.commission_base)

    def filled(self) -> Order:
        """The order, completely filled by one fill."""
        fill = Fill(
            order_id=self.order_id,
            client_order_id=self.request.client_order_id,
            symbol=self.instrument.symbol,
            side=self.request.side,
            quantity=self.request.quantity,
            price=self.price,
            currency=self.instrument.currency,
            fx_rate=self.fx_rate,
            commission_base=self.commission_base,
            at=self.at,
        )
        filled = {"filled_quantity": self.request.quantity, "filled_avg_price": self.price, "fills": (fill,)}
        return self._order(OrderStatus.FILLED).model_copy(update=filled)

    def rejected(self, reason: str) -> Order:
        """The order, rejected for ``reason`` with nothing filled."""
        return self._order(OrderStatus.REJECTED).model_copy(update={"reject_reason": reason})

    def _order(self, status: OrderStatus) -> Order:
        return Order(
            id=self.order_id,
            client_order_id=self.request.client_order_id,
            symbol=self.instrument.symbol,
            side=self.request.side,
            quantity=self.request.quantity,
            status=status,
            submitted_at=self.at,
        )


class SimulatedBroker:
    """A paper venue implementing the ``Broker`` port over a persistent ``SimLedger``."""

    name: str = "sim"

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        feed: MarketFeed,
        store: LedgerStore,
        config: SimConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self._instruments = dict(instruments)
        self._feed = feed
        self._store = store
        self._config = config
        self._clock = clock
        self._ledger: SimLedger | None = None
        self._lock = asyncio.Lock()

    async def account(self) -> Account:
        """Cash, positions value and equity in the base currency."""
        return (await self.valuation())[0]

    async def positions(self) -> list[Position]:
        """Open positions by symbol, valued at the latest prices."""
        return self._valued(self._loaded())

    async def valuation(self) -> tuple[Account, list[Position]]:
        """``account()`` and ``positions()`` of one read of the ledger, valued once (a replay asks daily)."""
        ledger = self._loaded()
        positions = self._valued(ledger)
        value = sum((p.market_value_base for p in positions), ZERO)
        account = Account(base_currency=ledger.base_currency, cash=ledger.cash, positions_value=value,
                          equity=ledger.cash + value, at=self._now())
        return account, positions

    async def submit(self, request: OrderRequest) -> Order:
        """Fill a market order now; a repeated client_order_id returns the recorded order."""
        async with self._lock:
            ledger = self._loaded()
            existing = ledger.orders.get(request.client_order_id)
            if existing is not None:
                return existing
            execution = self._priced(ledger, request)
            try:
                updated = execution.apply(ledger)
            except OrderRejectedError as exc:
                self._commit(ledger.with_order(execution.rejected(str(exc))))
                raise
            order = execution.filled()
            self._commit(updated.with_order(order))
            return order

    async def order_by_client_id(self, client_order_id: str) -> Order | None:
        """The order submitted with ``client_order_id``, if any."""
        return self._loaded().orders.get(client_order_id)

    def is_tradable(self, symbol: str) -> bool:
        """Whether the symbol is in this venue's universe and marked tradable."""
        instrument = self._instruments.get(symbol)
        return instrument is not None and instrument.tradable

    async def orders(self) -> list[Order]:
        """Every order ever submitted, filled or rejected, oldest first."""
        return list(self._loaded().orders.values())

    async def ledger(self) -> SimLedger:
        """The current ledger snapshot (read-only)."""
        return self._loaded()

    def _loaded(self) -> SimLedger:
        """The ledger as stored now, created on first use.

        Reloaded on every call: the store is the source of truth, and another process (the daemon
        and a CLI approval) may have traded since this one last looked.
        """
        ledger = self._store.load()
        if ledger is None:
            ledger = SimLedger.new(self._config.base_currency, self._config.initial_cash, self._now())
            self._store.save(ledger)
        elif ledger.base_currency != self._config.base_currency:
            raise FatalBrokerError(
                f"the saved simulated ledger is in {ledger.base_currency} but the configured base "
                f"currency is {self._config.base_currency}; use a new ledger or fix the config",
                code="BASE_CURRENCY_MISMATCH",
            )
        self._ledger = ledger
        return ledger

    def _commit(self, ledger: SimLedger) -> None:
        """Save first, so memory never runs ahead of what survives a restart."""
        self._store.save(ledger)
        self._ledger = ledger

    def _priced(self, ledger: SimLedger, request: OrderRequest) -> _Execution:
        """Check the request against the universe and price it against the feed."""
        instrument = self._instrument(request)
        price = self._price(instrument.symbol, instrument.currency)
        if price is None:
            raise RetryableBrokerError(
                f"NO_QUOTE: symbol={instrument.symbol}, no {instrument.currency} quote available",
                code="NO_QUOTE",
            )
        fx_rate = self._fx(instrument.currency)
        if fx_rate is None:
            raise RetryableBrokerError(
                f"NO_FX_RATE: currency={instrument.currency}, base={self._config.base_currency}",
                code="NO_FX_RATE",
            )
        fill_price, notional_base, commission = fill_terms(
            self._config, request.quantity, price, fx_rate, buy=request.side is Side.BUY
        )
        return _Execution(
            order_id=ledger.next_order_id(),
            request=request,
            instrument=instrument,
            price=fill_price,
            fx_rate=fx_rate,
            notional_base=notional_base,
            commission_base=commission,
            at=self._now(),
        )

    def _instrument(self, request: OrderRequest) -> Instrument:
        """The instrument the request trades, if this venue accepts the order at all."""
        instrument = self._instruments.get(request.symbol)
        if instrument is None:
            raise OrderRejectedError(
                f"UNKNOWN_SYMBOL: symbol={request.symbol} is not in this venue's universe",
                code="UNKNOWN_SYMBOL",
            )
        if not instrument.tradable:
            raise OrderRejectedError(f"NOT_TRADABLE: symbol={request.symbol}", code="NOT_TRADABLE")
        if not instrument.fractional and request.quantity != request.quantity.to_integral_value():
            raise OrderRejectedError(
                f"FRACTIONAL_NOT_ALLOWED: symbol={request.symbol}, quantity={request.quantity}; "
                "this instrument trades in whole units",
                code="FRACTIONAL_NOT_ALLOWED",
            )
        return instrument

    def _valued(self, ledger: SimLedger) -> list[Position]:
        """Ledger positions valued in base; fall back to avg price, then to cost, when data is missing."""
        valued = []
        for symbol, held in sorted(ledger.positions.items()):
            price = self._price(symbol, held.currency) or held.avg_price
            fx_rate = self._fx(held.currency)
            value = held.quantity * price * fx_rate if fx_rate is not None else held.cost_base
            valued.append(
                Position(
                    symbol=symbol,
                    quantity=held.quantity,
                    avg_price=held.avg_price,
                    currency=held.currency,
                    cost_base=held.cost_base,
                    market_price=price,
                    market_value_base=value,
                    opened_at=held.opened_at,
                )
            )
        return valued

    def _price(self, symbol: str, currency: str) -> Decimal | None:
        """The latest quote price, or None when missing or quoted in another currency."""
        quote = self._feed.quote(symbol)
        if quote is None or quote.currency != currency:
            return None
        return quote.price

    def _fx(self, currency: str) -> Decimal | None:
        """Base units per unit of ``currency``; None when the feed has no usable rate."""
        if currency == self._config.base_currency:
            return ONE
        rate = self._feed.fx_rate(currency)
        return rate if rate is not None and rate > 0 else None

    def _now(self) -> datetime:
        """The injected clock's time, which must be timezone-aware."""
        at = self._clock()
        if at.utcoffset() is None:
            raise ValueError("the simulated broker's clock must return timezone-aware datetimes")
        return at
