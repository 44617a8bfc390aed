"""Approve / Reject buttons: ``ap:<proposal id>:<nonce>`` and ``rj:<proposal id>:<nonce>`` (≤ 64 bytes).

Policy: a stale, forged or repeated tap is answered politely and changes nothing. Otherwise the
query is answered first, then the desk decides (re-read, expiry, re-price, re-classify,
compare-and-set) and the message is edited to its final state: filled at what price by whom,
rejected by whom (reply with a reason to record it), or expired / refused and why. A tap that
loses a race to another decision leaves the winner's edit in place.
"""

from __future__ import annotations

import re

import structlog
from telegram import CallbackQuery, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.daemon.runner import DeskRunner
from bot.desk import approvals, chat
from bot.desk.results import DecisionResult, DeskError
from bot.telegram_ui import render
from storage.telegram_store import TelegramStore

log = structlog.get_logger("paperdesk.telegram")
PATTERN = re.compile(r"^(ap|rj):([A-Za-z0-9_-]{1,40}):([0-9a-f]{1,16})$")
REFUSED_STATES = {"EXPIRED", "REJECTED_AT_APPROVAL"}
ASK_REASON = "\n<i>Reply to this message with the reason to record it.</i>"


class Buttons:
    """The callback handlers of one desk."""

    def __init__(self, runner: DeskRunner) -> None:
        self.desk = runner.desk
        self.messages = TelegramStore(self.desk.store.session, self.desk.clock)

    def handlers(self) -> list[CallbackQueryHandler[ContextTypes.DEFAULT_TYPE, None]]:
        """The decision handler, then a catch-all for anything else."""
        return [CallbackQueryHandler(self.on_decision, pattern=PATTERN), CallbackQueryHandler(self.on_unknown)]

    async def on_decision(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Approve or Reject tapped."""
        query = update.callback_query
        assert query is not None and context.matches  # noqa: S101  (the pattern matched a callback)
        action, proposal_id, nonce = context.matches[0].groups()
        who = f"human:{query.from_user.id}"
        try:
            self._precheck(proposal_id, nonce)
        except DeskError as exc:
            await query.answer(str(exc), show_alert=False)
            return
        await query.answer()
        try:
            result = await self._decide(action, proposal_id, who)
        except DeskError as exc:
            await self._refused(query, proposal_id, str(exc))
            return
        text = render.final(result.proposal, by=who) + (ASK_REASON if action == "rj" else "")
        await self._edit(query, text)

    async def on_unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button this bot does not know (old format or forged)."""
        if update.callback_query is not None:
            await update.callback_query.answer(chat.STALE_BUTTON)

    def _precheck(self, proposal_id: str, nonce: str) -> None:
        chat.check_button(self.desk, proposal_id, nonce)
        line = chat.proposal_line(self.desk, proposal_id)
        if line.status != "AWAITING_APPROVAL":
            raise DeskError(f"already decided: {line.status}")

    async def _decide(self, action: str, proposal_id: str, who: str) -> DecisionResult:
        if action == "ap":
            return await approvals.approve(self.desk, proposal_id, who)
        return approvals.reject(self.desk, proposal_id, who, None)

    async def _refused(self, query: CallbackQuery, proposal_id: str, why: str) -> None:
        line = chat.proposal_line(self.desk, proposal_id)
        log.info("button_decision_refused", proposal_id=proposal_id, status=line.status, why=why)
        if line.status in REFUSED_STATES:
            await self._edit(query, render.refused(line, why))

    async def _edit(self, query: CallbackQuery, text: str) -> None:
        message = query.message
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML)
        except BadRequest as exc:  # the message is gone or already shows this
            log.info("button_edit_refused", error=str(exc))
        if message is not None:
            shown = self.messages.message_for(str(message.chat.id), message.message_id)
            if shown is not None and shown.id is not None:
                self.messages.mark_final(shown.id)
