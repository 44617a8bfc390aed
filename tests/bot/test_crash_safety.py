"""kill -9 anywhere in a cycle, then restart: no duplicate order, no forgotten order, a true ledger.

Each run starts from an empty database: a real process (forked by ``tests/bot/crash_child.py``) runs a
cycle and SIGKILLs itself just before its Kth SQL statement or COMMIT; a restart (itself killed at
random one time in three) and then a clean restart reconcile and run the next cycle. Two kill points
are always included: right after the SUBMITTING commit (the order never reached the broker) and right
after the broker's answer (the order exists, nothing recorded it). The others are random, half of
them inside the submit window. CRASH_TEST_SEED replays a failing sequence; the seed is in the
assertion message.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.clock import FixedClock
from bot.desk.reconcile import NOT_SUBMITTED
from bot.desk.recovery import NOT_SENT
from bot.wiring import build_app
from broker.ledger import to_cents
from broker.simulated import SimulatedBroker
from risk.lifecycle import ProposalStatus
from storage.tables import OrderRow
from tests.bot.conftest import FRIDAY_CLOSE
from tests.bot.crash_child import settings
from tests.conftest import _libpq, _server_url

ROOT = Path(__file__).resolve().parents[2]
S = ProposalStatus
FINAL = {"filled": "FILLED", "rejected": "BROKER_REJECTED"}
pytestmark = pytest.mark.asyncio


class Zygote:
    """The helper process that forks one killable cycle per request."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERDESK_")
               and k not in {"OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"}}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.bot.crash_child"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, url: str, home: Path, kill_at: int) -> dict[str, Any]:
        """One cycle in a fresh process, killed before operation ``kill_at`` (0: never)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{url} {home} {kill_at}\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        assert answer["killed"] or answer["exit"] == 0, (home / "child.log").read_text()[-3000:]
        return answer

    def close(self) -> None:
        """Let the helper finish."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    helper = Zygote()
    yield helper
    helper.close()


@dataclass
class Tally:
    """What the kills and restarts produced, across runs."""

    killed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


