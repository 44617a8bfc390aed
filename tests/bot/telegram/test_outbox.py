"""Notifications: levels, splitting, retries, RetryAfter, and an outage that loses nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from telegram import Bot

from bot.daemon.daemon import Daemon
from bot.daemon.notify import Outbox, PermanentError, RetryLater, SentPart
from bot.wiring import App
from storage.tables_telegram import NotificationRow
from storage.telegram_store import TelegramStore
from tests.bot.conftest import AppFactory
from tests.bot.telegram.conftest import APPROVER, TOKEN, DaemonFactory, until
from tests.fakes.telegram_server import CHAT_ID, FakeTelegram

pytestmark = pytest.mark.asyncio


def _outbox_store(app: App) -> TelegramStore:
    return TelegramStore(app.store.session, app.desk.clock)


async def test_an_outage_loses_no_notification_and_the_daemon_keeps_running(
        make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    daemon, app = await make_daemon()
    tg.outage = True
    report = await daemon.runner.cycle()
    awaiting = [p.id for p in report.proposals if p.status == "AWAITING_APPROVAL"]
    store = _outbox_store(app)
    await asyncio.sleep(1.5)  # several failed flushes (compressed: the backoff is configured short)
    pending = store.undelivered()
    assert len(pending) >= 1 + len(awaiting)
    assert pending[0].attempts >= 2 and "Bad Gateway" in (pending[0].last_error or "")  # the others wait in order
    assert daemon.scheduler.running and daemon.application is not None and daemon.application.running
    assert not tg.sent()
    tg.outage = False
    await until(lambda: not store.undelivered(), timeout=20)
    texts = [m.text for m in tg.sent()]
    assert texts[0].startswith("<b>Cycle</b>") and len(texts) == len(pending)
    for pid in awaiting:  # sent late, still editable later
        assert store.messages_for(pid)
    tg.send_command(APPROVER, "/status")
    await until(lambda: any("Equity" in m.text for m in tg.sent()), timeout=40)


async def test_levels_silence_or_drop_a_kind(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    daemon, app = await make_daemon(notify={"cycle": "off", "fill": "silent", "flush_interval_seconds": 0.3})
    report = await daemon.runner.cycle()
    fills = [p for p in report.proposals if p.status == "FILLED"]
    assert fills, "the scenario has SAFE fills"
    await until(lambda: not _outbox_store(app).undelivered() and len(tg.sent()) >= len(fills))
    sent = tg.sent()
    assert not any("<b>Cycle</b>" in m.text for m in sent)
    fill_messages = [m for m in sent if "filled at" in m.text]
    assert len(fill_messages) == len(fills) and all(m.disable_notification for m in fill_messages)
    assert all(not m.disable_notification for m in sent if m.buttons)


async def test_a_long_message_is_split_with_the_buttons_on_the_first_part(tg: FakeTelegram) -> None:
    from bot.telegram_ui.notifier import TelegramTransport

    bot = Bot(TOKEN, base_url=f"{tg.url}/bot")
    async with bot:
        transport = TelegramTransport(bot, str(CHAT_ID))
        markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "ap:p1:ab"}]]}
        note = NotificationRow(id=1, created_at=datetime.now(UTC), kind="alert", text="line\n" * 2000,
                               reply_markup=markup)
        sent_parts = [await transport.send(note, index) for index in range(transport.parts(note))]
    sent = tg.sent()
    assert len(sent) == 3 and all(len(m.text) <= 4096 for m in sent)
    assert [bool(m.buttons) for m in sent] == [True, False, False]
    assert [p.shows_proposal for p in sent_parts] == [True, False, False]
    assert sent_parts[0].message_id == sent[0].message_id


async def test_retry_after_from_the_server_becomes_a_wait(tg: FakeTelegram) -> None:
    from bot.telegram_ui.notifier import TelegramTransport

    bot = Bot(TOKEN, base_url=f"{tg.url}/bot")
    async with bot:  # getMe first, then the server starts rate limiting
        tg.retry_after = 7
        with pytest.raises(RetryLater) as caught:
            await TelegramTransport(bot, str(CHAT_ID)).send(
                NotificationRow(id=1, created_at=datetime.now(UTC), kind="alert", text="hi"), 0)
    assert caught.value.seconds == 7


class ScriptedTransport:
    """Our own transport port, failing as scripted (a unit-test fake of our code)."""

    def __init__(self, script: list[Exception | None]) -> None:
        self.script, self.sent = script, list[str]()

    def parts(self, note: NotificationRow) -> int:
        return 1

    async def send(self, note: NotificationRow, index: int) -> SentPart:
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        self.sent.append(note.text)
        return SentPart("1", len(self.sent), shows_proposal=True)


async def test_the_outbox_backs_off_honours_retry_after_and_keeps_order(make_app: AppFactory) -> None:
    app = make_app()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    transport = ScriptedTransport([ConnectionError("down"), RetryLater(7), None, PermanentError("bad html"), None])
    outbox = Outbox(_outbox_store(app), transport, app.desk.clock, attempts=3, base_delay=0.5, sleep=sleep)
    for text in ("first", "second", "third"):
        _outbox_store(app).enqueue("alert", "on", text)
    assert await outbox.flush() == 3
    assert sleeps == [0.5, 7] and transport.sent == ["first", "third"]
    assert not _outbox_store(app).undelivered()


async def test_the_outbox_stops_in_order_and_resumes_at_the_next_flush(make_app: AppFactory) -> None:
    app = make_app()

    async def sleep(seconds: float) -> None:
        return None

    transport = ScriptedTransport([ConnectionError("down")] * 2)
    outbox = Outbox(_outbox_store(app), transport, app.desk.clock, attempts=2, base_delay=0, sleep=sleep)
    for text in ("a", "b"):
        _outbox_store(app).enqueue("alert", "on", text)
    assert await outbox.flush() == 0 and transport.sent == []
    assert [n.attempts for n in _outbox_store(app).undelivered()] == [2, 0]
    assert await outbox.flush() == 2 and transport.sent == ["a", "b"]


async def test_without_a_chat_the_daemon_notifies_the_log_only(make_app: AppFactory, tg: FakeTelegram) -> None:
    app = make_app(telegram_bot_token=TOKEN, telegram_api_url=tg.url, cycle_cron="0 3 29 2 *")
    daemon = Daemon(app)
    assert daemon.outbox is None and any("log only" in n for n in daemon.notices)
