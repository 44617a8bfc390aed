"""The gate and the handlers read a command the same way (issue 13, items 1 and 12).

Telegram ends a command at the first character outside [A-Za-z0-9_] (``/halt-now`` is the command
``halt``), so a viewer's punctuated command reaches an action handler unless the gate reads the
entity exactly as the handlers do. Over real HTTP, then as a property over command texts and the
entities Telegram builds for them, checked against the handlers of the real Application.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.telegram_ui import auth
from tests.bot.telegram.conftest import APPROVER, APPROVER_2, VIEWER, DaemonFactory, until
from tests.fakes.telegram_server import BOT_USERNAME, CHAT_ID, FakeTelegram, command_entities

# The handlers that change something (by their callback's name), written here independently of auth.READ_ONLY.
ACTION_HANDLERS = {"approve", "reject", "run", "halt", "reduce", "resume", "remember", "forget"}
READ_HANDLERS = {"start", "status", "positions", "pnl", "pending", "history", "risk", "sleeves", "report", "memory",
                 "explain", "web"}


def _texts(tg: FakeTelegram) -> list[str]:
    return [m.text for m in tg.sent()]


async def _view_only_answers(tg: FakeTelegram, count: int) -> None:
    await until(lambda: sum("view-only" in t for t in _texts(tg)) >= count)


async def test_a_viewer_cannot_halt_run_or_resume_with_punctuation(make_daemon: DaemonFactory,
                                                                   tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    tg.send_command(VIEWER, "/halt-now")
    tg.send_command(VIEWER, "/run!")
    await _view_only_answers(tg, 2)
    await asyncio.sleep(0.3)
    assert app.store.trading_state().state == "ACTIVE" and not app.store.cycles()
    tg.send_command(APPROVER, "/halt-now storm")  # the same text from an approver does reach the halt handler
    await until(lambda: app.store.trading_state().state == "HALTED")
    tg.send_command(VIEWER, "/resume.")
    await _view_only_answers(tg, 3)
    await asyncio.sleep(0.3)
    assert app.store.trading_state().state == "HALTED"


async def test_a_viewer_cannot_approve_with_a_dash(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    daemon, app = await make_daemon(notify={"cycle": "off", "fill": "off", "alert": "off", "approval": "off"})
    report = await daemon.runner.cycle()
    pid = next(p.id for p in report.proposals if p.status == "AWAITING_APPROVAL")
    tg.send_command(VIEWER, f"/approve- {pid}")
    await _view_only_answers(tg, 1)
    await asyncio.sleep(0.3)
    assert app.store.get_proposal(pid).status == "AWAITING_APPROVAL" and app.store.order_for(pid) is None


async def test_a_command_for_another_bot_is_nobodys_business(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    _, app = await make_daemon()
    tg.send_command(APPROVER, "/halt@other_bot")
    tg.send_command(VIEWER, "/halt@other_bot")
    tg.send_command(VIEWER, f"/status@{BOT_USERNAME.upper()}")
    await until(lambda: any("Equity" in t for t in _texts(tg)))
    await asyncio.sleep(0.3)
    assert app.store.trading_state().state == "ACTIVE" and len(tg.sent()) == 1


async def test_notifications_go_to_the_first_approver_listed(make_daemon: DaemonFactory, tg: FakeTelegram) -> None:
    await make_daemon(telegram_chat_id=None, telegram_allowed_users=f"{APPROVER_2},{APPROVER}",
                      notify={"fill": "off", "approval": "off", "alert": "off"})
    tg.send_command(APPROVER, "/run")
    summary = await until(lambda: next((m for m in tg.sent() if m.text.startswith("<b>Cycle</b>")), None), 30)
    assert APPROVER < APPROVER_2 and summary.chat_id == APPROVER_2


def test_ids_keep_the_order_they_are_listed_in() -> None:
    assert auth.parse_ids(" 9, 3,9,12", "PAPERDESK_TELEGRAM_ALLOWED_USERS") == (9, 3, 12)


# the property ----------------------------------------------------------------------------------------

_NAME = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789_"), min_size=1, max_size=12)
_NON_WORD = st.characters(codec="utf-8").filter(lambda c: not (c.isascii() and (c.isalnum() or c == "_")))


def _random_case(draw: st.DrawFn, word: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in word)


@st.composite
def command_texts(draw: st.DrawFn, names: list[str]) -> str:
    """``/name[@bot][suffix]`` as a user may type it: any name, any case, any punctuation and text after."""
    text = "/" + _random_case(draw, draw(st.one_of(st.sampled_from(names), _NAME)))
    addressee = draw(st.sampled_from(["", BOT_USERNAME, "other_bot", "desk_bot2"]))
    if addressee:
        text += "@" + _random_case(draw, addressee)
    suffix = draw(st.sampled_from(["", "space", "punctuation"]))
    if suffix == "space":
        text += " " + draw(st.text(max_size=20))
    elif suffix == "punctuation":
        text += draw(_NON_WORD) + draw(st.text(max_size=20))
    return text


def _update(application: Application, text: str, entities: list[dict[str, Any]]) -> Update:  # type: ignore[type-arg]
    message = {"message_id": 1, "date": int(time.time()), "text": text, "entities": entities,
               "chat": {"id": CHAT_ID, "type": "private"}, "from": {"id": VIEWER, "is_bot": False, "first_name": "v"}}
    return Update.de_json({"update_id": 1, "message": message}, application.bot)


def _handler_that_runs(application: Application, update: Update) -> Any:  # type: ignore[type-arg]
    """The first handler of the desk's group that takes the update, as Application.process_update picks it."""
    return next((h for h in application.handlers[0] if h.check_update(update)), None)


async def _nothing(update: Update, context: Any) -> None:
    """A callback that is never called."""


async def test_the_gate_refuses_a_viewer_exactly_when_an_action_handler_would_run(
        make_daemon: DaemonFactory) -> None:
    daemon, _ = await make_daemon()
    application = daemon.application
    commands = [h for h in application.handlers[0] if isinstance(h, CommandHandler)]
    names = sorted(name for h in commands for name in h.commands)
    assert {h.callback.__name__ for h in commands} <= ACTION_HANDLERS | READ_HANDLERS, "classify every new command"
    stock = CommandHandler[Any, None](names, _nothing)  # PTB's own reading, to compare ours with

    @settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(text=command_texts(names), lead=st.sampled_from(["", "", "", "hey "]))
    def check(text: str, lead: str) -> None:
        entities = [{**e, "offset": len(lead)} for e in command_entities(text)]
        update = _update(application, lead + text, entities)
        handler = _handler_that_runs(application, update)
        assert bool(stock.check_update(update)) == (isinstance(handler, CommandHandler))
        assert update.effective_message is not None
        parsed = auth.parse_command(update.effective_message)
        if handler is not None:
            assert auth.is_action(update) == (handler.callback.__name__ in ACTION_HANDLERS), (text, handler.callback)
        elif parsed is not None:  # an unknown command of ours: refused by default, and no handler runs it
            assert auth.is_action(update)
        else:
            assert not auth.is_action(update)

    check()
