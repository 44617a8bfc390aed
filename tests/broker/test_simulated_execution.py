"""Pricing, costs, FX and order checks of the simulated broker."""

from __future__ import annotations

from decimal import Decimal

import pytest

from broker.errors import OrderRejectedError, RetryableBrokerError
from broker.models import OrderRequest, OrderStatus, Side
from broker.simulated import SimulatedBroker
from tests.broker.fakes import T0, CountingStore, FakeClock, FakeFeed

D = Decimal
INITIAL = D(100_000)


def buy(symbol: str, qty: str | int, cid: str = "p-1") -> OrderRequest:
    return OrderRequest(client_order_id=cid, symbol=symbol, side=Side.BUY, quantity=D(qty))


def sell(symbol: str, qty: str | int, cid: str = "p-2") -> OrderRequest:
    return OrderRequest(client_order_id=cid, symbol=symbol, side=Side.SELL, quantity=D(qty))


async def test_buy_fills_at_price_plus_slippage_with_commission(broker: SimulatedBroker) -> None:
    order = await broker.submit(buy("MC.PA", 10))

    assert order.status is OrderStatus.FILLED
    assert order.filled_quantity == D(10)
    assert order.filled_avg_price == D("700.35")  # 700 × (1 + 5/10,000)
    (fill,) = order.fills
    assert fill.commission_base == D("1.40")  # 7003.5 × 2/10,000, rounded to cents
    assert (fill.order_id, fill.fx_rate, fill.at, fill.currency) == (order.id, D(1), T0, "EUR")
    assert order.id == "sim-1"
    account = await broker.account()
    assert account.cash == INITIAL - D("7003.50") - D("1.40")


async def test_sell_receives_price_minus_slippage(broker: SimulatedBroker) -> None:
    await broker.submit(buy("MC.PA", 10))
    cash_before = (await broker.account()).cash

    order = await broker.submit(sell("MC.PA", 10))

    assert order.status is OrderStatus.FILLED
    assert order.filled_avg_price == D("699.65")
    assert order.fills[0].commission_base == D("1.40")  # 6996.5 × 2/10,000, rounded to cents
    assert (await broker.account()).cash == cash_before + D("6996.50") - D("1.40")
    assert await broker.positions() == []


async def test_small_order_pays_min_commission(broker: SimulatedBroker) -> None:
    order = await broker.submit(buy("AIR.PA", 1))

    assert order.fills[0].commission_base == D("1.00")
    assert (await broker.account()).cash == INITIAL - D("150.08") - D("1.00")  # 150.075 rounds half up


async def test_fractional_quantity_rejected_for_whole_share_instrument(
    broker: SimulatedBroker, store: CountingStore
) -> None:
    with pytest.raises(OrderRejectedError) as excinfo:
        await broker.submit(buy("MC.PA", "1.5"))

    assert excinfo.value.code == "FRACTIONAL_NOT_ALLOWED"
    assert await broker.order_by_client_id("p-1") is None
    assert (await broker.account()).cash == INITIAL


async def test_whole_quantity_written_with_decimals_is_accepted(broker: SimulatedBroker) -> None:
    order = await broker.submit(buy("MC.PA", "2.000"))

    assert order.status is OrderStatus.FILLED


async def test_fractional_instrument_accepts_fractions(broker: SimulatedBroker) -> None:
    order = await broker.submit(buy("BTC", "0.125"))

    assert order.filled_quantity == D("0.125")
    (position,) = await broker.positions()
    assert position.quantity == D("0.125")


async def test_usd_instrument_is_paid_in_eur_at_the_fx_rate(broker: SimulatedBroker) -> None:
    order = await broker.submit(buy("SPY", 10))

    fill = order.fills[0]
    assert (fill.price, fill.currency, fill.fx_rate) == (D("500.25"), "USD", D("0.9"))
    cost_base = D(10) * D("500.25") * D("0.9")
    assert fill.commission_base == D("1.00")
    assert (await broker.account()).cash == INITIAL - cost_base - D("1.00")
    (position,) = await broker.positions()
    assert (position.currency, position.avg_price) == ("USD", D("500.25"))
    assert position.cost_base == cost_base + D("1.00")
    assert position.market_value_base == D(10) * D(500) * D("0.9")


async def test_fx_change_moves_position_base_value(broker: SimulatedBroker, feed: FakeFeed) -> None:
    await broker.submit(buy("SPY", 10))
    feed.fx["USD"] = D("1.0")

    (position,) = await broker.positions()

    assert position.market_price == D(500)
    assert position.market_value_base == D(5000)
    assert position.unrealized_pnl_base == D(5000) - position.cost_base
    assert (await broker.account()).positions_value == D(5000)


async def test_valuation_is_account_and_positions_from_one_read(broker: SimulatedBroker, feed: FakeFeed) -> None:
    await broker.submit(buy("SPY", 10))
    await broker.submit(buy("MC.PA", 3, cid="p-3"))
    feed.fx["USD"] = D("0.9")

    account, positions = await broker.valuation()

    assert positions == await broker.positions()
    assert account == await broker.account()
    assert account.positions_value == sum((p.market_value_base for p in positions), D(0))
    assert account.equity == account.cash + account.positions_value


