"""A local Telegram Bot API server for tests: real HTTP on 127.0.0.1, the wire format PTB speaks.

Serves ``POST /bot<TOKEN>/<method>`` with form-urlencoded, multipart or empty bodies (non-string
values arrive as JSON text inside form fields). getUpdates long-polls honouring ``timeout`` and
drops updates older than ``offset``. Tests push user updates (commands, button presses, replies),
read what the bot sent, and switch the server into an outage (502) or rate limiting (429 with
``parameters.retry_after``) and back, or answer chosen calls themselves (``intercept``). Text sent
with ``parse_mode=HTML`` is parsed as Telegram parses it (tests/fakes/telegram_html.py): malformed
HTML, an empty text or one over 4,096 characters is refused with Telegram's 400. Every exchange is
kept in ``exchanges`` (method, parameters, status, answer) for the spec test.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.telegram_html import HtmlError, shown

BOT_ID = 777000
CHAT_ID = 4242
BOT_USERNAME = "desk_bot"
METHODS = frozenset({"getMe", "getUpdates", "deleteWebhook", "setMyCommands", "answerCallbackQuery", "sendMessage",
                     "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"})  # what it serves
# Telegram ends a command at the first character outside [A-Za-z0-9_]; an @username may follow.
COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram sends with a message starting with a command (``/halt-now`` → ``/halt``)."""
    match = COMMAND.match(text)
    return [{"type": "bot_command", "offset": 0, "length": match.end()}] if match else []


@dataclass
class Sent:
    """A message the bot sent (or edited), as the server holds it."""

    message_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None = None
    disable_notification: bool = False
    photo: bytes | None = None
    edits: list[str] = field(default_factory=list)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline buttons, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


