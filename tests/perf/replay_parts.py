"""Benchmark: where a replayed day's time goes, part by part, in the real replay of ``paperdesk backtest``.

Run as a plain script, not part of the test suite: ``python tests/perf/replay_parts.py [--policy rules]
[--data csv:DIR | synthetic] [--start D] [--end D]``. The default is the rules policy on the seed
universe's real CSVs (``../shared/data/universe``), 2015-01-02..2024-12-31, the run of row 1 of
``backtest_speed.py``. Settings come from the environment as for ``paperdesk backtest`` (e.g.
``PAPERDESK_UNIVERSE`` and ``PAPERDESK_SIM__INITIAL_CASH`` for the S&P 500 files that
``backtest_speed.py`` writes); the home is a temporary directory.

The backtest is built as ``paperdesk backtest`` builds it (settings, universe, provider, request) and
replayed in this process. Each part of the day that ``bot.backtest.engine`` calls is wrapped for the run:
the policy's ``decide``, ``size_decision``, ``classify_batch`` and ``classify``, ``indicators_at``, the
risk and policy contexts, the market snapshot, the broker's ``valuation``, order execution and the
stop-loss pass. Each part is charged its own time, less the wrapped parts it calls (so the stop-loss pass
does not count its ``classify`` twice); "the rest of the loop" is the replay's time less every part.
Figures are µs per replayed day (CPU, ``time.process_time``), one run; a wrapper adds well under a
microsecond to each call. ``indicators_at`` includes the panels' rolling windows, computed when a
column is first read (about 0.1 s over a run). The replay loop's total comes first, apart from the
run's one-time work (data, benchmarks, metrics), so a speed-up can be judged against the whole day.

Why: row 2 of ``backtest_speed.py`` (a simulated year 20× cheaper than backtrader's) is a budget for the
whole day; this table shows which parts of the pipeline spend it.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf import backtest_bench_data as bench_data  # noqa: E402

POLICIES = ("rules", "equal_weight", "buy_and_hold")
REST = "the rest of the loop"
# (name in bot.backtest.engine, label): what the replay loop calls, looked up by name at run time.
ENGINE_PARTS = (
    ("indicators_at", "indicators_at"),
    ("replay_risk_context", "risk context"),
    ("replay_policy_context", "policy context"),
    ("replay_snapshot", "market snapshot"),
    ("size_decision", "size_decision"),
    ("classify_batch", "classify_batch"),
    ("classify", "classify (stop-losses)"),
    ("_execute", "order execution"),
    ("_stop_losses", "stop-loss pass"),
)


class Meter:
    """Self time per label: a part's time less the metered parts it calls."""

    def __init__(self) -> None:
        self.spent: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)
        self._children: list[float] = []

    def wrap(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        """``function`` (plain or async) charging its self time to ``label``."""
        if inspect.iscoroutinefunction(function):
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                self._enter()
                started = time.process_time()
                try:
                    return await function(*args, **kwargs)
                finally:
                    self._leave(label, time.process_time() - started)
            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._enter()
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self._leave(label, time.process_time() - started)
        return timed

    def _enter(self) -> None:
        self._children.append(0.0)

    def _leave(self, label: str, elapsed: float) -> None:
        children = self._children.pop()
        self.spent[label] += elapsed - children
        self.calls[label] += 1
        if self._children:
            self._children[-1] += elapsed


def main(argv: list[str]) -> None:
    """Replay once with every part metered, then print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", choices=POLICIES, default="rules")
    parser.add_argument("--data", help="csv:DIR or synthetic (default: the seed universe's CSVs in ../shared)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2015, 1, 2))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2024, 12, 31))
    args = parser.parse_args(argv)
    data = args.data or f"csv:{bench_data.shared_dir() / 'data' / 'universe'}"
    from bot.cli.backtest_run import EXPECTED

    with tempfile.TemporaryDirectory(prefix="paperdesk-parts-") as home:
        os.environ["PAPERDESK_HOME"] = home
        try:
            measure(args.policy, data, args.start, args.end)
        except EXPECTED as exc:  # what `paperdesk backtest` reports in one line: bad dates, data, settings
            raise SystemExit(f"error: {exc}") from None


def measure(policy_name: str, data: str, start: date, end: date) -> None:
    """Build the run as ``paperdesk backtest`` does, meter the replay's parts, print µs per day."""
    import bot.backtest.engine as engine
    import bot.backtest.run as run
    from agent.universe import load_universe
    from bot.cli.backtest_run import _request, make_backtest_policy
    from bot.market_wiring import make_provider
    from bot.settings import load_settings
    from broker.simulated import SimulatedBroker

    settings = load_settings()
    universe = load_universe(settings.universe)
    policy = make_backtest_policy(policy_name, settings, None, universe)[0]
    request = _request(settings, universe, make_provider(settings, universe, data), start, end, policy, None,
                       False, 1)
    meter = Meter()
    for name, label in ENGINE_PARTS:
        setattr(engine, name, meter.wrap(getattr(engine, name), label))
    policy.decide = meter.wrap(policy.decide, f"{policy_name} policy decide")
    SimulatedBroker.valuation = meter.wrap(SimulatedBroker.valuation, "valuation")
    run.replay = meter.wrap(engine.replay, REST)  # run_backtest calls the engine's replay by this name
    days = 0

    def count(_row: int) -> None:
        nonlocal days
        days += 1

    started = time.process_time()
    asyncio.run(run.run_backtest(request, on_day=count))
    total = time.process_time() - started
    loop = sum(meter.spent.values())
    print(f"{policy_name} on {data}\n{start}..{end}: {days} days, run_backtest {total:.2f} s CPU\n"  # noqa: T201
          f"  replay loop {loop:.2f} s ({loop / days * 1e6:,.0f} µs a day)\n"
          f"  one-time work (data, panels' setup, benchmarks, metrics) {total - loop:.2f} s")
    print(f"\n{'part':<28}{'µs/day':>9}{'share':>8}{'calls/day':>11}")  # noqa: T201
    parts = sorted((item for item in meter.spent.items() if item[0] != REST), key=lambda item: -item[1])
    for label, spent in [*parts, (REST, meter.spent[REST])]:
        calls = "—" if label == REST else f"{meter.calls[label] / days:.2f}"
        print(f"{label:<28}{spent / days * 1e6:>9,.0f}{spent / loop:>8.0%}{calls:>11}")  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1:])
