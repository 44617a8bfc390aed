"""The daemon (`paperdesk run`) on PAPERDESK_BROKER=alpaca against the local Alpaca server: start-up
reconcile settles what a crash left with Alpaca, and scheduled cycles send orders keyed by proposal id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FixedClock, system_clock
from bot.daemon.daemon import Daemon
from bot.desk.cycle import run_cycle
from bot.wiring import App
from broker.alpaca import AlpacaBroker
from broker.models import Order, OrderRequest
from tests.bot.conftest import AppFactory
from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpaca


class Crash(Exception):
    """The process dies here."""


class DiesAfterAlpacaTakesTheOrder:
    """The Alpaca broker of a process that dies once Alpaca has the first order, before the reply is recorded."""

    def __init__(self, inner: AlpacaBroker) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def submit(self, request: OrderRequest) -> Order:
        """Alpaca takes (and fills) the order; this process never learns of it."""
        await self.inner.submit(request)
        raise Crash(f"killed after sending {request.client_order_id}")


class Alerts:
    """A notifier that keeps the daemon's alerts."""

    def __init__(self, told: list[str]) -> None:
        self.told = told

    async def alert(self, text: str) -> None:
        """Keep the alert."""
        self.told.append(text)


def alpaca_app(make_app: AppFactory, alpaca: FakeAlpaca, **overrides: Any) -> App:
    """What `paperdesk run` builds from PAPERDESK_BROKER=alpaca and the keys, on the local server."""
    app = make_app(broker="alpaca", universe="us", ALPACA_API_KEY=KEY, ALPACA_SECRET_KEY=SECRET,
                   alpaca_url=alpaca.url, synthetic_seed=2, risk={"min_confidence": 0.5}, **overrides)
    assert isinstance(app.desk.broker, AlpacaBroker)
    alpaca.prices = {s: q.price for s, q in app.desk.snapshot().quotes.items() if q.currency == "USD"}
    return app


def _status(app: App, proposal_id: str) -> str:
    row = app.store.get_proposal(proposal_id)
    assert row is not None
    return str(row.status)


async def test_start_up_reconcile_records_the_fill_a_crash_left_at_alpaca(make_app: AppFactory,
                                                                          alpaca: FakeAlpaca) -> None:
    _, sent = await _crash_after_alpaca_took_an_order(make_app, alpaca)

    daemon = Daemon(alpaca_app(make_app, alpaca))  # the next `paperdesk run`
    told: list[str] = []
    daemon.notifiers.notifiers.append(Alerts(told))  # type: ignore[arg-type]
    await daemon.start()
    await daemon.stop()

    assert _status(daemon.app, sent) == "FILLED"
    [fill] = daemon.app.store.fills()
    assert fill.client_order_id == sent and fill.quantity == Decimal(alpaca.orders[0]["filled_qty"])
    assert len(alpaca.orders) == 1  # reconciling asked Alpaca; it sent nothing again
    assert len(told) == 1 and sent in told[0] and "reconcile at start failed" not in told[0], told


async def _crash_after_alpaca_took_an_order(make_app: AppFactory, alpaca: FakeAlpaca,
                                            **overrides: Any) -> tuple[App, str]:
    """A process that died with its first order at Alpaca (filled) and SUBMITTING in the database."""
    crashed = alpaca_app(make_app, alpaca, **overrides)
    crashed.desk.broker = DiesAfterAlpacaTakesTheOrder(crashed.desk.broker)  # type: ignore[assignment]
    with pytest.raises(Crash):
        await run_cycle(crashed.desk)
    [sent] = [o["client_order_id"] for o in alpaca.orders]
    assert _status(crashed, sent) == "SUBMITTING" and crashed.store.fills() == []
    return crashed, sent


async def test_paperdesk_run_on_alpaca_reconciles_at_start_and_stops_cleanly(make_app: AppFactory, alpaca: FakeAlpaca,
                                                                             db_url: str, tmp_path: Path) -> None:
    # the crash happens on the wall clock `paperdesk run` uses, so no scheduled cycle was missed meanwhile
    crashed, sent = await _crash_after_alpaca_took_an_order(make_app, alpaca, clock=FixedClock(system_clock()))
    env = {**os.environ, "PAPERDESK_HOME": str(tmp_path / "run"), "PAPERDESK_DATABASE_URL": db_url,
           "PAPERDESK_POLICY": "rules", "PAPERDESK_BROKER": "alpaca", "PAPERDESK_UNIVERSE": "us",
           "ALPACA_API_KEY": KEY, "ALPACA_SECRET_KEY": SECRET, "PAPERDESK_ALPACA_URL": alpaca.url}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    returncode, out, err = _run_until_settled(env, crashed, sent)

    assert returncode == 0, err
    assert _status(crashed, sent) == "FILLED" and [f.client_order_id for f in crashed.store.fills()] == [sent]
    assert "reconcile at start failed" not in out + err and "reconcile_failed" not in out + err
    assert len(alpaca.orders) == 1


def _run_until_settled(env: dict[str, str], app: App, proposal_id: str) -> tuple[int, str, str]:
    """`paperdesk run` until the proposal is FILLED (or it exits), then SIGTERM: exit code, stdout, stderr."""
    paperdesk = Path(sys.executable).parent / "paperdesk"
    proc = subprocess.Popen([str(paperdesk), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _status(app, proposal_id) != "FILLED" and proc.poll() is None:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err


async def test_the_daemons_cycle_sends_each_order_to_alpaca_once_keyed_by_proposal_id(
        make_app: AppFactory, alpaca: FakeAlpaca) -> None:
    daemon = Daemon(alpaca_app(make_app, alpaca))
    reconciled = await daemon.reconcile()
    assert reconciled is not None and reconciled.clean  # a fresh account: nothing to settle, nothing differs

    report = await daemon.runner.cycle()

    filled = [p for p in report.proposals if p.status == "FILLED"]
    assert filled and report.base_currency == "USD" and not report.alerts
    assert sorted(o["client_order_id"] for o in alpaca.orders) == sorted(p.id for p in filled)
    for line in filled:
        [order] = alpaca.orders_for(line.id)
        assert order["status"] == "filled" and Decimal(order["filled_qty"]) == line.quantity
    again = await daemon.reconcile()
    assert again is not None and again.clean  # the fills recorded add up to what Alpaca holds
