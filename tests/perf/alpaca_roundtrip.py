"""Benchmark: what the Alpaca adapter costs per call, and one cycle on Alpaca vs the simulated broker.

Run as a plain script (not part of the test suite): ``python tests/perf/alpaca_roundtrip.py``.
Everything runs against the local Alpaca server in tests/fakes (HTTP on 127.0.0.1), so the figures
are the adapter's own overhead (alpaca-py, requests, to_thread, parsing), not Alpaca's latency.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from agent.universe import load_universe  # noqa: E402
from bot.desk.cycle import run_cycle  # noqa: E402
from bot.logging import configure_logging  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_app  # noqa: E402
from broker.alpaca import AlpacaBroker, AlpacaConfig  # noqa: E402
from broker.models import OrderRequest, Side  # noqa: E402
from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpaca  # noqa: E402

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
N = 200


async def timed(label: str, call: Callable[[int], Awaitable[object]]) -> None:
    samples = []
    for i in range(N):
        start = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(f"{label:<34} p50 {statistics.median(samples):6.2f} ms   p95 {samples[int(N * 0.95)]:6.2f} ms")  # noqa: T201


async def calls(fake: FakeAlpaca) -> None:
    config = AlpacaConfig(api_key=KEY, secret_key=SECRET, url=fake.url, backoff_seconds=0, poll_seconds=0)
    broker = AlpacaBroker(config, load_universe("us").by_symbol, lambda: NOW)
    await timed("account()", lambda i: broker.account())
    await timed("submit() filled at once", lambda i: broker.submit(
        OrderRequest(client_order_id=f"b{i}", symbol="SPY", side=Side.BUY, quantity=Decimal("0.01"))))
    await timed("submit() duplicate -> reconciled", lambda i: broker.submit(
        OrderRequest(client_order_id=f"b{i}", symbol="SPY", side=Side.BUY, quantity=Decimal("0.01"))))
    await timed("order_by_client_id()", lambda i: broker.order_by_client_id(f"b{i}"))


def cycle_seconds(fake: FakeAlpaca | None) -> float:
    with tempfile.TemporaryDirectory() as home:
        values: dict[str, object] = {"home": Path(home), "policy": "rules", "universe": "us", "synthetic_seed": 2,
                                     "risk": {"min_confidence": 0.5}}
        if fake is not None:
            values.update(broker="alpaca", ALPACA_API_KEY=KEY, ALPACA_SECRET_KEY=SECRET, alpaca_url=fake.url)
        app = build_app(Settings(**values), clock=lambda: NOW)  # type: ignore[arg-type]
        if fake is not None:
            fake.prices = {s: q.price for s, q in app.desk.snapshot().quotes.items()}
        app.desk.snapshot()
        start = time.perf_counter()
        report = asyncio.run(run_cycle(app.desk))
        elapsed = time.perf_counter() - start
        app.close()
        assert [p for p in report.proposals if p.status == "FILLED"], report
        return elapsed


def main() -> None:
    configure_logging("error", "console")
    fake = FakeAlpaca(cash=Decimal(10_000_000), prices={"SPY": Decimal("600")})
    fake.start()
    fresh = FakeAlpaca()  # the cycle starts from cash
    fresh.start()
    try:
        asyncio.run(calls(fake))
        sim, alpaca = cycle_seconds(None), cycle_seconds(fresh)
        print(f"{'one cycle, us universe, sim':<34} {sim:6.2f} s")  # noqa: T201
        print(f"{'one cycle, us universe, alpaca':<34} {alpaca:6.2f} s")  # noqa: T201
    finally:
        fake.stop()
        fresh.stop()


if __name__ == "__main__":
    main()
