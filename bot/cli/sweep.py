"""``paperdesk sweep GRID.toml``: its options, checked before the grid and the replay load.

The work (expanding the grid, running it on Dask or here, storing and tabulating the runs) is
``bot.cli.sweep_run``, imported once the options are valid: ``paperdesk sweep --help`` and a bad
option's one-line error need neither pandas nor the database. Errors: one line, exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.errors import fail


def sweep(
    grid: Annotated[Path, typer.Argument(help="The grid file (TOML).", show_default=False)],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Sweep directory (default: PAPERDESK_HOME/sweeps/"
                                                 "<grid hash>).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="An existing Dask scheduler, e.g. tcp://HOST:8786.")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=1024, help=(
        "LocalCluster workers (default: one per core); with --scheduler, wait for that many.")) ] = None,
    sequential: Annotated[bool, typer.Option("--sequential", help="Run in this process, without Dask.")] = False,
) -> None:
    """Run a grid of backtests (policies, risk limits, universes, periods) on Dask; finished runs are reused."""
    if sequential and scheduler:
        raise fail("--sequential and --scheduler exclude each other")
    from bot.cli.sweep_run import run_command

    run_command(grid, out_dir, scheduler, workers, sequential)
