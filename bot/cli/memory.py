"""``paperdesk memory …``: long-term memory from the command line, as Telegram's /memory, /remember, /forget.

``paperdesk memory [QUERY] [--json]`` (short for ``memory search``) lists the latest memories, or
those nearest to QUERY; ``paperdesk memory add TEXT`` adds a note the agent will recall;
``paperdesk memory forget ID`` removes one. Each calls the desk's use case (``bot.desk.memories``),
the one Telegram calls: this module parses and renders. Memory text is data, shown literally.

Failure contract: memory off, bad input, an unknown id, or (for a search or a forget) a memory
store held by another process prints one line and exits 1; a note added while another process
(the daemon) holds the store is queued for it, and the line says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click import Context
from typer.core import TyperGroup

if TYPE_CHECKING:
    from agent.memory import MemoryRecord

Words = Annotated[list[str] | None, typer.Argument(help="Words to match (none: the latest memories).",
                                                   show_default=False)]
MAX_SHOWN = 50


class MemoryGroup(TyperGroup):
    """``memory`` and ``memory QUERY`` mean ``memory search [QUERY]``; ``add`` and ``forget`` are commands."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        """Route anything that does not start with a command name (or --help) to ``search``."""
        if not args or (args[0] not in self.commands and args[0] not in self.get_help_option_names(ctx)):
            args = ["search", *args]
        return super().parse_args(ctx, args)


memory_app = typer.Typer(help="Long-term memory: `memory [QUERY]` lists or searches, `add TEXT`, `forget ID`.",
                         cls=MemoryGroup)


@memory_app.command("search")
def search(query: Words = None,
           limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_SHOWN, help="How many memories.")] = 10,
           as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False) -> None:
    """The latest memories, or those nearest to QUERY (`paperdesk memory [QUERY]` is the same)."""
    from bot.cli.app import _app, _emit, _secrets, out
    from bot.desk import memories

    words = " ".join(query or []).strip() or None
    with _app() as built:
        records = memories.search(built.desk, words, limit)
        _emit(as_json, [record_view(r) for r in records], lambda: out().print(table(records, words)), _secrets(built))


@memory_app.command("add")
def add(text: Annotated[list[str], typer.Argument(help="The note, in words the agent will recall.")]) -> None:
    """Add a note the agent will recall (queued when the daemon holds the memory store)."""
    from bot.cli.app import _actor, _app, out
    from bot.cli.render import line
    from bot.desk import memories

    with _app() as built:
        record = memories.remember_note(built.desk, " ".join(text), _actor())
        out().print(line(memories.remembered(record)))


@memory_app.command("forget")
def forget(memory_id: Annotated[str, typer.Argument(help="The id shown by `paperdesk memory`.")]) -> None:
    """Remove one memory by its id."""
    from bot.cli.app import _actor, _app, out
    from bot.cli.render import line
    from bot.desk import memories

    with _app() as built:
        out().print(line(memories.forget(built.desk, memory_id, _actor())))


def record_view(record: MemoryRecord) -> dict[str, Any]:
    """One memory as a JSON-ready summary."""
    meta = record.metadata
    return {"id": record.id, "kind": str(record.kind), "date": meta.get("date"), "symbol": meta.get("symbol"),
            "text": record.text, "score": record.score, "metadata": meta,
            "created_at": record.created_at.isoformat() if record.created_at else None}


def table(records: Sequence[MemoryRecord], query: str | None) -> Any:
    """The memories as a table that fits the terminal (ids whole), or one line when there are none."""
    from bot.cli.render import Column, Fitted, line

    if not records:
        return line("no memory matches" if query else "no memories yet")
    title = f"Memories nearest to “{query}”" if query else "Latest memories"
    columns = (Column("id", whole=True), Column("date", whole=True), Column("kind"), Column("symbol", drop=2),
               Column("memory"), Column("score", "right", drop=1))
    rows = [(r.id, str(r.metadata.get("date") or (f"{r.created_at:%Y-%m-%d}" if r.created_at else "")), str(r.kind),
             str(r.metadata.get("symbol") or ""), r.text, "" if r.score is None else f"{r.score:.2f}")
            for r in records]
    return Fitted(title, columns, rows)
