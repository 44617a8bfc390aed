"""``paperdesk dataset``: its options, checked before the data and the generator load.

The dates, the split fractions and the states are checked here; the work (the request, the data,
the generator, the files and the summary) is ``bot.cli.dataset_run``, imported once they are valid:
``paperdesk dataset --help`` and a bad option's one-line error need neither pandas nor the database.
Errors: one line (``error: …``), exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.backtest.options import DATASET_STATES
from bot.cli.backtest import parse_day
from bot.cli.errors import fail


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or not all(0 < p < 1 for p in parts):
        raise fail(f"invalid --split {text!r}: three fractions for train,validation,test, e.g. 0.7,0.15,0.15")
    return parts[0], parts[1], parts[2]


def dataset(
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD); labels read no data after it.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory (JSONL per split, index.csv, data card).")],
    data: Annotated[str | None, typer.Option(
        help="synthetic, yfinance, alpaca or csv:DIR (default: PAPERDESK_DATA).")] = None,
    symbols: Annotated[str | None, typer.Option(help="Comma-separated symbols to restrict the universe to.")] = None,
    skip_missing: Annotated[bool, typer.Option(
        "--skip-missing", help="Leave out instruments whose data is missing or broken.")] = False,
    horizon: Annotated[int, typer.Option(min=1, max=250, help="Label horizon in trading days.")] = 5,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the simulated states (same seed, same bytes).")] = 0,
    states: Annotated[str | None, typer.Option(
        help=f"Comma-separated states (default: all): {', '.join(DATASET_STATES)}.")] = None,
    split: Annotated[str, typer.Option(help="Train,validation,test fractions of the days.")] = "0.7,0.15,0.15",
    output_mode: Annotated[str | None, typer.Option(help=(
        "json_schema, json_object or prompt (the schema in the system message); default: from "
        "PAPERDESK_LLM_OUTPUT_MODE, json_schema for auto."))] = None,
    loss_aversion: Annotated[float, typer.Option(min=1.0, max=10.0, help="λ: weight of a loss.")] = 2.25,
    cvar_weight: Annotated[float, typer.Option(min=0.0, max=100.0, help="κ: weight of the CVaR(95%) penalty.")] = 1.0,
) -> None:
    """Write hindsight-labelled chat examples (the llm policy's prompts) for fine-tuning a small model."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if first >= last:
        raise fail(f"empty range: --start {first} must be before --end {last}")
    fractions = _fractions(split)
    chosen = tuple(s.strip() for s in states.split(",") if s.strip()) if states is not None else DATASET_STATES
    from bot.cli.dataset_run import run_command

    run_command(first, last, out_dir, data, symbols, skip_missing, horizon, seed, chosen, fractions, output_mode,
                loss_aversion, cvar_weight)
