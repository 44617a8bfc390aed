"""The Telegram Notifier: desk results rendered to HTML, queued in the outbox, sent to the desk's chat.

Policy: each kind (cycle, approval, fill, alert, report) is ``on``, ``silent`` (sent without
sound) or ``off`` (not sent). Sending goes through the ``Outbox``, so a Telegram outage delays
messages but loses none. A long message goes out in parts (``render.split``: tag-safe), resumed at
the first undelivered part after a failure; a part Telegram cannot parse is sent as plain text
rather than dropped. Approval messages carry Approve / Reject buttons on their first part, the
one that starts with the proposal id, action, symbol and size, and its message id is recorded as
soon as that part is delivered. ``settle`` edits approval messages whose proposals were
decided elsewhere (expiry, the CLI, a newer cycle) to their final state; an edit that fails is
retried at the next ``settle``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import lru_cache
from html import escape
from pathlib import Path

import structlog
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.daemon.notify import Outbox, PermanentError, RetryLater, SentPart
from bot.desk import chat
from bot.desk.desk import Desk
from bot.desk.results import CycleReport, ProposalLine
from bot.logging import Redactor
from bot.telegram_ui import render
from storage.tables_telegram import NotificationRow
from storage.telegram_store import TelegramStore

log = structlog.get_logger("paperdesk.telegram")


def buttons(line: ProposalLine, nonce: str) -> InlineKeyboardMarkup:
    """Approve / Reject, with short callback data carrying the proposal id and its nonce."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton("✅ Approve", callback_data=f"ap:{line.id}:{nonce}"),
        InlineKeyboardButton("❌ Reject", callback_data=f"rj:{line.id}:{nonce}"),
    ]])


class TelegramTransport:
    """Sends outbox rows to one chat with the Bot API, one part (message) per call."""

    def __init__(self, bot: Bot, chat_id: str) -> None:
        self.bot, self.chat_id = bot, chat_id

    def parts(self, note: NotificationRow) -> int:
        """A photo is one message; text is split at Telegram's 4,096 characters."""
        return 1 if note.photo_path else len(_parts(note.text))

    async def send(self, note: NotificationRow, index: int) -> SentPart:
        """Send part ``index``; map PTB errors to the outbox's."""
        try:
            message = await (self._photo(note) if note.photo_path else self._text(note, index))
        except RetryAfter as exc:
            wait = exc.retry_after
            raise RetryLater(wait.total_seconds() if isinstance(wait, timedelta) else float(wait)) from exc
        except (BadRequest, Forbidden, InvalidToken) as exc:
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc
        return SentPart(str(message.chat_id), message.message_id, shows_proposal=index == 0)

    async def _text(self, note: NotificationRow, index: int) -> Message:
        """The buttons ride on the first part: it starts with the header (proposal id, action, symbol, size)."""
        part = _parts(note.text)[index]
        markup = InlineKeyboardMarkup.de_json(note.reply_markup, self.bot) if note.reply_markup and not index else None
        silent = note.level == "silent"
        try:
            return await self.bot.send_message(self.chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup,
                                               disable_notification=silent)
        except BadRequest as exc:
            if "can't parse entities" not in str(exc).lower():
                raise
            # Telegram refuses the markup, not the words: send them as plain text rather than lose them
            log.warning("notification_part_sent_plain", notification_id=note.id, part=index, error=str(exc))
            return await self.bot.send_message(self.chat_id, render.plain(part), reply_markup=markup,
                                               disable_notification=silent)

    async def _photo(self, note: NotificationRow) -> Message:
        path = Path(note.photo_path or "")
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:  # the report directory was cleaned up: nothing left to send
            raise PermanentError(f"chart {path.name} cannot be read: {exc.strerror}") from exc
        return await self.bot.send_photo(self.chat_id, InputFile(data, filename=path.name),
                                         caption=note.text[:1024] or None, parse_mode=ParseMode.HTML,
                                         disable_notification=note.level == "silent")


@lru_cache(maxsize=16)
def _parts(text: str) -> tuple[str, ...]:
    return tuple(render.split(text))


class TelegramNotifier:
    """Notifier for the desk's Telegram chat."""

    def __init__(self, desk: Desk, bot: Bot, outbox: Outbox, levels: Mapping[str, str],
                 redactor: Redactor | None = None) -> None:
        self.desk, self.bot, self.outbox, self.levels = desk, bot, outbox, levels
        self.redactor = redactor or Redactor()
        self.messages = TelegramStore(desk.store.session, desk.clock)

    def _post(self, kind: str, text: str, **extra: object) -> None:
        """Queue a message; secrets (settings values, tokens in URLs) never leave in one."""
        level = self.levels.get(kind, "on")
        if level == "off":
            return
        self.outbox.post(kind, level, self.redactor.text(text), **extra)

    async def cycle_summary(self, report: CycleReport) -> None:
        """The summary of one cycle."""
        self._post("cycle", render.cycle(report))

    async def approval_request(self, line: ProposalLine) -> None:
        """A message with Approve / Reject buttons."""
        row = self.desk.store.get_proposal(line.id)
        nonce = row.nonce if row is not None else ""
        self._post("approval", render.approval(line), reply_markup=buttons(line, nonce).to_dict(),
                   proposal_id=line.id)

    async def fill(self, line: ProposalLine) -> None:
        """An order filled."""
        self._post("fill", render.fill(line))

    async def alert(self, text: str) -> None:
        """An alert."""
        self._post("alert", render.alert(text))

    async def report(self, text: str, images: Sequence[Path]) -> None:
        """The report as text (preformatted), then one photo per chart, in that order."""
        self._post("report", render.report(text))
        for image in images:
            self._post("report", escape(image.stem), photo_path=str(image))

    async def settle(self) -> None:
        """Edit approval messages whose proposals are no longer pending to show how they ended."""
        for message in self.messages.open_messages():
            if message.proposal_id is None or message.id is None:
                continue
            line = chat.proposal_line(self.desk, message.proposal_id)
            if line.status == "AWAITING_APPROVAL":
                continue
            row = self.desk.store.get_proposal(line.id)
            try:
                await self.bot.edit_message_text(render.final(line, by=row.decided_by if row else None,
                                                              reason=row.decision_reason if row else None),
                                                 chat_id=message.chat_id, message_id=message.message_id,
                                                 parse_mode=ParseMode.HTML)
            except BadRequest as exc:  # already edited, or deleted by the user: nothing more to show
                log.info("settle_edit_refused", proposal_id=line.id, error=str(exc))
            except TelegramError as exc:
                log.warning("settle_edit_failed", proposal_id=line.id, error=str(exc))
                continue
            self.messages.mark_final(message.id)
