"""Fakes for the simulated broker's collaborators: a dict-backed feed, a settable clock, a counting store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from broker.ledger import InMemoryLedgerStore, SimLedger
from broker.models import AssetClass, Instrument, Quote

T0 = datetime(2025, 3, 3, 21, 30, tzinfo=UTC)


def instrument(symbol: str, currency: str = "EUR", *, fractional: bool = False, tradable: bool = True) -> Instrument:
    """An instrument with just enough detail for the broker."""
    return Instrument(
        symbol=symbol,
        asset_class=AssetClass.US_EQUITY if currency == "USD" else AssetClass.EU_EQUITY,
        sector="test",
        currency=currency,
        exchange="TEST",
        fractional=fractional,
        tradable=tradable,
    )


INSTRUMENTS = {
    i.symbol: i
    for i in (
        instrument("MC.PA"),
        instrument("AIR.PA"),
        instrument("SPY", "USD"),
        instrument("BTC", "EUR", fractional=True),
        instrument("HALTED", tradable=False),
    )
}


@dataclass
class FakeClock:
    """A clock that only moves when told."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class FakeFeed:
    """Prices and FX rates held in dicts; absent keys mean no data."""

    clock: FakeClock
    prices: dict[str, Decimal] = field(default_factory=dict)
    fx: dict[str, Decimal] = field(default_factory=lambda: {"EUR": Decimal(1)})

    def quote(self, symbol: str) -> Quote | None:
        price = self.prices.get(symbol)
        if price is None:
            return None
        return Quote(symbol=symbol, price=price, currency=INSTRUMENTS[symbol].currency, at=self.clock())

    def fx_rate(self, currency: str) -> Decimal | None:
        return self.fx.get(currency)


class CountingStore(InMemoryLedgerStore):
    """An in-memory store that counts saves."""

    def __init__(self, ledger: SimLedger | None = None) -> None:
        super().__init__(ledger)
        self.saves = 0

    def save(self, ledger: SimLedger) -> None:
        self.saves += 1
        super().save(ledger)
