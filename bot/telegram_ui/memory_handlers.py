"""Telegram commands for long-term memory: /memory [QUERY], /remember TEXT, /forget ID.

Policy: viewers may list and search (/memory); /remember and /forget are actions, for approvers
only (the gate in auth.py refuses viewers). Memory text is shown escaped, with its id, kind, date.
The use cases are the desk's (``bot.desk.memories``), shared with ``paperdesk memory``. A ``DeskError``
(memory off, empty text, unknown id) reaches the one error handler in app.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from telegram import Update
from telegram.ext import ContextTypes

from agent.memory import MemoryRecord
from bot.desk import memories
from bot.desk.desk import Desk
from bot.desk.results import DeskError
from bot.telegram_ui.handlers import actor, reply

Ctx = ContextTypes.DEFAULT_TYPE
SHOWN_CHARS = 300


def render_memories(records: Sequence[MemoryRecord], query: str | None) -> str:
    """A list of memories with their ids."""
    title = f"Memories nearest to “{escape(query)}”" if query else "Latest memories"
    if not records:
        return f"<b>{title}</b>\nnone"
    lines = [f"<b>{title}</b>"]
    for record in records:
        text = record.text if len(record.text) <= SHOWN_CHARS else record.text[:SHOWN_CHARS] + "…"
        lines.append(f"<code>{escape(record.id)}</code>\n{escape(memories.heading(record))}: "
                     f"{escape(text)}")
    return "\n".join(lines)


class MemoryHandlers:
    """One coroutine per memory command."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def memory(self, update: Update, context: Ctx) -> None:
        """/memory [QUERY]: the latest memories, or those nearest to the query."""
        query = " ".join(context.args or []).strip() or None
        await reply(update, render_memories(memories.search(self.desk, query), query))

    async def remember(self, update: Update, context: Ctx) -> None:
        """/remember TEXT: add a note the agent will recall."""
        text = " ".join(context.args or []).strip()
        if not text:
            raise DeskError("usage: /remember TEXT")
        record = memories.remember_note(self.desk, text, actor(update))
        if record.queued is not None:  # another process holds the store: the note waits for it
            await reply(update, escape(memories.remembered(record)))
            return
        await reply(update, f"Remembered as <code>{escape(record.id)}</code>.")

    async def forget(self, update: Update, context: Ctx) -> None:
        """/forget ID: remove one memory."""
        args = context.args or []
        if len(args) != 1:
            raise DeskError("usage: /forget ID (ids are listed by /memory)")
        await reply(update, escape(memories.forget(self.desk, args[0], actor(update))))
