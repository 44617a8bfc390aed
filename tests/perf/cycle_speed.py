"""Benchmark: wall time of one decision cycle on 30 and on 500 synthetic instruments.

Run as a plain script (not part of the test suite): ``python tests/perf/cycle_speed.py``.
Each size gets a fresh SQLite home; the first cycle starts from cash (the most orders), the
second continues the same portfolio. Targets on a 2-core machine: <= 1 s (30) and <= 5 s (500).
"""

from __future__ import annotations

import asyncio
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from agent.policies.base import PolicyContext  # noqa: E402
from agent.schema import Action, PolicyDecision, ProposalIdea  # noqa: E402
from agent.universe import load_universe, synthetic_universe  # noqa: E402
from bot.desk.cycle import run_cycle  # noqa: E402
from bot.logging import configure_logging  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_app  # noqa: E402

TARGETS = {30: 1.0, 500: 5.0}
FIELDS = ["symbol", "name", "asset_class", "sector", "currency", "exchange", "fractional", "data_symbol",
          "price_scale"]


def write_universe(n: int, directory: Path) -> str:
    """The seed universe for 30, a generated one otherwise; returns the PAPERDESK_UNIVERSE value."""
    if n == 30:
        return "seed"
    universe = synthetic_universe(n)
    path = directory / f"universe_{n}.csv"
    with path.open("w", newline="") as handle:
        handle.write(f"# base_currency: {universe.base_currency}\n")
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for i in universe.instruments:
            writer.writerow({"symbol": i.symbol, "name": i.name, "asset_class": i.asset_class.value,
                             "sector": i.sector, "currency": i.currency, "exchange": i.exchange,
                             "fractional": str(i.fractional).lower(), "data_symbol": i.data_symbol or "",
                             "price_scale": str(i.price_scale)})
    load_universe(str(path))  # fail early if the file is not what the loader expects
    return str(path)


class EveryInstrument:
    """Stress policy: an equal target for every instrument, so every one becomes a proposal."""

    name = "stress"

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """80% invested, equally."""
        weight = 0.8 / len(context.instruments)
        ideas = [ProposalIdea(symbol=s, action=Action.BUY, target_weight=weight, confidence=0.8, thesis="stress",
                              expected_upside_pct=0.05, worst_case_loss_pct=0.1, time_horizon_days=20,
                              stop_loss_pct=0.1, risk_factors=[], catalysts=[], exit_triggers=[])
                 for s in context.instruments]
        return PolicyDecision(market_view="stress", proposals=ideas)


def measure(n: int, runs: int = 3, stress: bool = False) -> dict[str, float]:
    """Seconds for build+first cycle, the first cycle alone, and a follow-up cycle (median of runs)."""
    firsts, seconds, builds = [], [], []
    proposals = 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            settings = Settings(home=home, universe=write_universe(n, home), data="synthetic", policy="rules",
                                sim={"initial_cash": 10_000_000},  # so whole shares of 500 names fit
                                risk={"max_trades_per_day": 1000, "max_trades_per_week": 1000})
            t0 = time.perf_counter()
            app = build_app(settings)
            if stress:
                app.desk.policy = EveryInstrument()
            t1 = time.perf_counter()
            report = asyncio.run(run_cycle(app.desk))
            t2 = time.perf_counter()
            asyncio.run(run_cycle(app.desk))
            t3 = time.perf_counter()
            app.close()
            builds.append(t1 - t0)
            firsts.append(t2 - t1)
            seconds.append(t3 - t2)
            proposals = len(report.proposals)
    return {"build": statistics.median(builds), "first": statistics.median(firsts),
            "second": statistics.median(seconds), "proposals": proposals}


def main() -> None:
    """Print the figures and the ratio to each target."""
    configure_logging("warning")
    print("cycle wall time (median of 3, fresh SQLite home each run)")  # noqa: T201
    for n, target in TARGETS.items():
        r = measure(n)
        print(f"{n:>4} instruments: first cycle {r['first']:.3f} s ({r['proposals']:.0f} proposals), "  # noqa: T201
              f"next cycle {r['second']:.3f} s, wiring {r['build']:.3f} s; target {target:.0f} s -> "
              f"{r['first'] / target:.0%} of budget")
    r = measure(500, runs=1, stress=True)
    print(f" 500 instruments, every one proposed (stress): first cycle {r['first']:.3f} s "  # noqa: T201
          f"({r['proposals']:.0f} proposals through risk, storage and the broker), next cycle {r['second']:.3f} s")


if __name__ == "__main__":
    main()
