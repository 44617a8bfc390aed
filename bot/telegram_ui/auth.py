"""The one authorisation gate, run before every handler (a TypeHandler in group -1).

Policy: user ids in ``PAPERDESK_TELEGRAM_ALLOWED_USERS`` are approvers (read and act); ids in
``PAPERDESK_TELEGRAM_VIEWERS`` may only read; anyone else is a stranger and gets no answer and no
data (the attempt is logged with the user id). Button presses, replies (reject reasons) and the
commands that change anything are actions: a viewer's action is answered "view-only" and stops
there. An unparsable id list is a ``SettingsError`` naming the variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import structlog
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.settings import Settings, SettingsError

log = structlog.get_logger("paperdesk.telegram.auth")
ACTION_COMMANDS = frozenset({"approve", "reject", "run", "halt", "reduce", "resume", "remember", "forget"})
VIEW_ONLY = "view-only: you can read, not act"


class Role(StrEnum):
    """What a Telegram user may do."""

    APPROVER = "approver"
    VIEWER = "viewer"
    STRANGER = "stranger"


def parse_ids(value: str, variable: str) -> frozenset[int]:
    """Comma-separated Telegram user ids."""
    try:
        return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
    except ValueError:
        raise SettingsError(f"invalid setting {variable}: use comma-separated numeric user ids "
                            f"(got {value!r})") from None


@dataclass(frozen=True)
class Roles:
    """Who may act and who may read."""

    approvers: frozenset[int]
    viewers: frozenset[int]

    @classmethod
    def from_settings(cls, settings: Settings) -> Roles:
        """Read both id lists."""
        return cls(parse_ids(settings.telegram_allowed_users, "PAPERDESK_TELEGRAM_ALLOWED_USERS"),
                   parse_ids(settings.telegram_viewers, "PAPERDESK_TELEGRAM_VIEWERS"))

    def of(self, user_id: int | None) -> Role:
        """The role of one user."""
        if user_id is not None and user_id in self.approvers:
            return Role.APPROVER
        if user_id is not None and user_id in self.viewers:
            return Role.VIEWER
        return Role.STRANGER


def is_action(update: Update) -> bool:
    """Does this update try to change anything?"""
    if update.callback_query is not None:
        return True
    message = update.effective_message
    if message is None:
        return False
    text = message.text or ""
    if text.startswith("/"):
        return text[1:].split()[0].split("@")[0].lower() in ACTION_COMMANDS if len(text) > 1 else False
    return message.reply_to_message is not None


def gate(roles: Roles) -> TypeHandler[Update, ContextTypes.DEFAULT_TYPE, None]:
    """The TypeHandler that stops strangers, and viewers who try to act."""

    async def check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        role = roles.of(user.id if user else None)
        if role is Role.APPROVER:
            return
        if role is Role.STRANGER:
            log.warning("telegram_stranger_refused", user_id=user.id if user else None,
                        kind="callback" if update.callback_query else "message")
            raise ApplicationHandlerStop
        if is_action(update):
            log.info("telegram_viewer_action_refused", user_id=user.id if user else None)
            await _tell_view_only(update)
            raise ApplicationHandlerStop

    return TypeHandler(Update, check)


async def _tell_view_only(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(VIEW_ONLY, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(VIEW_ONLY)
