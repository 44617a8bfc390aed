"""The fake Bot API server and the desk against the published Bot API description (issue 13).

A daemon runs a few real flows over HTTP (commands from an approver and a viewer, a cycle with
approval messages, both buttons, a reply, a chart); every request the desk sent and every answer
the fake gave is then checked against tests/fakes/specs/telegram-bot-api.subset.json (cut from
../shared/specs/telegram-bot-api.json by tests/fakes/specs/cut_telegram_spec.py).
"""

from __future__ import annotations

from tests.bot.telegram.conftest import APPROVER, VIEWER, DaemonFactory, until
from tests.fakes.specs.telegram_spec import SPEC, answer_problems, request_problems
from tests.fakes.telegram_server import METHODS, FakeTelegram, Sent


def _buttoned(tg: FakeTelegram) -> list[Sent] | None:
    messages = [m for m in tg.sent() if m.buttons]
    return messages if len(messages) >= 2 else None


def _data(message: Sent, prefix: str) -> str:
    return str(next(b["callback_data"] for b in message.buttons if b["callback_data"].startswith(prefix)))


async def _flows(tg: FakeTelegram) -> None:
    """Commands, a cycle, Approve, Reject with a reason, a view-only refusal, a chart, a usage error."""
    tg.send_command(APPROVER, "/status")
    await until(lambda: any("Equity" in m.text for m in tg.sent()))
    tg.send_command(APPROVER, "/run")
    approve, reject = (await until(lambda: _buttoned(tg), timeout=30))[:2]
    tg.press(APPROVER, approve.message_id, _data(approve, "ap:"))
    tg.press(APPROVER, reject.message_id, _data(reject, "rj:"))
    await until(lambda: "Filled" in approve.text and "Rejected" in reject.text)
    tg.send_reply(APPROVER, "too close to earnings", reject.message_id)
    await until(lambda: "too close to earnings" in reject.text)
    tg.send_command(VIEWER, "/halt-now")
    tg.send_command(APPROVER, "/pnl")
    tg.send_command(APPROVER, "/approve")
    await until(lambda: any(m.photo for m in tg.sent()) and any("usage" in m.text for m in tg.sent())
                and any("view-only" in m.text for m in tg.sent()))


async def test_the_desk_and_the_fake_speak_the_documented_bot_api(make_daemon: DaemonFactory,
                                                                  tg: FakeTelegram) -> None:
    assert METHODS <= set(SPEC["methods"])
    await make_daemon()
    await _flows(tg)
    exchanges = list(tg.exchanges)
    used = {method for method, *_ in exchanges}
    assert {"getMe", "getUpdates", "setMyCommands", "sendMessage", "sendPhoto", "answerCallbackQuery",
            "editMessageText"} <= used <= METHODS
    problems = [problem for method, params, status, answer in exchanges
                for problem in request_problems(method, params) + answer_problems(method, status, answer)]
    assert problems == []


def test_the_checks_catch_what_the_description_does_not_allow() -> None:
    assert request_problems("sendMessage", {"chat_id": "42", "text": "hi", "parse_mode": "HTML"}) == []
    assert request_problems("sendMessage", {"chat_id": "42"}) == ["sendMessage(text): required, missing"]
    assert request_problems("sendMessage", {"chat_id": "42", "text": "hi", "colour": "red"}) == [
        "sendMessage(colour): not a parameter of sendMessage"]
    assert request_problems("sendMessage", {"chat_id": 1, "text": "hi", "disable_notification": "yes"}) == [
        "sendMessage(disable_notification): 'yes' is not Boolean"]
    markup = {"inline_keyboard": [[{"txt": "ok", "callback_data": "ap:p1:ab"}]]}
    assert request_problems("sendMessage", {"chat_id": 1, "text": "hi", "reply_markup": markup}) != []
    message = {"message_id": 7, "date": 1, "chat": {"id": 1, "type": "private"}}
    assert answer_problems("sendMessage", 200, {"ok": True, "result": message}) == []
    assert answer_problems("sendMessage", 200, {"ok": True, "result": {**message, "chat": {"id": 1}}}) == [
        "sendMessage result.chat.type: required by Chat, missing"]
    assert answer_problems("sendMessage", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                                                "parameters": {"retry_after": "3"}}) == [
        "sendMessage parameters.retry_after: '3' is not Integer"]
    assert request_problems("sendMesage", {}) == ["sendMesage: not a Bot API method"]
