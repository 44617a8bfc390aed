"""Benchmark: ``paperdesk sweep`` on a LocalCluster of 1 and of 2 workers: speed-up and runs per minute.

Run as a plain script, not part of the test suite: ``python tests/perf/sweep_speed.py [--quick]``.

The grid is 32 runs of the rules policy over 2015-01-02..2024-12-31 on the seed universe (a
product of risk limits: 4 position caps × 4 cash floors × 2 drawdown limits), with the real CSVs
of ``../shared/data/universe`` when present, else the synthetic market. Each executor runs the
whole grid as one ``paperdesk sweep`` process in a fresh PAPERDESK_HOME (so nothing is reused),
once; the figure is wall time (the cluster's start-up included), since workers are processes.
Target (issue 18): a speed-up of at least 1.7× with 2 workers on a 2-core machine.
``--quick`` is a smoke run: 4 runs of one quarter. A failed sweep prints its last lines and exits 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "universe"
SCRUBBED = ("PAPERDESK_", "OPENAI_", "TELEGRAM_", "ALPACA_")
FULL = {"max_position_weight": [0.15, 0.2, 0.25, 0.3], "min_cash_weight": [0.05, 0.1, 0.15, 0.2],
        "max_drawdown": [0.15, 0.25]}
QUICK = {"max_position_weight": [0.2, 0.3], "min_cash_weight": [0.1, 0.2]}


def grid_text(quick: bool, data: str) -> str:
    """The TOML grid: the rules policy over a product of limits, one period."""
    limits = QUICK if quick else FULL
    end = "2015-03-31" if quick else "2024-12-31"
    lines = ['policies = ["rules"]', 'universes = ["seed"]', f'data = "{data}"', "[limits]",
             *(f"{key} = {values}" for key, values in limits.items()),
             "[[periods]]", 'start = "2015-01-02"', f'end = "{end}"']
    return "\n".join(lines) + "\n"


def timed_sweep(grid: Path, workers: int) -> float:
    """Wall seconds of one whole ``paperdesk sweep`` process on ``workers`` LocalCluster workers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    with tempfile.TemporaryDirectory() as home:
        env["PAPERDESK_HOME"] = home
        command = [str(Path(sys.executable).with_name("paperdesk")), "sweep", str(grid), "--workers", str(workers)]
        started = time.perf_counter()
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise SystemExit(f"sweep on {workers} worker(s) failed:\n{tail}")
    return elapsed


def main() -> None:
    """Run the grid on 1 then 2 workers and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 runs of one quarter (a smoke run)")
    args = parser.parse_args()
    data = f"csv:{SHARED}" if SHARED.is_dir() else "synthetic"
    runs = 4 if args.quick else 32
    with tempfile.TemporaryDirectory() as tmp:
        grid = Path(tmp) / "grid.toml"
        grid.write_text(grid_text(args.quick, data), encoding="utf-8")
        print(f"sweep of {runs} rules runs, {'2015Q1' if args.quick else '2015-2024'}, seed universe, data {data}")  # noqa: T201
        seconds = {workers: timed_sweep(grid, workers) for workers in (1, 2)}
    for workers, elapsed in seconds.items():
        print(f"{workers} worker(s): {elapsed:7.1f} s wall, {runs / elapsed * 60:6.1f} runs/min")  # noqa: T201
    print(f"speed-up with 2 workers: {seconds[1] / seconds[2]:.2f}x (target >= 1.7x)")  # noqa: T201


if __name__ == "__main__":
    main()
