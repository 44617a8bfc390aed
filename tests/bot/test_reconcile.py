"""Reconciliation on a real database and the simulated broker: every crash state is settled once."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from bot.cli.app import app as cli_app
from bot.desk.cycle import run_cycle
from bot.desk.reconcile import NOT_SUBMITTED, reconcile
from bot.wiring import App
from broker.models import OrderRequest, Side
from risk.lifecycle import ProposalStatus
from storage.instance_lock import submission_lock
from tests.bot.conftest import AppFactory

pytestmark = pytest.mark.asyncio
S = ProposalStatus


async def _submitting(app: App) -> str:
    """A proposal a human approved, moved to SUBMITTING as the desk does just before calling the broker."""
    report = await run_cycle(app.desk)
    pid = next(p.id for p in report.proposals if p.status == "AWAITING_APPROVAL")
    assert app.store.transition(pid, S.AWAITING_APPROVAL, S.APPROVED, "cli:alice", decided_by="cli:alice")
    assert app.store.transition(pid, S.APPROVED, S.SUBMITTING, "system")
    return pid


def _request(app: App, pid: str) -> OrderRequest:
    row = app.store.get_proposal(pid)
    assert row is not None
    return OrderRequest(client_order_id=pid, symbol=row.symbol, side=Side(row.side), quantity=row.quantity)


async def test_nothing_open_is_clean_and_raises_no_alert(make_app: AppFactory) -> None:
    app = make_app()
    await run_cycle(app.desk)
    alerts = len(app.store.alerts())
    report = await reconcile(app.desk)
    assert report.clean and report.checked == 0 and report.lines() == []
    assert "positions match" in report.summary() and len(app.store.alerts()) == alerts


async def test_an_order_that_reached_the_broker_is_recorded_once(make_app: AppFactory) -> None:
    app = make_app()
    pid = await _submitting(app)
    order = await app.desk.broker.submit(_request(app, pid))  # the process died right after this call
    assert app.store.order_for(pid) is None
    report = await reconcile(make_app().desk)  # the restarted process
    assert [(r.id, r.before, r.after) for r in report.resolved] == [(pid, "SUBMITTING", "FILLED")]
    assert report.differences == [] and report.checked == 1
    assert app.store.get_proposal(pid).status == "FILLED" and app.store.order_for(pid).id == order.id
    assert [t.to_status for t in app.store.transitions(pid)][-3:] == ["SUBMITTING", "SUBMITTED", "FILLED"]
    assert sum(1 for f in app.store.fills() if f.client_order_id == pid) == 1
    held = {p.symbol: p.quantity for p in await app.desk.broker.positions()}
    assert app.store.fill_positions() == held
    assert app.store.alerts(limit=1)[0].kind == "reconcile" and pid in app.store.alerts(limit=1)[0].message
    again = await reconcile(app.desk)
    assert again.clean and len(await app.desk.broker.orders()) == len(app.store.fills())  # type: ignore[attr-defined]


async def test_an_order_that_never_reached_the_broker_is_canceled_not_resubmitted(make_app: AppFactory) -> None:
    app = make_app()
    pid = await _submitting(app)
    orders_before = len(await app.desk.broker.orders())  # type: ignore[attr-defined]
    report = await reconcile(app.desk)
    assert [(r.id, r.after, r.note) for r in report.resolved] == [(pid, "CANCELED", NOT_SUBMITTED)]
    row = app.store.get_proposal(pid)
    assert row.status == "CANCELED" and row.decision_reason == NOT_SUBMITTED
    assert await app.desk.broker.order_by_client_id(pid) is None
    assert len(await app.desk.broker.orders()) == orders_before  # type: ignore[attr-defined]
    assert "not submitted before crash" in app.store.alerts(limit=1)[0].message


async def test_an_order_in_flight_in_another_process_is_left_alone(make_app: AppFactory) -> None:
    app = make_app()
    pid = await _submitting(app)
    other = submission_lock(make_app().engine)
    assert other.try_acquire()  # another process is between its SUBMITTING commit and the broker's answer
    try:
        app.desk.lock_wait = 0.05
        report = await reconcile(app.desk)
    finally:
        other.release()
    assert report.skipped and "submission lock" in report.skipped and not report.resolved
    assert app.store.get_proposal(pid).status == "SUBMITTING"


async def test_unknown_positions_and_vanished_orders_are_reported(make_app: AppFactory) -> None:
    app = make_app()
    await run_cycle(app.desk)
    await app.desk.broker.submit(OrderRequest(client_order_id="by-hand", symbol="SPY", side=Side.BUY,
                                              quantity=Decimal(3)))
    pid = await _submitting(make_app())
    assert app.store.transition(pid, S.SUBMITTING, S.SUBMITTED, "broker")  # says SUBMITTED; the broker disagrees
    report = await reconcile(app.desk)
    assert not report.resolved and report.checked == 1
    assert any(d.startswith(f"{pid} (") and "no order" in d for d in report.differences)
    spy = [d for d in report.differences if d.startswith("SPY:")]
    assert len(spy) == 1 and "the broker holds" in spy[0]
    assert app.store.get_proposal(pid).status == "SUBMITTED"


async def test_the_next_cycle_reconciles_before_it_sizes(make_app: AppFactory) -> None:
    app = make_app()
    pid = await _submitting(app)
    await app.desk.broker.submit(_request(app, pid))
    report = await run_cycle(make_app().desk)
    assert app.store.get_proposal(pid).status == "FILLED"
    assert any(a.startswith("reconcile:") and pid in a for a in report.alerts)


async def test_paperdesk_reconcile_prints_what_it_did(make_app: AppFactory, db_url: str) -> None:
    app = make_app()
    pid = await _submitting(app)
    env = {"PAPERDESK_DATABASE_URL": db_url}
    first = await asyncio.to_thread(CliRunner().invoke, cli_app, ["reconcile"], env=env)
    assert first.exit_code == 0, first.output
    assert f"{pid} (" in first.stdout and "SUBMITTING -> CANCELED: not submitted before crash" in first.stdout
    again = await asyncio.to_thread(CliRunner().invoke, cli_app, ["reconcile", "--json"], env=env)
    assert again.exit_code == 0 and json.loads(again.stdout) == {"checked": 0, "resolved": [], "differences": [],
                                                                 "skipped": None, "interrupted": [], "awaiting": []}
