"""Benchmark: recall latency of the Mem0 memory with 10,000 memories (target <= 200 ms for k = 5), and the
process RSS with the local model loaded.

Run as a plain script (not part of the test suite): ``python tests/perf/memory_recall.py [N]``. Needs
the ``local-memory`` extra. Memories are added through ``Memory.remember`` (one embedding each, as the
desk adds them); recalls use the queries a cycle builds (a symbol's setup) with and without the
symbol filter. Everything stays in a temporary PAPERDESK_HOME; nothing leaves the machine.
"""

from __future__ import annotations

import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from agent.memory.mem0_store import Mem0Options, open_mem0  # noqa: E402
from bot.desk.memories import MAX_SYMBOLS  # noqa: E402

SYMBOLS = ["SPY", "QQQ", "GLD", "TLT", "IWM", "EEM", "USO", "MC.PA", "TTE.PA", "BNP.PA", "AIR.PA", "SAN.PA"]
REASONS = ["too extended after an earnings run-up", "tail risk too high before the Fed",
           "already heavy in the sector", "momentum fading below the 50-day average",
           "good hedge in a risk-off regime", "position too small to matter"]


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(count: int = 10_000) -> None:
    """Fill, then time recalls."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        memory = open_mem0(Mem0Options(home=Path(home), embedder="local"))
        load = time.perf_counter() - started
        print(f"open with the local model: {load:.1f} s, RSS {rss_mb():.0f} MB")  # noqa: T201
        started = time.perf_counter()
        for i in range(count):
            symbol, reason = rng.choice(SYMBOLS), rng.choice(REASONS)
            memory.remember(f"Human rejected BUY {symbol} to {rng.uniform(0.02, 0.2):.1%}; reason: {reason}. #{i}",
                            "rejection", {"symbol": symbol, "date": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"})
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1:,} remembered, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)  # noqa: T201
        fill = time.perf_counter() - started
        print(f"remembered {count:,} memories in {fill:.0f} s ({fill / count * 1000:.1f} ms each)")  # noqa: T201
        medians = []
        for label, symbol in (("k=5, all memories", None), ("k=5, one symbol (cycle query)", "SPY")):
            times = []
            for _ in range(50):
                query = f"{rng.choice(SYMBOLS)} etf US equity, 20-day return +6.5%, RSI 72, not held; regime risk_on"
                t0 = time.perf_counter()
                found = memory.recall(query, 5, symbol=symbol)
                times.append((time.perf_counter() - t0) * 1000)
                assert len(found) == 5
            times.sort()
            p50, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
            print(f"recall {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target <= 200 ms)")  # noqa: T201
            medians.append(p50)
        cycle = medians[0] + medians[1] * MAX_SYMBOLS
        print(f"a cycle's recall ({MAX_SYMBOLS} symbol searches + 1 general): about {cycle / 1000:.1f} s")  # noqa: T201
        print(f"RSS with the local model and {count:,} memories: {rss_mb():.0f} MB "  # noqa: T201
              f"(peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
        memory.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
