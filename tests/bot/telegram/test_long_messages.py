"""Long notifications over real HTTP (issue 13, items 5 and 6): each part delivered once, resumed after a 429, an
outage or a restart at the first part not delivered; the buttons on the part with the proposal's id, action and
size; a long market view arriving whole; a part Telegram cannot parse sent as plain text, not dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from telegram import Bot

from bot.daemon.notify import Outbox
from bot.desk.cycle import run_cycle
from bot.desk.results import CycleReport, ProposalLine
from bot.telegram_ui import render
from bot.telegram_ui.notifier import TelegramNotifier, TelegramTransport
from bot.wiring import App
from storage.telegram_store import TelegramStore
from tests.bot.conftest import AppFactory
from tests.bot.telegram.conftest import TOKEN
from tests.fakes.telegram_html import shown
from tests.fakes.telegram_server import CHAT_ID, FakeTelegram, Sent

Answer = tuple[int, dict[str, Any]]


@dataclass
class Wired:
    """One desk's notifier and outbox on the fake server, as the daemon wires them (the sleeps recorded)."""

    app: App
    bot: Bot
    store: TelegramStore
    outbox: Outbox
    notifier: TelegramNotifier
    report: CycleReport
    sleeps: list[float]


async def _wire(app: App, tg: FakeTelegram, report: CycleReport, attempts: int = 4) -> Wired:
    bot = Bot(TOKEN, base_url=f"{tg.url}/bot")
    await bot.initialize()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    store = TelegramStore(app.store.session, app.desk.clock)
    outbox = Outbox(store, TelegramTransport(bot, str(CHAT_ID)), app.desk.clock, attempts=attempts,
                    base_delay=0.01, sleep=sleep)
    return Wired(app, bot, store, outbox, TelegramNotifier(app.desk, bot, outbox, {}), report, sleeps)


@pytest.fixture
async def wired(make_app: AppFactory, tg: FakeTelegram) -> AsyncIterator[Wired]:
    app = make_app()
    desk = await _wire(app, tg, await run_cycle(app.desk))
    yield desk
    await desk.bot.shutdown()


def _awaiting(report: CycleReport) -> ProposalLine:
    line = next(p for p in report.proposals if p.status == "AWAITING_APPROVAL")
    return line.model_copy(update={"thesis": "carry & momentum <beat> the tape; " * 360})  # ~12,000 characters


def _fail_part(number: int, answer: Answer, times: int = 1) -> Callable[[str, dict[str, Any]], Answer | None]:
    """Answer the ``number``-th sendMessage (1-based) with ``answer``, ``times`` times running."""
    seen = {"sends": 0, "failed": 0}

    def intercept(method: str, params: dict[str, Any]) -> Answer | None:
        if method != "sendMessage":
            return None
        seen["sends"] += 1
        if seen["sends"] >= number and seen["failed"] < times:
            seen["failed"] += 1
            return answer
        return None

    return intercept


RATE_LIMITED: Answer = (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                              "parameters": {"retry_after": 3}})
BAD_GATEWAY: Answer = (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})


def _read_as_one(messages: list[Sent]) -> str:
    return "".join(shown(m.text) for m in messages)


async def test_a_429_mid_message_resumes_at_the_next_part_and_sends_each_part_once(
        wired: Wired, tg: FakeTelegram) -> None:
    line = _awaiting(wired.report)
    tg.intercept = _fail_part(2, RATE_LIMITED, times=2)
    await wired.notifier.approval_request(line)
    await wired.outbox.drain()
    sent, parts = tg.sent(), len(render.split(render.approval(line)))
    assert parts >= 3 and len(sent) == parts and wired.sleeps == [3.0, 3.0] and not wired.store.undelivered()
    assert _read_as_one(sent) == shown(render.approval(line))
    assert [bool(m.buttons) for m in sent] == [True] + [False] * (parts - 1)
    for essential in (line.id, f"{line.side.upper()} {line.symbol}", "Order", "weight"):
        assert essential in sent[0].text
    assert [m.message_id for m in wired.store.messages_for(line.id)] == [sent[0].message_id]


async def test_a_restart_resumes_at_the_first_part_not_delivered(wired: Wired, make_app: AppFactory,
                                                                  tg: FakeTelegram) -> None:
    line = _awaiting(wired.report)
    tg.intercept = _fail_part(2, BAD_GATEWAY, times=10)
    wired.outbox.attempts = 1
    await wired.notifier.approval_request(line)
    await wired.outbox.drain()
    [note] = wired.store.undelivered()
    assert len(tg.sent()) == 1 and tg.sent()[0].buttons
    assert [m.message_id for m in wired.store.messages_for(line.id)] == [tg.sent()[0].message_id]  # taps work now
    assert note.parts_sent == 1
    tg.intercept = None
    again = await _wire(make_app(), tg, wired.report)  # another process on the same database
    try:
        assert await again.outbox.flush() == 1
    finally:
        await again.bot.shutdown()
    sent = tg.sent()
    assert len(sent) == len(render.split(render.approval(line))) and _read_as_one(sent) == shown(render.approval(line))
    assert not again.store.undelivered() and len(again.store.messages_for(line.id)) == 1


async def test_a_long_market_view_arrives_whole(wired: Wired, tg: FakeTelegram) -> None:
    report = wired.report.model_copy(update={"market_view": "Rates & credit: <calm>, breadth narrowing. " * 250})
    await wired.notifier.cycle_summary(report)
    await wired.outbox.drain()
    sent = tg.sent()
    assert len(sent) == len(render.split(render.cycle(report))) >= 3 and not wired.store.undelivered()
    assert all(m.text.startswith("<i>") and m.text.endswith("</i>") for m in sent[1:])
    assert _read_as_one(sent) == shown(render.cycle(report))
    assert not [n for n in tg.exchanges if n[2] == 400]


async def test_a_part_telegram_cannot_parse_goes_out_as_plain_text(wired: Wired, tg: FakeTelegram) -> None:
    note_id = wired.outbox.post("alert", "on", "<b>broker says: fill &amp; kill")  # an unclosed tag
    await wired.outbox.drain()
    assert [m.text for m in tg.sent()] == ["broker says: fill & kill"]
    row = wired.store.notification(note_id)
    assert row is not None and row.delivered_at is not None and row.last_error is None
    refused = [n for n in tg.exchanges if n[0] == "sendMessage" and n[2] == 400]
    assert len(refused) == 1 and "can't parse entities" in refused[0][3]["description"]
