"""Fixtures wiring a SimulatedBroker to fakes: EUR base, MC.PA at 700 EUR, SPY at 500 USD, 1 USD = 0.9 EUR."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from broker.ledger import LedgerStore
from broker.simulated import SimConfig, SimulatedBroker
from tests.broker.fakes import INSTRUMENTS, CountingStore, FakeClock, FakeFeed

MakeBroker = Callable[..., SimulatedBroker]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def feed(clock: FakeClock) -> FakeFeed:
    return FakeFeed(
        clock,
        prices={"MC.PA": Decimal(700), "AIR.PA": Decimal(150), "SPY": Decimal(500), "BTC": Decimal(80_000)},
        fx={"EUR": Decimal(1), "USD": Decimal("0.9")},
    )


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def make_broker(feed: FakeFeed, store: CountingStore, clock: FakeClock) -> MakeBroker:
    def make(ledger_store: LedgerStore | None = None, config: SimConfig | None = None) -> SimulatedBroker:
        return SimulatedBroker(INSTRUMENTS, feed, ledger_store or store, config or SimConfig(), clock)

    return make


@pytest.fixture
def broker(make_broker: MakeBroker) -> SimulatedBroker:
    return make_broker()
