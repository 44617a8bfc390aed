"""Benchmark: approval latency, from an Approve tap reaching the bot to the order on the simulated broker.

Run as a plain script (not part of the test suite): ``python tests/perf/approval_latency.py [TAPS]``
(default 60). The real daemon (PTB polling, the gate, the callback handler, the desk's re-price,
re-classify and compare-and-set, the simulated broker, SQLite) runs against the local fake Bot API
server of tests/fakes over HTTP. Each round wires a fresh desk on a fresh SQLite file (a new cycle
supersedes older approvals), runs a cycle with every proposal BORDERLINE, then taps Approve on
each approval message one at a time. The clock starts when the fake server hands the callback
update to getUpdates and stops when a watcher thread (its own database connection, polling every
millisecond) sees the proposal's order row. Prints p50 / p95 / max and the ratio to the 300 ms
target.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import structlog  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bot.clock import FixedClock  # noqa: E402
from bot.daemon.daemon import Daemon  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_app  # noqa: E402
from tests.fakes.telegram_server import CHAT_ID, FakeTelegram  # noqa: E402

TOKEN = "123456:BENCH"
APPROVER = 1
TARGET_MS = 300.0
FRIDAY_CLOSE = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


def watch_orders(db_file: Path, seen: dict[str, float], stop: threading.Event) -> None:
    """Record when each order row first appears (perf_counter), from a separate connection."""
    engine = create_engine(f"sqlite:///{db_file}")
    with engine.connect() as conn:
        while not stop.is_set():
            for (client_order_id,) in conn.execute(text('SELECT client_order_id FROM broker_order')):
                seen.setdefault(client_order_id, time.perf_counter())
            conn.rollback()
            time.sleep(0.001)
    engine.dispose()


async def one_round(tg: FakeTelegram, home: Path, wanted: int) -> list[float]:
    """One fresh desk: a cycle, then taps on its approval messages; latencies in ms."""
    settings = Settings(home=home, policy="rules", risk={"min_confidence": 0.99}, telegram_bot_token=TOKEN,
                        telegram_api_url=tg.url, telegram_allowed_users=str(APPROVER),
                        telegram_chat_id=str(CHAT_ID), cycle_cron="0 3 29 2 *", log_level="error")
    app = build_app(settings, clock=FixedClock(FRIDAY_CLOSE))
    daemon = Daemon(app, poll_timeout=1)
    await daemon.start()
    await daemon.started()
    seen: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=watch_orders, args=(home / "paperdesk.db", seen, stop), daemon=True)
    watcher.start()
    latencies: list[float] = []
    try:
        report = await daemon.runner.cycle()
        awaiting = [p.id for p in report.proposals if p.status == "AWAITING_APPROVAL"]
        assert daemon.outbox is not None
        await daemon.outbox.drain()
        messages = {b["callback_data"].split(":")[1]: (m.message_id, b["callback_data"])
                    for m in tg.sent() for b in m.buttons if b["callback_data"].startswith("ap:")}
        for pid in awaiting[:wanted]:
            message_id, data = messages[pid]
            update_id = tg.press(APPROVER, message_id, data)
            deadline = time.monotonic() + 10
            while pid not in seen and time.monotonic() < deadline:  # noqa: ASYNC110  (polls the handler's record)
                await asyncio.sleep(0.001)
            if pid in seen and update_id in tg.handed_out:
                latencies.append((seen[pid] - tg.handed_out[update_id]) * 1000)
    finally:
        stop.set()
        watcher.join()
        await daemon.stop()
        app.close()
    return latencies


async def main(taps: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    tg = FakeTelegram(TOKEN)
    tg.start()
    latencies: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for round_no in range(100):
                if len(latencies) >= taps:
                    break
                latencies += await one_round(tg, Path(tmp) / f"r{round_no}", taps - len(latencies))
    finally:
        tg.stop()
    ordered = sorted(latencies)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(f"approval latency over {len(ordered)} taps (tap handed to getUpdates -> order row stored)")  # noqa: T201
    print(f"  p50 {statistics.median(ordered):7.1f} ms")  # noqa: T201
    print(f"  p95 {p95:7.1f} ms   target {TARGET_MS:.0f} ms   ratio {p95 / TARGET_MS:.2f}")  # noqa: T201
    print(f"  max {ordered[-1]:7.1f} ms")  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 60))
