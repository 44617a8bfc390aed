"""Idempotency, persistence, valuation and accounting identities of the simulated broker."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.errors import FatalBrokerError, OrderRejectedError
from broker.ledger import InMemoryLedgerStore, JsonFileLedgerStore, SimLedger
from broker.models import OrderRequest, OrderStatus, Side
from broker.protocol import Broker
from broker.simulated import SimConfig, SimulatedBroker
from tests.broker.conftest import MakeBroker
from tests.broker.fakes import INSTRUMENTS, T0, CountingStore, FakeClock, FakeFeed

D = Decimal
INITIAL = D(100_000)


def order(side: Side, symbol: str, qty: str | int, cid: str) -> OrderRequest:
    return OrderRequest(client_order_id=cid, symbol=symbol, side=side, quantity=D(qty))


def test_simulated_broker_implements_the_broker_port(broker: SimulatedBroker) -> None:
    port: Broker = broker
    assert port.name == "sim"
    assert port.is_tradable("SPY")
    assert not port.is_tradable("HALTED")
    assert not port.is_tradable("NOPE")


async def test_fresh_ledger_is_created_lazily_and_saved(broker: SimulatedBroker, store: CountingStore) -> None:
    assert store.saves == 0

    account = await broker.account()

    assert store.saves == 1
    assert store.ledger == SimLedger.new("EUR", INITIAL, T0)
    assert (account.cash, account.positions_value, account.equity, account.at) == (INITIAL, D(0), INITIAL, T0)


async def test_duplicate_client_order_id_returns_same_order_and_keeps_cash(
    broker: SimulatedBroker, feed: FakeFeed
) -> None:
    first = await broker.submit(order(Side.BUY, "MC.PA", 10, "p-1"))
    cash = (await broker.account()).cash
    feed.prices["MC.PA"] = D(999)

    again = await broker.submit(order(Side.BUY, "MC.PA", 10, "p-1"))

    assert again == first
    assert (await broker.account()).cash == cash
    assert len(await broker.orders()) == 1
    assert (await broker.positions())[0].quantity == D(10)


async def test_concurrent_duplicate_submits_produce_one_order(broker: SimulatedBroker) -> None:
    request = order(Side.BUY, "MC.PA", 10, "p-1")

    first, second = await asyncio.gather(broker.submit(request), broker.submit(request))

    assert first == second
    assert len(await broker.orders()) == 1
    assert (await broker.account()).cash == INITIAL - D("7003.50") - D("1.40")


async def test_concurrent_distinct_submits_get_distinct_ids(broker: SimulatedBroker) -> None:
    requests = [order(Side.BUY, "AIR.PA", 1, f"p-{n}") for n in range(20)]

    orders = await asyncio.gather(*(broker.submit(r) for r in requests))

    assert len({o.id for o in orders}) == 20
    assert (await broker.positions())[0].quantity == D(20)


async def test_state_survives_a_restart(make_broker: MakeBroker, feed: FakeFeed, tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.json"
    before = make_broker(JsonFileLedgerStore(path))
    await before.submit(order(Side.BUY, "MC.PA", 10, "a"))
    await before.submit(order(Side.BUY, "SPY", 20, "b"))
    await before.submit(order(Side.SELL, "MC.PA", 4, "c"))
    with pytest.raises(OrderRejectedError):
        await before.submit(order(Side.BUY, "MC.PA", 1000, "d"))

    after = make_broker(JsonFileLedgerStore(path))

    assert await after.ledger() == await before.ledger()
    assert await after.account() == await before.account()
    assert await after.positions() == await before.positions()
    assert await after.orders() == await before.orders()
    assert [o.client_order_id for o in await after.orders()] == ["a", "b", "c", "d"]
    rejected = await after.order_by_client_id("d")
    assert rejected is not None and rejected.status is OrderStatus.REJECTED
    cash = (await after.account()).cash
    assert await after.submit(order(Side.BUY, "SPY", 20, "b")) == await before.order_by_client_id("b")
    assert (await after.account()).cash == cash
    assert (await after.submit(order(Side.BUY, "AIR.PA", 1, "e"))).id == "sim-5"


async def test_round_trip_realises_proceeds_minus_cost_minus_commissions(
    broker: SimulatedBroker, feed: FakeFeed
) -> None:
    bought = await broker.submit(order(Side.BUY, "SPY", 10, "in"))
    feed.prices["SPY"], feed.fx["USD"] = D(520), D("0.95")
    sold = await broker.submit(order(Side.SELL, "SPY", 10, "out"))

    buy_fill, sell_fill = bought.fills[0], sold.fills[0]
    cost = buy_fill.quantity * buy_fill.price * buy_fill.fx_rate
    proceeds = sell_fill.quantity * sell_fill.price * sell_fill.fx_rate
    commissions = buy_fill.commission_base + sell_fill.commission_base
    ledger = await broker.ledger()
    assert (cost, proceeds) == (D("4502.25"), D("4937.53"))  # 10 × 520 × 0.9995 × 0.95 = 4937.53
    assert commissions == D("2.00")
    assert ledger.realized_pnl_base == proceeds - cost - commissions
    assert ledger.commissions_base == commissions
    assert ledger.cash == INITIAL + ledger.realized_pnl_base
    assert ledger.positions == {}


async def test_equity_is_cash_plus_positions_value(broker: SimulatedBroker, feed: FakeFeed) -> None:
    await broker.submit(order(Side.BUY, "MC.PA", 10, "a"))
    await broker.submit(order(Side.BUY, "SPY", 20, "b"))
    feed.prices["MC.PA"] = D(710)

    account = await broker.account()
    positions = await broker.positions()

    assert [p.symbol for p in positions] == ["MC.PA", "SPY"]
    assert account.positions_value == D(7100) + D(20) * D(500) * D("0.9")
    assert account.positions_value == sum(p.market_value_base for p in positions)
    assert account.equity == account.cash + account.positions_value


async def test_position_without_quote_is_valued_at_avg_price(broker: SimulatedBroker, feed: FakeFeed) -> None:
    await broker.submit(order(Side.BUY, "SPY", 10, "a"))
    del feed.prices["SPY"]

    (position,) = await broker.positions()

    assert position.market_price == D("500.25")
    assert position.market_value_base == D(10) * D("500.25") * D("0.9")
    assert (await broker.account()).positions_value == position.market_value_base


async def test_position_without_fx_rate_is_valued_at_cost(broker: SimulatedBroker, feed: FakeFeed) -> None:
    await broker.submit(order(Side.BUY, "SPY", 10, "a"))
    del feed.fx["USD"]

    (position,) = await broker.positions()

    assert position.market_value_base == position.cost_base


async def test_ledger_in_another_base_currency_is_fatal(make_broker: MakeBroker) -> None:
    store = InMemoryLedgerStore(SimLedger.new("USD", INITIAL, T0))

    with pytest.raises(FatalBrokerError) as excinfo:
        await make_broker(store).account()

    assert excinfo.value.code == "BASE_CURRENCY_MISMATCH"


async def test_naive_clock_is_refused(feed: FakeFeed) -> None:
    naive = SimulatedBroker(INSTRUMENTS, feed, InMemoryLedgerStore(), SimConfig(), lambda: datetime(2025, 1, 1))

    with pytest.raises(ValueError, match="timezone-aware"):
        await naive.account()


trades = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.sampled_from(["MC.PA", "SPY", "BTC"]),
        st.integers(min_value=1, max_value=40),
        st.integers(min_value=50, max_value=900),
        st.sampled_from([D("0.8"), D("0.9"), D("1.1")]),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(trades)
def test_cash_plus_cost_equals_initial_plus_realised(steps: list[tuple[Side, str, int, int, Decimal]]) -> None:
    clock = FakeClock()
    feed = FakeFeed(clock)
    sim = SimulatedBroker(INSTRUMENTS, feed, InMemoryLedgerStore(), SimConfig(), clock)

    async def run() -> SimLedger:
        for n, (side, symbol, qty, price, fx) in enumerate(steps):
            feed.prices[symbol], feed.fx["USD"] = D(price), fx
            try:
                await sim.submit(order(side, symbol, qty, f"p-{n}"))
            except OrderRejectedError:
                pass
        return await sim.ledger()

    ledger = asyncio.run(run())

    invested = sum((p.cost_base for p in ledger.positions.values()), D(0))
    assert ledger.cash + invested == INITIAL + ledger.realized_pnl_base
    fills = [f for o in ledger.orders.values() for f in o.fills]
    assert ledger.commissions_base == sum((f.commission_base for f in fills), D(0))
    assert all(p.quantity > 0 for p in ledger.positions.values())
    assert len(ledger.orders) == len(steps)
