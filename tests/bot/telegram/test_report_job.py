"""The weekly report through Telegram (text, then one photo per chart), and no secret in any message."""

from __future__ import annotations

import pytest

from bot.clock import FixedClock
from bot.desk.cycle import run_cycle
from tests.bot.telegram.conftest import TOKEN, DaemonFactory, until
from tests.fakes.telegram_server import FakeTelegram

pytestmark = pytest.mark.asyncio


async def test_the_weekly_report_arrives_as_text_and_photos(make_daemon: DaemonFactory, tg: FakeTelegram,
                                                            clock: FixedClock) -> None:
    clock.now = clock.now.replace(day=19)
    daemon, app = await make_daemon(notify={"cycle": "off", "fill": "off", "approval": "off",
                                            "flush_interval_seconds": 0.3})
    await run_cycle(app.desk)
    clock.now = clock.now.replace(day=20)
    await run_cycle(app.desk)
    report = await daemon.runner.weekly_report()
    sent = await until(lambda: (m := tg.sent()) and len(m) >= 1 + len(report.charts) and m)
    text, photos = sent[0], sent[1:]
    assert text.text.startswith("<pre>paperdesk weekly report, 2026-11-20") and text.photo is None
    assert len(photos) == 3 and all(p.photo and p.photo.startswith(b"\x89PNG") for p in photos)
    assert [p.text for p in photos] == ["equity", "drawdown", "calibration"]


async def test_a_secret_in_an_alert_never_reaches_the_chat(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    daemon, _ = await make_daemon()
    await daemon.notifiers.alert(f"cycle failed: POST {tg.url}/bot{TOKEN}/sendMessage refused; "
                                 "postgresql://desk:hunter22@db/desk down; token " + TOKEN)
    [message] = await until(lambda: tg.sent())
    assert TOKEN not in message.text and "hunter22" not in message.text
    assert "bot***" in message.text and "desk:***@db" in message.text