@contextmanager
def _databases(kind: str, tmp_path: Path, count: int) -> Iterator[list[str]]:
    """``count`` empty databases of one kind, dropped afterwards."""
    if kind == "sqlite":
        yield [f"sqlite:///{tmp_path / f'crash{i}.db'}" for i in range(count)]
        return
    server = _server_url()
    assert server is not None
    names = [f"paperdesk_k_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    with psycopg.connect(_libpq(server), autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [make_url(server).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
               for name in names]
    finally:
        with psycopg.connect(_libpq(server), autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _positions(url: str, home: Path) -> dict[str, Decimal]:
    app = build_app(settings(url, str(home)), clock=FixedClock(FRIDAY_CLOSE))
    try:
        return {symbol: p.quantity for symbol, p in (await app.desk.broker.ledger()).positions.items()}  # type: ignore[attr-defined]
    finally:
        app.close()


async def _check(url: str, home: Path, clean: dict[str, Decimal], tally: Tally) -> None:
    """Every invariant of a reconciled desk, read back from the database and the broker's ledger."""
    app = build_app(settings(url, str(home)), clock=FixedClock(FRIDAY_CLOSE))
    try:
        store, broker = app.store, app.desk.broker
        assert isinstance(broker, SimulatedBroker)
        ledger = await broker.ledger()
        proposals = {row.id: row for row in store.proposals(limit=10_000)}
        assert not [p for p in proposals.values() if p.status == S.SUBMITTING], "a SUBMITTING proposal survived"
        assert not [p for p in proposals.values() if p.status in {S.SAFE, S.APPROVED}], "a proposal never sent survived"
        assert not [c for c in store.cycles(limit=100) if c.status == "running"], "a dead cycle is still running"
        with store.session() as s:
            recorded = Counter(row.client_order_id for row in s.exec(select(OrderRow)))
        assert max(recorded.values(), default=1) == 1, f"an order recorded twice: {recorded}"
        assert set(recorded) == set(ledger.orders), "the broker and the desk disagree on which orders exist"
        for cid, order in ledger.orders.items():
            assert cid in proposals and proposals[cid].status == FINAL[str(order.status)]
            tally.outcomes[proposals[cid].status] += 1
        for row in proposals.values():
            if row.status == S.CANCELED and row.decision_reason == NOT_SENT:
                assert row.id not in ledger.orders
                tally.outcomes["CANCELED: never sent (SAFE when the process died)"] += 1
            elif row.status == S.CANCELED:
                assert row.decision_reason == NOT_SUBMITTED and row.id not in ledger.orders
                tally.outcomes["CANCELED: not submitted before crash"] += 1
        tally.outcomes["recorded by reconcile"] += sum("SUBMITTING -> FILLED" in a.message
                                                       for a in store.alerts(limit=1000) if a.kind == "reconcile")
        fills = store.fills()
        held = {symbol: p.quantity for symbol, p in ledger.positions.items()}
        assert held == store.fill_positions(), "ledger positions differ from the recorded fills"
        signed = [(-1 if f.side == "buy" else 1) * to_cents(f.quantity * f.price * f.fx_rate) - f.commission_base
                  for f in fills]
        # PostgreSQL keeps 10 decimals of price and FX rate, so a recomputed notional may be a cent off.
        assert abs(ledger.cash - (Decimal(100_000) + sum(signed, Decimal(0)))) <= Decimal("0.01") * len(fills)
        assert set(held) == set(clean), "a restart bought something the uninterrupted run did not"
        for symbol, quantity in held.items():  # a duplicate would double a position
            assert abs(quantity - clean[symbol]) <= clean[symbol] * Decimal("0.05"), (symbol, quantity, clean)
    finally:
        app.close()


async def _crash_runs(zygote: Zygote, kind: str, tmp_path: Path, runs: int) -> None:
    seed = int(os.environ.get("CRASH_TEST_SEED") or random.SystemRandom().randrange(10**6))
    rng = random.Random(seed)
    with _databases(kind, tmp_path, runs + 1) as urls:
        probe = zygote.run(urls[0], tmp_path / "probe", 0)
        clean = await _positions(urls[0], tmp_path / "probe")
        total, submit, submitted = probe["operations"], probe["first_submit"], probe["first_submitted"]
        assert 0 < submit < submitted < total and clean, probe
        kill_points = [submit + 1, submitted + 1] + [
            rng.randint(1, total) if i % 2 else rng.randint(submit - 2, min(total, submitted + 40))
            for i in range(runs - 2)]
        tally = Tally()
        for i, (url, kill_at) in enumerate(zip(urls[1:], kill_points, strict=True)):
            home = tmp_path / f"run{i}"
            tally.killed += zygote.run(url, home, kill_at)["killed"]
            if rng.random() < 1 / 3:
                tally.killed += zygote.run(url, home, rng.randint(1, total))["killed"]
            zygote.run(url, home, 0)
            try:
                await _check(url, home, clean, tally)
            except AssertionError as exc:
                raise AssertionError(f"seed {seed}, run {i}, killed at operation {kill_at}: {exc}") from exc
    print(f"crash runs on {kind}: seed={seed} runs={runs} kills={tally.killed} "  # noqa: T201
          f"outcomes={dict(tally.outcomes)}")
    assert tally.killed >= runs // 2, f"seed {seed}: too few kills landed ({tally.killed})"
    assert tally.outcomes["CANCELED: not submitted before crash"] >= 1, f"seed {seed}: {tally}"
    assert tally.outcomes["recorded by reconcile"] >= 1, f"seed {seed}: {tally}"


async def test_kill_9_anywhere_in_a_cycle_then_restart_on_sqlite(zygote: Zygote, tmp_path: Path) -> None:
    await _crash_runs(zygote, "sqlite", tmp_path, runs=14)


@pytest.mark.postgres
async def test_kill_9_anywhere_in_a_cycle_then_restart_on_postgres(zygote: Zygote, tmp_path: Path) -> None:
    await _crash_runs(zygote, "postgres", tmp_path, runs=6)
