"""The desk trading on Alpaca: build_app with PAPERDESK_BROKER=alpaca against the local Alpaca server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.desk.cycle import run_cycle
from bot.settings import SettingsError
from bot.wiring import App, alpaca_broker
from broker.alpaca import AlpacaBroker
from broker.errors import FatalBrokerError
from tests.bot.conftest import AppFactory
from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpaca

pytestmark = pytest.mark.asyncio


@pytest.fixture
def alpaca() -> Iterator[FakeAlpaca]:
    server = FakeAlpaca(cash=Decimal(100_000))
    server.start()
    yield server
    server.stop()


def wired(make_app: AppFactory, alpaca: FakeAlpaca, **overrides: Any) -> App:
    """An app on the Alpaca server, which quotes what the desk's market data says; retries without waits."""
    # synthetic seed 2 with min_confidence 0.5: the rules policy makes five SAFE buys and one BORDERLINE
    values: dict[str, Any] = {"broker": "alpaca", "universe": "us", "ALPACA_API_KEY": KEY,
                              "ALPACA_SECRET_KEY": SECRET, "alpaca_url": alpaca.url, "alpaca_data_url": alpaca.url,
                              "synthetic_seed": 2, "risk": {"min_confidence": 0.5}}
    app = make_app(**{**values, **overrides})
    assert isinstance(app.desk.broker, AlpacaBroker)
    alpaca.prices = {s: q.price for s, q in app.desk.snapshot().quotes.items() if q.currency == "USD"}
    app.desk.broker = alpaca_broker(app.settings, app.desk.universe, app.desk.market, app.desk.clock,
                                    backoff_seconds=0, poll_seconds=0, timeout_seconds=2)
    app.desk.retry_delay = 0
    return app


async def test_cycle_trades_the_us_universe_on_alpaca(make_app: AppFactory, alpaca: FakeAlpaca) -> None:
    app = wired(make_app, alpaca)

    report = await run_cycle(app.desk)

    filled = [p for p in report.proposals if p.status == "FILLED"]
    assert filled and report.base_currency == "USD"
    for line in filled:
        [order] = alpaca.orders_for(line.id)  # client_order_id = proposal id, once
        assert Decimal(order["filled_qty"]) == line.quantity
        assert app.store.order_for(line.id) is not None
    held = {p.symbol: p.quantity for p in await app.desk.broker.positions()}
    assert held == {p.symbol: p.quantity for p in filled}
    assert report.cash_after == (alpaca.cash).quantize(Decimal("0.01"))
    assert not report.alerts


async def test_after_the_close_orders_are_queued_and_proposals_stay_submitted(make_app: AppFactory,
                                                                              alpaca: FakeAlpaca) -> None:
    app = wired(make_app, alpaca)
    alpaca.close_market()

    report = await run_cycle(app.desk)

    safe = [p for p in report.proposals if p.level == "SAFE"]
    assert safe and all(p.status == "SUBMITTED" and p.fill_price is None for p in safe)
    assert all(alpaca.orders_for(p.id)[0]["status"] == "accepted" for p in safe)
    assert not report.alerts and app.store.fills() == []
    cycle = app.store.get_cycle(report.cycle_id)
    assert cycle is not None and cycle.status == "completed"


async def test_insufficient_buying_power_marks_the_proposal_broker_rejected(make_app: AppFactory,
                                                                          alpaca: FakeAlpaca) -> None:
    app = wired(make_app, alpaca)
    alpaca.buying_power = Decimal(1)  # cash says yes, Alpaca's buying power says no

    report = await run_cycle(app.desk)

    safe = [p for p in report.proposals if p.level == "SAFE"]
    assert safe and all(p.status == "BROKER_REJECTED" for p in safe)
    for line in safe:
        stored = app.store.get_proposal(line.id)
        assert stored is not None and "insufficient buying power" in (stored.decision_reason or "")
    assert alpaca.orders == []


async def test_broker_down_for_the_cycle_loses_no_proposal_and_raises_one_alert(make_app: AppFactory,
                                                                              alpaca: FakeAlpaca) -> None:
    app = wired(make_app, alpaca)
    alpaca.outage(503, starting_at=("POST", "/v2/orders"))  # Alpaca goes away as the first order is sent
    started = app.desk.clock() - timedelta(seconds=1)

    report = await run_cycle(app.desk)

    stored = {row.id: row.status for row in app.store.proposals(cycle_id=report.cycle_id, limit=1000)}
    assert set(stored) == {p.id for p in report.proposals} and stored
    safe = [p.id for p in report.proposals if p.level == "SAFE"]
    assert safe and all(stored[i] in {"SAFE", "SUBMITTING"} for i in safe), stored  # not rejected, not lost
    alerts = [a for a in app.store.alerts(limit=50) if a.at >= started]
    assert len(alerts) == 1 and "ALPACA_UNAVAILABLE" in alerts[0].message
    assert report.alerts == [alerts[0].message]
    assert alpaca.orders == []
    cycle = app.store.get_cycle(report.cycle_id)
    assert cycle is not None and cycle.status == "completed"


async def test_bad_keys_stop_the_cycle_with_a_clear_message(make_app: AppFactory, alpaca: FakeAlpaca) -> None:
    app = wired(make_app, alpaca, ALPACA_API_KEY="PKWRONG")

    with pytest.raises(FatalBrokerError, match="check ALPACA_API_KEY and ALPACA_SECRET_KEY"):
        await run_cycle(app.desk)

    assert app.store.cycles(limit=5) == [] and alpaca.orders == []


async def test_missing_keys_are_a_one_line_settings_error(make_app: AppFactory) -> None:
    with pytest.raises(SettingsError) as caught:
        make_app(broker="alpaca", universe="us", ALPACA_API_KEY="PK")

    assert str(caught.value) == ("PAPERDESK_BROKER=alpaca needs ALPACA_SECRET_KEY "
                                 "(paper keys from the Alpaca dashboard)")


async def test_seed_universe_on_alpaca_makes_euronext_unsafe(make_app: AppFactory, alpaca: FakeAlpaca) -> None:
    app = wired(make_app, alpaca, universe="seed", synthetic_seed=42, risk={"min_confidence": 0.75})

    report = await run_cycle(app.desk)

    euronext = [p for p in report.proposals if p.symbol.endswith(".PA")]
    assert euronext, "the rules policy proposes Euronext stocks on this date"
    for line in euronext:
        assert line.level == "UNSAFE" and line.status == "REJECTED_BY_RISK"
        assert "NOT_TRADABLE_AT_BROKER" in line.codes
    assert all(order["symbol"] in alpaca.prices for order in alpaca.orders)
