"""The desk trading on Alpaca: build_app with PAPERDESK_BROKER=alpaca against the local Alpaca server."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.market import SyntheticMarketData
from agent.universe import load_universe
from bot.cli.app import app as cli
from bot.desk.cycle import run_cycle
from bot.settings import SettingsError
from bot.wiring import App, alpaca_broker
from broker.alpaca import AlpacaBroker
from broker.errors import FatalBrokerError
from tests.bot.conftest import FRIDAY_CLOSE, AppFactory
from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpaca


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


async def test_queued_orders_that_fill_at_the_open_are_recorded_by_the_next_cycle(make_app: AppFactory,
                                                                                   alpaca: FakeAlpaca) -> None:
    app = wired(make_app, alpaca)
    alpaca.close_market()
    first = await run_cycle(app.desk)
    queued = [p.id for p in first.proposals if p.status == "SUBMITTED"]
    alpaca.open_market()

    await run_cycle(app.desk)

    assert queued and all(_status(app, i) == "FILLED" for i in queued)
    assert {f.client_order_id for f in app.store.fills()} >= set(queued)
    assert all(len(alpaca.orders_for(i)) == 1 for i in queued)


async def test_after_an_outage_the_next_cycle_settles_the_order_alpaca_never_got(make_app: AppFactory,
                                                                                 alpaca: FakeAlpaca) -> None:
    app = wired(make_app, alpaca)
    alpaca.outage(503, starting_at=("POST", "/v2/orders"))
    first = await run_cycle(app.desk)
    in_flight = [p.id for p in first.proposals if _status(app, p.id) == "SUBMITTING"]
    alpaca.restore()

    second = await run_cycle(app.desk)

    assert all(_status(app, i) == "CANCELED" for i in in_flight)  # Alpaca has no such order: never sent
    assert [p for p in second.proposals if p.status == "FILLED"]


async def test_alpaca_bars_feed_the_cycle(make_app: AppFactory, alpaca: FakeAlpaca) -> None:
    universe = load_universe("us")
    history = SyntheticMarketData(seed=2, base_currency="USD").history(universe.instruments, FRIDAY_CLOSE.date(), 500)
    for symbol in universe.symbols:
        closes, volumes = history.close[symbol].dropna(), history.volume[symbol]
        alpaca.add_bars(symbol, [(f"{day:%Y-%m-%d}", float(close), int(volumes[day]))
                                 for day, close in closes.items()])
    alpaca.page_size = 1_000  # the SDK follows next_page_token across several pages
    app = wired(make_app, alpaca, data="alpaca")

    report = await run_cycle(app.desk)

    assert report.data_source == "alpaca" and not report.synthetic
    assert alpaca.requests.count(("GET", "/v2/stocks/bars")) > 1
    assert [p for p in report.proposals if p.status == "FILLED"]


def test_cli_cycle_on_alpaca(alpaca: FakeAlpaca) -> None:
    env = {"PAPERDESK_BROKER": "alpaca", "PAPERDESK_UNIVERSE": "us", "ALPACA_API_KEY": KEY,
           "ALPACA_SECRET_KEY": SECRET, "PAPERDESK_ALPACA_URL": alpaca.url, "PAPERDESK_SYNTHETIC_SEED": "2",
           "PAPERDESK_RISK__MIN_CONFIDENCE": "0.5"}
    universe = load_universe("us")
    history = SyntheticMarketData(seed=2, base_currency="USD").history(universe.instruments, FRIDAY_CLOSE.date(), 5)
    alpaca.prices = {s: Decimal(str(history.close[s].dropna().iloc[-1])) for s in universe.symbols}

    result = CliRunner().invoke(cli, ["cycle", "--json", "--as-of", "2026-11-20"], env=env)

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    filled = [p for p in document["proposals"] if p["status"] == "FILLED"]
    assert filled and all(len(alpaca.orders_for(p["id"])) == 1 for p in filled)


def test_cli_without_alpaca_keys_is_a_one_line_error() -> None:
    result = CliRunner().invoke(cli, ["cycle", "--as-of", "2026-11-20"], env={"PAPERDESK_BROKER": "alpaca"})

    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [
        "error: PAPERDESK_BROKER=alpaca needs ALPACA_API_KEY and ALPACA_SECRET_KEY "
        "(paper keys from the Alpaca dashboard)"]


def _status(app: App, proposal_id: str) -> str:
    row = app.store.get_proposal(proposal_id)
    assert row is not None
    return str(row.status)


def test_seed_universe_on_alpaca_says_which_instruments_cannot_trade(make_app: AppFactory,
                                                                     alpaca: FakeAlpaca) -> None:
    app = make_app(broker="alpaca", universe="seed", ALPACA_API_KEY=KEY, ALPACA_SECRET_KEY=SECRET,
                   alpaca_url=alpaca.url)

    [notice] = [n for n in app.notices if "NOT_TRADABLE_AT_BROKER" in n]
    assert notice.startswith("16 instrument(s) of the seed universe cannot be traded at alpaca (CAC.PA, MC.PA")
    assert notice.endswith("PAPERDESK_UNIVERSE=us is the universe for Alpaca")
    assert not [n for n in make_app(broker="alpaca", universe="us", ALPACA_API_KEY=KEY, ALPACA_SECRET_KEY=SECRET,
                                    alpaca_url=alpaca.url).notices if "NOT_TRADABLE" in n]


def test_an_alpaca_url_without_a_scheme_is_a_one_line_settings_error(make_app: AppFactory) -> None:
    with pytest.raises(SettingsError) as caught:
        make_app(broker="alpaca", universe="us", ALPACA_API_KEY=KEY, ALPACA_SECRET_KEY=SECRET,
                 alpaca_url="paper-api.alpaca.markets")

    assert str(caught.value) == ("PAPERDESK_ALPACA_URL='paper-api.alpaca.markets' is not an http(s) URL, "
                                 "e.g. https://paper-api.alpaca.markets")
