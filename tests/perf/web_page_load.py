"""Benchmark: dashboard page and API load times over real HTTP with 10,000 stored proposals.

Run as a plain script (not part of the test suite): ``python tests/perf/web_page_load.py [ROUNDS]``
(default 20). A week of daily cycles on the synthetic market gives the equity curve and positions;
the decision log is then grown to 10,000 proposals by copying the stored ones (each with its
verdict, risk hits and transitions, under fresh ids and older times, some decided by ``web:`` and
``human:`` actors). The dashboard is served by uvicorn on 127.0.0.1 as ``paperdesk run`` serves it;
one logged-in client requests every page and the API calls the pages make, ROUNDS times each
(the first, cold, round is reported apart). Prints p50 / p95 / max per request and overall, and
the p95 against the 300 ms target.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import structlog  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot.clock import FixedClock  # noqa: E402
from bot.desk.cycle import run_cycle  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.web.app import create_app  # noqa: E402
from bot.web.roles import Role  # noqa: E402
from bot.web.server import WebServer  # noqa: E402
from bot.wiring import App, build_app  # noqa: E402

PROPOSALS = 10_000
TARGET_MS = 300.0
FIRST_DAY = datetime(2026, 11, 12, 21, 0, tzinfo=UTC)
REQUESTS = ["/", "/pending", "/decisions", "/api/overview", "/api/equity", "/api/positions", "/api/pending",
            "/api/decisions?limit=50", "/api/decisions?limit=50&verdict=BORDERLINE&actor=web:",
            "/api/decisions?limit=50&symbol=GWX", "/api/risk", "/api/llm/calls", "/api/backtests", "/api/explain/{id}"]


async def week(app: App, clock: FixedClock) -> None:
    """Daily cycles, Thursday to the next Wednesday (weekends skipped)."""
    for day in range(7):
        if clock().weekday() < 5:
            await run_cycle(app.desk)
        if day < 6:
            clock.advance(days=1)


def grow(app: App, total: int) -> str:
    """Copy the stored proposals (with verdicts, hits, transitions) until ``total``; a proposal id to explain."""
    with app.engine.begin() as conn:
        base = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM proposal"))]
        verdicts = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM verdict"))]
        hits = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM risk_hit"))]
        moves = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM proposal_transition"))]
        next_verdict = max(v["id"] for v in verdicts) + 1
        made, copy = len(base), 0
        while made < total:
            copy += 1
            for row in base:
                if made >= total:
                    break
                new_id = "p" + uuid.uuid4().hex[:8]
                shift = timedelta(days=copy)
                actor = ("web:11", "human:1", "cli:alice", None)[made % 4]
                status = "EXPIRED" if row["status"] == "AWAITING_APPROVAL" else row["status"]  # old ones are settled
                conn.execute(_insert("proposal", row), {**row, "id": new_id, "decided_by": actor, "status": status,
                                                        "created_at": _older(row["created_at"], shift),
                                                        "updated_at": _older(row["updated_at"], shift)})
                for verdict in (v for v in verdicts if v["proposal_id"] == row["id"]):
                    conn.execute(_insert("verdict", verdict), {**verdict, "id": next_verdict, "proposal_id": new_id})
                    for hit in (h for h in hits if h["verdict_id"] == verdict["id"]):
                        conn.execute(_insert("risk_hit", hit, skip="id"), {**hit, "verdict_id": next_verdict})
                    next_verdict += 1
                for move in (m for m in moves if m["proposal_id"] == row["id"]):
                    conn.execute(_insert("proposal_transition", move, skip="id"), {**move, "proposal_id": new_id})
                made += 1
    return str(base[0]["id"])


def _insert(table: str, row: dict[str, object], skip: str | None = None):  # type: ignore[no-untyped-def]
    columns = [c for c in row if c != skip]
    return text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})")  # noqa: S608


def _older(value: object, shift: timedelta) -> object:
    if isinstance(value, datetime):
        return value - shift
    return (datetime.fromisoformat(str(value)) - shift).isoformat(sep=" ")


async def measure(app: App, explain_id: str, rounds: int) -> dict[str, list[float]]:
    """Latencies in ms by request, served over HTTP by uvicorn on 127.0.0.1."""
    fastapi_app = create_app(app.desk, app.settings)
    server = WebServer(fastapi_app, "127.0.0.1", 0)
    await server.start()
    timings: dict[str, list[float]] = {path: [] for path in REQUESTS}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client:
            await client.get("/login", params={"token": fastapi_app.state.auth.login_token("os:bench", Role.APPROVER)})
            for _ in range(rounds + 1):  # the first round warms caches and is reported apart
                for path in REQUESTS:
                    started = time.perf_counter()
                    answer = await client.get(path.replace("{id}", explain_id))
                    timings[path].append((time.perf_counter() - started) * 1000)
                    if answer.status_code != 200:
                        raise SystemExit(f"{path}: HTTP {answer.status_code} {answer.text[:200]}")
    finally:
        await server.stop()
    return timings


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    with tempfile.TemporaryDirectory() as tmp:
        clock = FixedClock(FIRST_DAY)
        settings = Settings(home=Path(tmp), policy="rules", risk={"min_confidence": 0.75}, log_level="error",
                            telegram_allowed_users="11", web_secret="bench-secret-0123456789abcdef")
        app = build_app(settings, clock=clock)
        asyncio.run(week(app, clock))
        started = time.perf_counter()
        explain_id = grow(app, PROPOSALS)
        with app.engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM proposal")).scalar_one()
        print(f"{stored} proposals stored in {time.perf_counter() - started:.1f} s; {rounds} rounds")  # noqa: T201
        timings = asyncio.run(measure(app, explain_id, rounds))
        app.close()
    warm: list[float] = []
    print(f"{'request':58} {'cold':>8} {'p50':>8} {'p95':>8} {'max':>8}  (ms)")  # noqa: T201
    for path, values in timings.items():
        cold, rest = values[0], values[1:]
        warm += rest
        print(f"{path:58} {cold:8.1f} {statistics.median(rest):8.1f} {p(rest, 0.95):8.1f} {max(rest):8.1f}")  # noqa: T201
    overall = p(warm, 0.95)
    print(f"{'all requests':58} {'':8} {statistics.median(warm):8.1f} {overall:8.1f} {max(warm):8.1f}")  # noqa: T201
    print(f"p95 {overall:.1f} ms against the {TARGET_MS:.0f} ms target: "  # noqa: T201
          f"{'met' if overall < TARGET_MS else 'MISSED'} ({overall / TARGET_MS:.2f}x)")


if __name__ == "__main__":
    main()
