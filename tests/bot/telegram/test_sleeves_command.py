"""Telegram ``/sleeves`` over real HTTP: budgets, holdings, figures and the allocator's reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FixedClock
from tests.bot.conftest import FRIDAY_CLOSE
from tests.bot.sleeves.test_sleeves_desk import SLEEVES
from tests.bot.telegram.conftest import APPROVER, VIEWER, DaemonFactory, until
from tests.fakes.telegram_server import FakeTelegram

pytestmark = pytest.mark.asyncio


async def test_telegram_sleeves_for_a_viewer(make_daemon: DaemonFactory, tg: FakeTelegram, clock: FixedClock) -> None:
    daemon, _ = await make_daemon(policy="sleeves", sleeves=SLEEVES,
                                  notify={"cycle": "off", "approval": "off", "fill": "off", "alert": "off"})
    await daemon.runner.cycle()
    clock.now = FRIDAY_CLOSE + timedelta(days=3)
    await daemon.runner.cycle()
    tg.send_command(VIEWER, "/sleeves")
    text = await until(lambda: next((m.text for m in tg.sent() if "<b>Sleeves</b>" in m.text), None))
    assert "<b>us_equity</b> (rules, 7 instruments): budget <b>40.0%</b> of 20%–60%" in text
    assert "contribution" in text and "selection" in text and "no history yet" in text
    tg.send_command(APPROVER, "/help")
    assert "/sleeves" in await until(lambda: next((m.text for m in tg.sent() if "commands" in m.text), None))


async def test_sleeves_on_a_desk_without_them_says_how(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    await make_daemon()
    tg.send_command(VIEWER, "/sleeves")
    assert await until(lambda: next((m.text for m in tg.sent() if "no sleeves" in m.text), None))
