"""``paperdesk llm …``: the LLM audit trail from the command line (parse, read, render).

Rows are shown redacted (the configured secrets and key-shaped text, even in rows stored before
redaction existed) and never read as terminal markup.

Failure contract: bad input or an unusable database prints one line and exits 1.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.errors import fail

if TYPE_CHECKING:
    from storage.tables_llm import LlmCallRow

llm_app = typer.Typer(help="The LLM policy's audit trail.", no_args_is_help=True)


def call_view(row: LlmCallRow) -> dict[str, Any]:
    """One call as a JSON-ready summary."""
    from broker.redaction import host_of

    errors = row.validation_errors if isinstance(row.validation_errors, list) else []
    return {"id": row.id, "at": row.at.isoformat(), "cycle_id": row.cycle_id, "model": row.model,
            "endpoint_host": host_of(row.endpoint_host), "outcome": row.outcome, "finish_reason": row.finish_reason,
            "from_cache": row.from_cache, "output_mode": row.output_mode, "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens, "latency_ms": row.latency_ms, "cost_usd": str(row.cost_usd),
            "validation_errors": errors, "error": row.error, "cache_key": row.cache_key}


@llm_app.command("calls")
def calls(limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many calls.")] = 20,
          as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False) -> None:
    """Recent LLM calls with their output mode, tokens, cost and outcome, newest first."""
    from bot.clock import system_clock
    from bot.logging import Redactor, settings_secrets
    from bot.settings import SettingsError, load_settings
    from storage.engine import DatabaseError, DatabaseUrlError, make_engine
    from storage.llm_store import LlmStore
    from storage.migrate import SchemaOutOfDate, ensure_schema
    from storage.store import Store

    try:
        settings = load_settings()
        engine = make_engine(settings.effective_database_url)
        ensure_schema(engine)
        rows = LlmStore(Store(engine, system_clock).session).calls(limit)
        engine.dispose()
    except (SettingsError, DatabaseUrlError, SchemaOutOfDate) as exc:
        raise fail(str(exc)) from None
    except DatabaseError as exc:
        raise fail(f"database error: {str(exc).splitlines()[0]}") from None
    redactor = Redactor(settings_secrets(settings))
    views = [redactor.value(call_view(row)) for row in rows]
    if as_json:
        print(json.dumps(views, indent=2))  # noqa: T201
        return
    _table(views)


def _table(views: list[dict[str, Any]]) -> None:
    from bot.cli.render import Column, Fitted, make_console

    out = make_console()
    if not views:
        out.print("no LLM calls recorded yet")
        return
    # In a narrow terminal latency, cost, cycle, model and cache give way first; id, time, mode, outcome,
    # tokens and the reason stay (the reason wraps).
    columns = (Column("id", "right", whole=True), Column("at UTC"), Column("cycle", whole=True, drop=3),
               Column("model", whole=True, drop=4), Column("mode", whole=True), Column("outcome", whole=True),
               Column("tokens in/out", whole=True), Column("cost USD", "right", whole=True, drop=2),
               Column("ms", "right", drop=1), Column("cache", drop=5), Column("why"))
    rows = []
    for v in views:
        why = v["error"] or "; ".join(v["validation_errors"][:2]) or ""
        rows.append((str(v["id"]), f"{v['at'][:10]} {v['at'][11:19]}", v["cycle_id"] or "—", v["model"],
                     v["output_mode"] or "—", v["outcome"], f"{v['prompt_tokens']}/{v['completion_tokens']}",
                     v["cost_usd"], f"{v['latency_ms']:.0f}", "replay" if v["from_cache"] else "", why[:80]))
    out.print(Fitted("LLM calls", columns, rows))
