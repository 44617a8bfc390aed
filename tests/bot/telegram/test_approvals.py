"""Approval messages and their buttons, end to end over HTTP: exactly one decision, at most one order."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import FixedClock
from bot.desk import approvals
from bot.desk.results import DeskError
from bot.wiring import App
from storage.telegram_store import TelegramStore
from tests.bot.conftest import AppFactory
from tests.bot.telegram.conftest import APPROVER, APPROVER_2, STRANGER, VIEWER, DaemonFactory, until
from tests.fakes.telegram_server import FakeTelegram, Sent

pytestmark = pytest.mark.asyncio


async def _approval_message(tg: FakeTelegram, app: App) -> Sent:
    """/run, then the first approval message once its delivery is recorded."""
    tg.send_command(APPROVER, "/run")
    message = await until(lambda: next((m for m in tg.sent() if m.buttons), None), timeout=30)
    shown = TelegramStore(app.store.session, app.desk.clock)
    await until(lambda: shown.messages_for(_pid(message)))
    return message


def _button(message: Sent, prefix: str) -> str:
    return next(b["callback_data"] for b in message.buttons if b["callback_data"].startswith(prefix))


def _pid(message: Sent) -> str:
    return _button(message, "ap:").split(":")[1]


def _orders(app: App, pid: str) -> int:
    return sum(1 for f in app.store.fills() if f.client_order_id == pid)


async def test_run_sends_an_approval_message_with_buttons(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    message = await _approval_message(tg, app)
    pid = _pid(message)
    row = app.store.get_proposal(pid)
    assert row is not None and row.status == "AWAITING_APPROVAL"
    assert _button(message, "ap:") == f"ap:{pid}:{row.nonce}" and _button(message, "rj:") == f"rj:{pid}:{row.nonce}"
    assert all(len(b["callback_data"].encode()) <= 64 for b in message.buttons)
    for expected in (row.symbol, "weight", "→", "Confidence", "Why:", "Risk:", "Expires", "not confident enough"):
        assert expected in message.text
    shown = await until(lambda: TelegramStore(app.store.session, app.desk.clock).messages_for(pid))
    assert shown[0].message_id == message.message_id
    assert any("<b>Cycle</b>" in m.text for m in tg.sent())


async def test_approve_fills_exactly_once_and_edits_the_message(make_daemon: DaemonFactory,
                                                               tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    message = await _approval_message(tg, app)
    pid, data = _pid(message), _button(message, "ap:")
    tg.press(APPROVER, message.message_id, data)
    await until(lambda: "Filled" in message.text)
    assert f"human:{APPROVER}" in message.text and not message.buttons
    row = app.store.get_proposal(pid)
    assert row.status == "FILLED" and row.decided_by == f"human:{APPROVER}" and _orders(app, pid) == 1
    answered = len(tg.answers)
    tg.press(APPROVER, message.message_id, data)
    await until(lambda: len(tg.answers) > answered)
    assert "already decided" in tg.answers[-1].get("text", "") and _orders(app, pid) == 1


async def test_a_viewer_cannot_approve(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    message = await _approval_message(tg, app)
    tg.press(VIEWER, message.message_id, _button(message, "ap:"))
    await until(lambda: any("view-only" in a.get("text", "") for a in tg.answers))
    tg.send_command(VIEWER, f"/approve {_pid(message)}")
    await until(lambda: any("view-only" in m.text for m in tg.sent()))
    assert app.store.get_proposal(_pid(message)).status == "AWAITING_APPROVAL"


async def test_a_strangers_forged_callback_does_nothing(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    message = await _approval_message(tg, app)
    pid = _pid(message)
    answered = len(tg.answers)
    tg.press(STRANGER, message.message_id, _button(message, "ap:"))
    tg.press(APPROVER, message.message_id, f"ap:{pid}:deadbeef")  # a forged nonce from an approver
    await until(lambda: len(tg.answers) > answered)
    await asyncio.sleep(0.3)
    assert [a.get("text") for a in tg.answers[answered:]] == ["this button is no longer valid"]
    assert app.store.get_proposal(pid).status == "AWAITING_APPROVAL" and not message.edits


async def test_two_concurrent_taps_produce_one_order(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    message = await _approval_message(tg, app)
    pid, data = _pid(message), _button(message, "ap:")
    tg.press(APPROVER, message.message_id, data)
    tg.press(APPROVER_2, message.message_id, data)
    await until(lambda: app.store.get_proposal(pid).status == "FILLED")
    await until(lambda: len(tg.answers) >= 2)
    await asyncio.sleep(0.3)
    approved = [t for t in app.store.transitions(pid) if t.to_status == "APPROVED"]
    assert len(approved) == 1 and _orders(app, pid) == 1 and "Filled" in message.text


async def test_a_tap_and_a_cli_approve_produce_one_order(make_daemon: DaemonFactory, make_app: AppFactory,
                                                        tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    message = await _approval_message(tg, app)
    pid = _pid(message)
    cli = make_app()  # a second process on the same database

    async def cli_approve() -> str:
        try:
            return (await approvals.approve(cli.desk, pid, "cli:bob")).message
        except DeskError as exc:
            return str(exc)

    tg.press(APPROVER, message.message_id, _button(message, "ap:"))
    await cli_approve()
    await until(lambda: app.store.get_proposal(pid).status == "FILLED")
    await until(lambda: len(tg.answers) >= 1)
    await asyncio.sleep(0.3)
    assert len([t for t in app.store.transitions(pid) if t.to_status == "APPROVED"]) == 1 and _orders(app, pid) == 1


async def test_an_expired_proposal_is_refused_and_the_message_says_so(make_daemon: DaemonFactory,
                                                                      tg: FakeTelegram, clock: FixedClock) -> None:
    _, app = await make_daemon()
    message = await _approval_message(tg, app)
    pid = _pid(message)
    clock.advance(hours=13)
    tg.press(APPROVER, message.message_id, _button(message, "ap:"))
    await until(lambda: "Expired" in message.text)
    assert "expired at" in message.text and app.store.get_proposal(pid).status == "EXPIRED"


async def test_a_drifted_proposal_is_refused_and_the_message_says_why(make_daemon: DaemonFactory,
                                                                      tg: FakeTelegram, clock: FixedClock) -> None:
    _, app = await make_daemon(risk={"approval_max_drift": 0.0, "approval_ttl_hours": 96, "min_confidence": 0.75})
    message = await _approval_message(tg, app)
    pid = _pid(message)
    clock.advance(days=3)  # Monday: new prices
    tg.press(APPROVER, message.message_id, _button(message, "ap:"))
    await until(lambda: "Refused" in message.text)
    assert "price moved" in message.text and app.store.order_for(pid) is None


async def test_the_expiry_job_edits_the_message(make_daemon: DaemonFactory, tg: FakeTelegram,
                                                clock: FixedClock) -> None:
    daemon, app = await make_daemon()
    message = await _approval_message(tg, app)
    clock.advance(hours=13)
    assert await daemon.runner.expire() >= 1
    await until(lambda: "Expired" in message.text)
    assert not message.buttons


async def test_a_cli_decision_is_shown_on_the_message(make_daemon: DaemonFactory, make_app: AppFactory,
                                                     tg: FakeTelegram) -> None:
    daemon, app = await make_daemon()
    message = await _approval_message(tg, app)
    approvals.reject(make_app().desk, _pid(message), "cli:bob", "too risky")
    await daemon.runner.expire()
    await until(lambda: "Rejected" in message.text)
    assert "cli:bob" in message.text


async def test_a_reject_reason_given_by_reply_is_stored(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    message = await _approval_message(tg, app)
    pid = _pid(message)
    tg.press(APPROVER, message.message_id, _button(message, "rj:"))
    await until(lambda: "Rejected" in message.text)
    assert "Reply to this message" in message.text
    tg.send_reply(APPROVER, "earnings next week", message.message_id)
    await until(lambda: app.store.get_proposal(pid).decision_reason == "earnings next week")
    row = app.store.get_proposal(pid)
    assert row.status == "REJECTED_BY_HUMAN" and row.decided_by == f"human:{APPROVER}"
    await until(lambda: "earnings next week" in message.text)


async def test_a_reject_command_stores_its_reason(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    message = await _approval_message(tg, app)
    pid = _pid(message)
    tg.send_command(APPROVER, f"/reject {pid} too concentrated in tech")
    await until(lambda: app.store.get_proposal(pid).status == "REJECTED_BY_HUMAN")
    assert app.store.get_proposal(pid).decision_reason == "too concentrated in tech"
    await until(lambda: "Rejected" in message.text)