class FakeTelegram:
    """The server's state and the test-facing API; thread-safe."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._cond = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._callback_ids = itertools.count(1)
        self.messages: dict[int, Sent] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.handed_out: dict[int, float] = {}  # update_id -> perf_counter when getUpdates returned it
        self.outage = False
        self.retry_after: int | None = None
        self.intercept: Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]] | None] | None = None
        self.exchanges: list[tuple[str, dict[str, Any], int, dict[str, Any]]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # lifecycle --------------------------------------------------------------------------------

    def start(self) -> str:
        """Listen on 127.0.0.1:<free port>; returns the API root URL."""
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        """Stop serving and wake any long poll."""
        with self._cond:
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # what tests push -------------------------------------------------------------------------

    def _push(self, update: dict[str, Any]) -> int:
        with self._cond:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **update})
            self._cond.notify_all()
            return update_id

    def send_command(self, user_id: int, text: str, chat_id: int = CHAT_ID) -> int:
        """A user types a command such as ``/approve p123`` (marked as Telegram marks it: ``command_entities``)."""
        message = self._user_message(user_id, text, chat_id)
        message["entities"] = command_entities(text)
        return self._push({"message": message})

    def send_reply(self, user_id: int, text: str, reply_to: int, chat_id: int = CHAT_ID) -> int:
        """A user replies to one of the bot's messages."""
        message = self._user_message(user_id, text, chat_id)
        original = self.messages[reply_to]
        message["reply_to_message"] = {"message_id": reply_to, "date": int(time.time()), "text": original.text,
                                       "chat": {"id": chat_id, "type": "private"},
                                       "from": {"id": BOT_ID, "is_bot": True, "first_name": "desk"}}
        return self._push({"message": message})

    def press(self, user_id: int, message_id: int, data: str, chat_id: int = CHAT_ID) -> int:
        """A user taps an inline button (``data`` may be forged)."""
        message = self.messages.get(message_id)
        query = {"id": str(next(self._callback_ids)), "chat_instance": "ci", "data": data,
                 "from": {"id": user_id, "is_bot": False, "first_name": f"u{user_id}"},
                 "message": {"message_id": message_id, "date": int(time.time()),
                             "chat": {"id": chat_id, "type": "private"},
                             "from": {"id": BOT_ID, "is_bot": True, "first_name": "desk"},
                             "text": message.text if message else ""}}
        return self._push({"callback_query": query})

    def _user_message(self, user_id: int, text: str, chat_id: int) -> dict[str, Any]:
        return {"message_id": next(self._message_ids), "date": int(time.time()), "text": text,
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": f"u{user_id}"}}

    # what tests read -------------------------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[Sent]:
        """Messages the bot sent, oldest first."""
        with self._cond:
            return [m for m in self.messages.values() if chat_id is None or m.chat_id == chat_id]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        """Block until ``predicate()`` returns something truthy; returns it (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError("timed out waiting for the bot")

    def method_calls(self, name: str) -> list[dict[str, Any]]:
        """Parameters of every call of one Bot API method."""
        with self._cond:
            return [params for method, params in self.calls if method == name]

    # the API ---------------------------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: (HTTP status, JSON body)."""
        if self.outage:
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        if self.retry_after is not None and method != "getUpdates":
            return 429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                         "parameters": {"retry_after": self.retry_after}}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        if self.intercept is not None and (answer := self.intercept(method, params)) is not None:
            return answer
        if (refusal := _refused_text(method, params)) is not None:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {refusal}"}
        with self._cond:
            self.calls.append((method, params))
            result = self._dispatch(method, params)
        if result is None:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {method} failed"}
        return 200, {"ok": True, "result": result}

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._cond:
            while True:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or time.monotonic() >= deadline or self.outage:
                    break
                self._cond.wait(timeout=min(0.05, max(0.0, deadline - time.monotonic())))
            batch = list(self._updates[: int(params.get("limit") or 100)])
            now = time.perf_counter()
            for update in batch:
                self.handed_out.setdefault(update["update_id"], now)
            return batch

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        simple = {"getMe": lambda: {"id": BOT_ID, "is_bot": True, "first_name": "desk", "username": BOT_USERNAME,
                                    "can_join_groups": True, "can_read_all_group_messages": False,
                                    "supports_inline_queries": False},
                  "deleteWebhook": lambda: True, "setMyCommands": lambda: self._set_commands(params),
                  "answerCallbackQuery": lambda: self.answers.append(params) or True}
        if method in simple:
            return simple[method]()
        if method in {"sendMessage", "sendPhoto", "sendDocument"}:
            return self._send(params)
        if method in {"editMessageText", "editMessageReplyMarkup"}:
            return self._edit(method, params)
        return None

    def _set_commands(self, params: dict[str, Any]) -> bool:
        self.commands = params.get("commands", [])
        return True

    def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        photo = params.get("photo") or params.get("document")
        text = params.get("text") or params.get("caption") or ""
        sent = Sent(message_id=next(self._message_ids), chat_id=chat_id, text=text,
                    reply_markup=params.get("reply_markup"), photo=photo if isinstance(photo, bytes) else None,
                    disable_notification=bool(params.get("disable_notification")))
        self.messages[sent.message_id] = sent
        return _message_json(sent)

    def _edit(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        sent = self.messages.get(int(params.get("message_id") or 0))
        if sent is None:
            return None
        if method == "editMessageText":
            sent.text = params["text"]
            sent.edits.append(params["text"])
        sent.reply_markup = params.get("reply_markup")
        return _message_json(sent)

    def record(self, method: str, params: dict[str, Any], status: int, answer: dict[str, Any]) -> None:
        """Keep one exchange for the spec test."""
        with self._cond:
            self.exchanges.append((method, params, status, answer))


def _refused_text(method: str, params: dict[str, Any]) -> str | None:
    """Telegram's reason to refuse the text of a message, or None."""
    field, limit = ("caption", 1024) if method in {"sendPhoto", "sendDocument"} else ("text", 4096)
    if method not in {"sendMessage", "editMessageText", "sendPhoto", "sendDocument"} or field not in params:
        return None
    text = str(params[field])
    if params.get("parse_mode") == "HTML":
        try:
            text = shown(text)
        except HtmlError as exc:
            return f"can't parse entities: {exc}"
    if not text.strip():
        return "message text is empty"
    return "message is too long" if len(text) > limit else None


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (PTB closing a long poll on stop) is not an error; anything else is."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _message_json(sent: Sent) -> dict[str, Any]:
    body: dict[str, Any] = {"message_id": sent.message_id, "date": int(time.time()), "text": sent.text,
                            "chat": {"id": sent.chat_id, "type": "private"},
                            "from": {"id": BOT_ID, "is_bot": True, "first_name": "desk"}}
    if sent.reply_markup:
        body["reply_markup"] = sent.reply_markup
    return body


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Form fields (JSON inside where it parses), multipart parts (files as bytes), or nothing."""
    if not body:
        return {}
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        params: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            params[str(name)] = payload if part.get_filename() else _maybe_json(payload.decode())
        return params
    if content_type.startswith("application/json"):
        return dict(json.loads(body))
    return {key: _maybe_json(value) for key, value in parse_qsl(body.decode(), keep_blank_values=True)}


def _maybe_json(value: str) -> Any:
    if value[:1] in "[{" or value in {"true", "false"}:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _handler_for(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            prefix = f"/bot{fake.token}/"
            if not self.path.startswith(prefix):
                self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            params = _parse_body(self.headers.get("Content-Type", ""), self.rfile.read(length))
            status, payload = fake.handle(self.path[len(prefix):], params)
            fake.record(self.path[len(prefix):], params, status, payload)
            self._reply(status, payload)

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler
