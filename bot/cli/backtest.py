"""``paperdesk backtest`` and ``paperdesk report``: their options, checked before anything heavy loads.

The commands' work is ``bot.cli.backtest_run`` (the replay, its files, the stored run, the summary; the
portfolio's report), imported once the options are known to be valid: ``paperdesk backtest --help`` and a
bad option's one-line error need neither pandas nor the database. Errors: one line, exit 1.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.backtest.options import BREAKER_DAYS, ENGINES
from bot.cli.app import AsOf
from bot.cli.errors import fail

POLICIES = ("rules", "llm", "buy_and_hold", "equal_weight", "sleeves")


def parse_day(value: str, option: str) -> date:
    """A YYYY-MM-DD date, or a one-line error naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"invalid {option} {value!r}: use YYYY-MM-DD") from None


def backtest(
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD).")],
    policy: Annotated[str | None, typer.Option(help=(
        "rules, llm, buy_and_hold, equal_weight or sleeves (default: sleeves when \\[sleeves] are configured, "
        "else rules)."))] = None,
    data: Annotated[str | None, typer.Option(
        help="synthetic, yfinance, alpaca or csv:DIR (default: PAPERDESK_DATA).")] = None,
    symbols: Annotated[str | None, typer.Option(help="Comma-separated symbols to restrict the universe to.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output directory.")] = None,
    approve_borderline: Annotated[bool, typer.Option(
        "--approve-borderline", help="Execute BORDERLINE proposals (no human).")] = False,
    walk_forward: Annotated[int, typer.Option(min=1, max=50, help="Split the period into N folds.")] = 1,
    skip_missing: Annotated[bool, typer.Option(
        "--skip-missing", help="Leave out (and list) instruments whose data is missing or broken.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    engine: Annotated[str, typer.Option(help="auto or objects: both run every policy through the one object "
                                        "replay (kept for scripts that pass it).")] = "auto",
    breaker_days: Annotated[int, typer.Option(min=1, max=3650, help=(
        "Days the circuit breaker keeps the desk REDUCING, counting the trip day (live: until resume)."
    ))] = BREAKER_DAYS,
) -> None:
    """Replay the desk pipeline day by day and compare it with the benchmarks."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if policy is not None and policy not in POLICIES:
        raise fail(f"unknown policy {policy!r}: choose {', '.join(POLICIES)}")
    if first >= last:
        raise fail(f"empty range: --start {first} must be before --end {last}")
    if engine not in ENGINES:
        raise fail(f"unknown engine {engine!r}: choose {', '.join(ENGINES)}")
    from bot.cli.backtest_run import run_command

    run_command(first, last, policy, data, symbols, out_dir, approve_borderline, walk_forward, skip_missing, as_json,
                engine, breaker_days)


def report(week: Annotated[bool, typer.Option("--week", help="Only the last 7 days.")] = False,
           as_of: AsOf = None) -> None:
    """Performance vs the benchmarks and decision quality, to the portfolio's date (its latest cycle, or --as-of);
    writes charts to PAPERDESK_HOME/reports/<date>/."""
    from bot.cli.backtest_run import report_command

    report_command(week, as_of)
