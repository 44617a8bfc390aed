"""The one authorisation gate, run before every handler (a TypeHandler in group -1), and the one command parser.

Policy: user ids in ``PAPERDESK_TELEGRAM_ALLOWED_USERS`` are approvers (read and act); ids in
``PAPERDESK_TELEGRAM_VIEWERS`` may only read; anyone else is a stranger and gets no answer and no
data (the attempt is logged with the user id). Button presses, replies (reject reasons) and every
command outside the ``READ_ONLY`` allow-list are actions (deny by default, so a new command is an
action until someone decides otherwise): a viewer's action is answered "view-only" and stops there.

The gate and the command handlers read a command with the same ``parse_command``, exactly as
Telegram marks it and python-telegram-bot's CommandHandler reads it: the ``bot_command`` entity at
offset 0 (Telegram ends it at the first character outside ``[A-Za-z0-9_@]``, so ``/halt-now`` is
``halt``), ``@botname`` stripped, lower-cased; a command addressed to another bot is no command of
ours. Handlers are registered as ``DeskCommandHandler`` so the two can never read it differently.
An unparsable id list is a ``SettingsError`` naming the variable.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import structlog
from telegram import Message, MessageEntity, Update
from telegram.ext import ApplicationHandlerStop, CommandHandler, ContextTypes, TypeHandler

from bot.desk.access import Role as Role  # the roles every transport shares, re-exported for the telegram modules
from bot.desk.access import Roles as Roles
from bot.settings import parse_ids as parse_ids

log = structlog.get_logger("paperdesk.telegram.auth")
READ_ONLY = frozenset({"start", "help", "status", "positions", "pnl", "pending", "history", "risk", "sleeves", "report",
                       "memory", "explain", "web"})
VIEW_ONLY = "view-only: you can read, not act"


class Command(NamedTuple):
    """A command addressed to this bot: its lower-case name (no slash, no @bot) and its arguments."""

    name: str
    args: list[str]


def parse_command(message: Message) -> Command | None:
    """The command this message gives this bot, read as PTB's CommandHandler reads it; None if none."""
    entities, text = message.entities, message.text
    if not (entities and entities[0].type == MessageEntity.BOT_COMMAND and entities[0].offset == 0 and text):
        return None
    username = message.get_bot().username
    name, addressee, *_ = [*text[1:entities[0].length].split("@"), username]
    if addressee.lower() != username.lower():
        return None  # /halt@otherbot: another bot's command, no handler of ours runs it
    return Command(name.lower(), text.split()[1:])


class DeskCommandHandler(CommandHandler[ContextTypes.DEFAULT_TYPE, None]):
    """A CommandHandler that reads its command with ``parse_command``, the parser the gate uses."""

    def check_update(self, update: object) -> Any:
        """``(args, filter result)`` when this handler runs the update, else None or False (as PTB's)."""
        if not isinstance(update, Update) or update.effective_message is None:
            return None
        command = parse_command(update.effective_message)
        if command is None or command.name not in self.commands or not self._check_correct_args(command.args):
            return None
        passed = self.filters.check_update(update)
        return (command.args, passed) if passed else False


def is_action(update: Update) -> bool:
    """Does this update try to change anything? Any command not in ``READ_ONLY`` does."""
    if update.callback_query is not None:
        return True
    message = update.effective_message
    if message is None:
        return False
    command = parse_command(message)
    if command is not None:
        return command.name not in READ_ONLY
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