async def test_insufficient_cash_rejection_is_recorded_and_idempotent(
    broker: SimulatedBroker, store: CountingStore
) -> None:
    with pytest.raises(OrderRejectedError) as excinfo:
        await broker.submit(buy("MC.PA", 200))

    assert excinfo.value.code == "INSUFFICIENT_CASH"
    message = str(excinfo.value)
    assert "needed=140098.01" in message and "cash=100000.00" in message
    recorded = await broker.order_by_client_id("p-1")
    assert recorded is not None
    assert recorded.status is OrderStatus.REJECTED
    assert recorded.reject_reason == message
    assert (recorded.filled_quantity, recorded.fills) == (D(0), ())
    saves = store.saves

    retried = await broker.submit(buy("MC.PA", 200))

    assert retried == recorded
    assert store.saves == saves
    assert (await broker.account()).cash == INITIAL
    assert await broker.positions() == []


async def test_selling_more_than_held_is_rejected_and_recorded(broker: SimulatedBroker) -> None:
    await broker.submit(buy("MC.PA", 5))
    cash = (await broker.account()).cash

    with pytest.raises(OrderRejectedError) as excinfo:
        await broker.submit(sell("MC.PA", 6))

    assert excinfo.value.code == "INSUFFICIENT_POSITION"
    assert "requested=6" in str(excinfo.value) and "held=5" in str(excinfo.value)
    recorded = await broker.order_by_client_id("p-2")
    assert recorded is not None and recorded.status is OrderStatus.REJECTED
    assert (await broker.submit(sell("MC.PA", 6))) == recorded
    (position,) = await broker.positions()
    assert position.quantity == D(5)
    assert (await broker.account()).cash == cash


async def test_selling_what_is_not_held_is_rejected(broker: SimulatedBroker) -> None:
    with pytest.raises(OrderRejectedError) as excinfo:
        await broker.submit(sell("AIR.PA", 1))

    assert excinfo.value.code == "INSUFFICIENT_POSITION"


@pytest.mark.parametrize(("symbol", "code"), [("NOPE", "UNKNOWN_SYMBOL"), ("HALTED", "NOT_TRADABLE")])
async def test_unknown_or_untradable_symbol_is_rejected_without_a_record(
    broker: SimulatedBroker, symbol: str, code: str
) -> None:
    with pytest.raises(OrderRejectedError) as excinfo:
        await broker.submit(buy(symbol, 1))

    assert excinfo.value.code == code
    assert await broker.orders() == []


async def test_missing_quote_is_retryable_and_changes_nothing(
    broker: SimulatedBroker, feed: FakeFeed, store: CountingStore
) -> None:
    await broker.submit(buy("MC.PA", 1, cid="first"))
    before, saves = await broker.ledger(), store.saves
    del feed.prices["AIR.PA"]

    with pytest.raises(RetryableBrokerError) as excinfo:
        await broker.submit(buy("AIR.PA", 1))

    assert excinfo.value.code == "NO_QUOTE"
    assert await broker.ledger() == before
    assert store.saves == saves
    feed.prices["AIR.PA"] = D(150)
    assert (await broker.submit(buy("AIR.PA", 1))).status is OrderStatus.FILLED


async def test_missing_fx_rate_is_retryable(broker: SimulatedBroker, feed: FakeFeed) -> None:
    del feed.fx["USD"]

    with pytest.raises(RetryableBrokerError) as excinfo:
        await broker.submit(buy("SPY", 1))

    assert excinfo.value.code == "NO_FX_RATE"
    assert await broker.orders() == []


async def test_adding_to_a_position_averages_price_and_keeps_opened_at(
    broker: SimulatedBroker, feed: FakeFeed, clock: FakeClock
) -> None:
    await broker.submit(buy("MC.PA", 10, cid="a"))
    feed.prices["MC.PA"] = D(800)
    clock.advance(days=1)

    await broker.submit(buy("MC.PA", 30, cid="b"))

    (position,) = await broker.positions()
    assert position.quantity == D(40)
    assert position.avg_price == (D(10) * D("700.35") + D(30) * D("800.4")) / D(40)
    assert position.opened_at == T0


async def test_partial_sell_keeps_proportional_cost(broker: SimulatedBroker) -> None:
    await broker.submit(buy("MC.PA", 10))
    cost = (await broker.positions())[0].cost_base

    await broker.submit(sell("MC.PA", 4))

    (position,) = await broker.positions()
    assert position.quantity == D(6)
    assert position.avg_price == D("700.35")
    assert position.cost_base == cost - (cost * D(4) / D(10)).quantize(D("0.01"))
    assert (await broker.ledger()).realized_pnl_base == D("2798.60") - D("1.00") - (cost - position.cost_base)
