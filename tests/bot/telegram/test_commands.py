"""Commands over real HTTP: who gets answered, what they see, and the command menu."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import FixedClock
from tests.bot.telegram.conftest import APPROVER, STRANGER, VIEWER, DaemonFactory, until
from tests.fakes.telegram_server import FakeTelegram

pytestmark = pytest.mark.asyncio


def _texts(tg: FakeTelegram) -> list[str]:
    return [m.text for m in tg.sent()]


async def test_status_from_an_allowed_user_is_answered(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    await make_daemon()
    tg.send_command(APPROVER, "/status")
    text = await until(lambda: next((t for t in _texts(tg) if "Equity" in t), None))
    assert "Trading</b> ACTIVE" in text and "next</b>" in text and "SYNTHETIC" in text


async def test_a_stranger_gets_no_answer_and_no_data(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    await make_daemon()
    tg.send_command(STRANGER, "/status")
    tg.send_command(STRANGER, "/positions")
    await asyncio.sleep(0.5)
    tg.send_command(APPROVER, "/help")
    await until(lambda: any("commands" in t for t in _texts(tg)))
    await asyncio.sleep(0.3)
    assert len(tg.sent()) == 1 and "Equity" not in _texts(tg)[0]


async def test_a_viewer_reads_but_cannot_act(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    tg.send_command(VIEWER, "/status")
    await until(lambda: any("Equity" in t for t in _texts(tg)))
    tg.send_command(VIEWER, "/halt stop everything")
    await until(lambda: any("view-only" in t for t in _texts(tg)))
    assert app.store.trading_state().state == "ACTIVE"


async def test_the_command_menu_is_registered(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    await make_daemon()
    names = {c["command"] for c in await until(lambda: tg.commands)}
    assert {"status", "positions", "pnl", "pending", "approve", "reject", "run", "halt", "reduce", "resume",
            "risk", "history", "help"} <= names


async def test_read_commands_render_after_a_cycle(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    daemon, _ = await make_daemon(notify={"cycle": "off", "approval": "off", "fill": "off", "alert": "off"})
    await daemon.runner.cycle()
    for command, expected in [("/positions", "Positions"), ("/pending", "Awaiting approval"),
                              ("/history", "Recent decisions"), ("/risk", "portfolio CVaR"), ("/pnl", "P&amp;L")]:
        tg.send_command(APPROVER, command)
        await until(lambda expected=expected: any(expected in t for t in _texts(tg)))
    photo = await until(lambda: next((m for m in tg.sent() if m.photo), None))
    assert photo.photo.startswith(b"\x89PNG")


async def test_a_viewer_gets_the_report_with_its_charts(make_daemon: DaemonFactory, tg: FakeTelegram,
                                                        clock: FixedClock) -> None:
    clock.now = clock.now.replace(day=19)
    daemon, _ = await make_daemon(notify={"cycle": "off", "approval": "off", "fill": "off", "alert": "off"})
    await daemon.runner.cycle()
    clock.now = clock.now.replace(day=20)
    await daemon.runner.cycle()
    tg.send_command(VIEWER, "/report week")
    text = await until(lambda: next((t for t in _texts(tg) if "weekly report" in t), None), timeout=60)
    assert text.startswith("<pre>") and "vs SPY buy-and-hold" in text

    def photos() -> list[str] | None:
        names = [m.text for m in tg.sent() if m.photo is not None and m.photo.startswith(b"\x89PNG")]
        return names if len(names) == 3 else None

    assert await until(photos, timeout=60) == ["equity", "drawdown", "calibration"]


async def test_state_commands_change_the_trading_state(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    tg.send_command(APPROVER, "/halt market is mad")
    await until(lambda: any("HALTED" in t for t in _texts(tg)))
    state = app.store.trading_state()
    assert state.state == "HALTED" and state.reason == "market is mad" and state.actor == f"human:{APPROVER}"
    tg.send_command(APPROVER, "/halt again")
    await until(lambda: any("already HALTED" in t for t in _texts(tg)))
    tg.send_command(APPROVER, "/resume")
    await until(lambda: app.store.trading_state().state == "ACTIVE")


async def test_bad_input_gets_a_one_line_answer(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    await make_daemon()
    tg.send_command(APPROVER, "/approve")
    await until(lambda: any("usage: /approve ID" in t for t in _texts(tg)))
    tg.send_command(APPROVER, "/approve pnope")
    await until(lambda: any("no proposal" in t for t in _texts(tg)))
