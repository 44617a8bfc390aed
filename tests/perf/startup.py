"""Benchmark: start-up CPU time of the CLI, measured as whole processes (user + sys seconds).

Run as a plain script (not part of the test suite): ``python tests/perf/startup.py [--runs N]``.
It measures ``paperdesk --help``, ``paperdesk status`` on a fresh synthetic home after one
``paperdesk cycle`` (it reads the valuation the cycle stored), the same status with ``--as-of``
the cycle's day (the whole desk values the portfolio at market: the path after a fill, on CSV
data or with sleeves), ``python -c "import bot.cli.app"`` and the ``--help`` of each command the CLI
loads lazily (backtest, report, explain, compare, sweep, dataset: their options are read without
their work); each the median of N runs (default 5).
CPU time, not wall time, because the machine is shared: compare ratios between runs, and on a
busy machine prefer ``python -X importtime -c "import bot.cli.app"`` (cumulative microseconds).
Bytecode is cached in a private directory (``PYTHONPYCACHEPREFIX``) and every command runs once
before it is timed, so the figures are those of an installed copy, not of compiling the sources.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bot.cli.app import CommandGroup

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PAPERDESK = str(BIN / "paperdesk")
TARGETS = {"paperdesk --help": 0.3, "paperdesk status": 0.6}


def cpu_seconds(command: list[str], env: dict[str, str]) -> float:
    """User + sys CPU seconds of one child process (it must exit 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_cpu(command: list[str], env: dict[str, str], runs: int) -> float:
    """The median CPU seconds of ``runs`` runs, after one warm-up run."""
    cpu_seconds(command, env)
    return statistics.median(cpu_seconds(command, env) for _ in range(runs))


def main() -> None:
    """Print one line per command: median CPU seconds and its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as home:
        skipped = ("PAPERDESK_", "OPENAI_", "TELEGRAM_", "ALPACA_", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
        env.update(PAPERDESK_HOME=home, PAPERDESK_DATA="synthetic", PAPERDESK_POLICY="rules",
                   PYTHONPYCACHEPREFIX=str(Path(home) / "pycache"))
        cycle = subprocess.run([PAPERDESK, "cycle", "--json"], env=env, cwd=ROOT, check=True, capture_output=True,
                               text=True)
        day = json.loads(cycle.stdout)["as_of"]
        commands = {"paperdesk --help": [PAPERDESK, "--help"], "paperdesk status": [PAPERDESK, "status"],
                    "paperdesk status --as-of": [PAPERDESK, "status", "--as-of", day],
                    "import bot.cli.app": [sys.executable, "-c", "import bot.cli.app"],
                    **{f"paperdesk {name} --help": [PAPERDESK, name, "--help"] for name in CommandGroup.lazy}}
        print(f"CPU seconds (user+sys), median of {runs} runs")  # noqa: T201
        for name, command in commands.items():
            seconds = median_cpu(command, env, runs)
            target = TARGETS.get(name)
            verdict = "" if target is None else f"target <= {target:.2f} s  {'ok' if seconds <= target else 'OVER'}"
            print(f"{name:<28} {seconds:6.3f} s   {verdict}")  # noqa: T201


if __name__ == "__main__":
    main()
