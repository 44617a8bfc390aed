"""``paperdesk compare``: its options, checked before the runs load.

The work (reading the runs, the bootstrap, the tables) is ``bot.cli.compare_run``, imported once the
options are valid: ``paperdesk compare --help`` and a bad option's one-line error need neither pandas
nor the database. Errors: one line, exit 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.errors import fail


def compare(
    run_ids: Annotated[list[str] | None, typer.Argument(
        help="Backtest run ids (shown by `paperdesk backtest`).", metavar="RUN_ID", show_default=False)] = None,
    last: Annotated[int | None, typer.Option("--last", min=1, max=500, help="Add the N latest runs.")] = None,
    trials: Annotated[int | None, typer.Option(
        "--trials", min=1, help="Configurations tried, for the deflated Sharpe (default: the runs compared).")] = None,
    confidence: Annotated[float, typer.Option(help="Confidence of the intervals, between 0 and 1.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap (same seed, same intervals).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Compare backtest runs with SPY buy-and-hold and the equal-weight universe: bootstrap intervals, PSR, DSR."""
    if not 0 < confidence < 1:
        raise fail(f"invalid --confidence {confidence}: use a number between 0 and 1, e.g. 0.95")
    if not run_ids and last is None:
        raise fail("name the runs to compare (RUN_ID ...) or use --last N")
    from bot.cli.compare_run import run_command

    run_command(run_ids or [], last, trials, confidence, seed, as_json)
