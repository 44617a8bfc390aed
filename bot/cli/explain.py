"""``paperdesk explain ID``: its options, checked before the desk loads.

The work (building the desk, the story, the terminal and JSON output) is ``bot.cli.explain_run``,
imported once the options are valid: ``paperdesk explain --help`` and a bad date's one-line error
need neither pandas nor the database. Errors: one line, exit 1.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from bot.cli.errors import fail


def explain(item_id: Annotated[str, typer.Argument(
                metavar="ID", help="A proposal id (as `cycle` and `pending` show it) or a cycle id.")],
            as_of: Annotated[str | None, typer.Option(
                "--as-of", help="Pin the desk's date (YYYY-MM-DD): the outcome is measured up to it.")] = None,
            as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False) -> None:
    """The whole story of a proposal or a cycle: prompt and answer, risk, approvals, orders, fills, outcome."""
    try:
        if as_of:
            date.fromisoformat(as_of)
    except ValueError:
        raise fail(f"invalid date {as_of!r}: use YYYY-MM-DD") from None
    from bot.cli.explain_run import run_command

    run_command(item_id, as_of, as_json)
