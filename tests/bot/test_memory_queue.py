"""Memories from a process that cannot open the store are queued in the database and written by the one that
holds it: a CLI rejection while the daemon runs reaches the daemon's next prompt, a crash at any point of a
drain loses nothing and stores nothing twice, a store that refuses a write keeps the row. Two store instances
contend for one directory (Qdrant's lock is per open file, so they exclude each other as two processes do);
embeddings come from the fake OpenAI server over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from agent.memory.lazy import LazyMemory
from agent.memory.queue import MemoryQueue, QueuedMemory
from bot.clock import FixedClock
from bot.desk import approvals, memories
from bot.desk.cycle import run_cycle
from bot.desk.results import DeskError
from bot.wiring import App
from storage.memory_queue_store import MemoryQueueStore
from storage.tables_memory import MemoryQueueRow
from tests.bot.conftest import AppFactory
from tests.bot.test_learning import REASON, memory_app, memory_block, server
from tests.fakes.llm_answers import good
from tests.fakes.openai_server import FakeOpenAI, Reply, answer

__all__ = ["server"]  # fixtures


class Crash(BaseException):
    """The process dies here (a BaseException: nothing on the way catches it)."""


class CrashingQueue:
    """The app's queue, dying once right after ``crash_after`` (``attempt``: before the store write; ``done``:
    after the store accepted the memory, before its row is deleted)."""

    def __init__(self, real: MemoryQueue, crash_after: str) -> None:
        self.real, self.crash_after, self.crashed = real, crash_after, False

    def enqueue(self, text: str, kind: str, metadata: Mapping[str, Any]) -> int:
        return self.real.enqueue(text, kind, metadata)

    def waiting(self, limit: int = 100) -> Sequence[QueuedMemory]:
        return self.real.waiting(limit)

    def attempt(self, queue_id: int) -> None:
        self.real.attempt(queue_id)
        self._maybe_crash("attempt")

    def failed(self, queue_id: int, error: str) -> None:
        self.real.failed(queue_id, error)

    def done(self, queue_id: int) -> None:
        self._maybe_crash("done")
        self.real.done(queue_id)

    def _maybe_crash(self, step: str) -> None:
        if step == self.crash_after and not self.crashed:
            self.crashed = True
            raise Crash(step)


def lazy(app: App) -> LazyMemory:
    assert isinstance(app.desk.memory, LazyMemory)
    return app.desk.memory


def rows(app: App) -> list[MemoryQueueRow]:
    return MemoryQueueStore(app.store.session, app.desk.clock).waiting(lazy(app).location)


def queued_note(make_app: AppFactory, server: FakeOpenAI, text: str) -> App:
    """A daemon that held the store while another app queued ``text``; the daemon is gone (returns the other)."""
    daemon = memory_app(make_app, server)
    memories.remember_note(daemon.desk, "held by the daemon", "human:42")
    command = memory_app(make_app, server)
    assert memories.remember_note(command.desk, text, "cli:alice").queued is not None
    daemon.close()
    return command


async def test_a_cli_rejection_while_the_daemon_holds_the_store_reaches_its_next_prompt(
        make_app: AppFactory, server: FakeOpenAI, clock: FixedClock) -> None:
    server.default = answer(good())
    daemon = memory_app(make_app, server)
    spy = next(p for p in (await run_cycle(daemon.desk)).proposals if p.symbol == "SPY")
    assert lazy(daemon).opened  # its cycle recalled: the daemon holds the store from now on
    cli = memory_app(make_app, server)
    approvals.reject(cli.desk, spy.id, "cli:alice", REASON)
    [row] = rows(cli)
    assert row.kind == "rejection" and row.meta is not None and row.meta["proposal_id"] == spy.id
    assert not lazy(cli).opened and cli.store.alerts() == []  # queued, not failed
    clock.advance(days=3)
    await run_cycle(daemon.desk)  # the recall drains the queue first
    assert rows(daemon) == []
    assert f"rejection SPY: Human rejected BUY SPY to 10.0% (confidence 0.80); reason: {REASON}" in memory_block(
        server.requests[-1])
    [record] = daemon.desk.memory.list(kind="rejection")
    assert record.metadata["actor"] == "cli:alice" and record.metadata["queue_token"] == row.token


def test_the_next_process_to_open_the_store_drains_the_queue(make_app: AppFactory, server: FakeOpenAI) -> None:
    command = queued_note(make_app, server, "Avoid French banks before ECB meetings")
    [row] = rows(command)
    assert row.text == "Avoid French banks before ECB meetings" and row.attempts == 0 and row.store.endswith("memory")
    texts = [r.text for r in memories.search(command.desk, None)]  # opens the store: drained on open
    assert sorted(texts) == ["Avoid French banks before ECB meetings", "held by the daemon"]
    assert rows(command) == []


@pytest.mark.parametrize("crash_after", ["attempt", "done"])
def test_a_crash_during_a_drain_loses_nothing_and_stores_nothing_twice(make_app: AppFactory, server: FakeOpenAI,
                                                                      crash_after: str) -> None:
    command = queued_note(make_app, server, "Prefer gold when the regime turns risk-off")
    holder = lazy(command)
    holder.queue = CrashingQueue(holder.queue, crash_after)  # type: ignore[arg-type]
    with pytest.raises(Crash):
        memories.search(command.desk, None)
    [row] = rows(command)  # still queued: read, maybe even stored, but never deleted before the store accepted it
    assert row.attempts == 1
    command.close()  # the dead process's lock is gone
    restarted = memory_app(make_app, server)
    texts = [r.text for r in memories.search(restarted.desk, None)]
    assert sorted(texts) == ["Prefer gold when the regime turns risk-off", "held by the daemon"]  # once each
    assert rows(restarted) == []


def test_a_store_that_refuses_a_write_keeps_the_row_for_the_next_drain(make_app: AppFactory,
                                                                      server: FakeOpenAI) -> None:
    daemon = memory_app(make_app, server)
    memories.remember_note(daemon.desk, "held by the daemon", "human:42")
    command = memory_app(make_app, server)
    memories.remember_note(command.desk, "Trim winners above 20%", "cli:alice")
    server.embedding_error = Reply(status=500, error="embedding model crashed")
    with pytest.raises(DeskError, match="embedding model crashed"):
        memories.search(daemon.desk, "winners")
    [row] = rows(daemon)
    assert row.attempts == 1 and row.last_error is not None and "embedding model crashed" in row.last_error
    server.embedding_error = None
    assert memories.search(daemon.desk, "Trim winners", 1)[0].text == "Trim winners above 20%"
    assert rows(daemon) == []


def test_each_store_drains_only_its_own_queue(make_app: AppFactory, server: FakeOpenAI, tmp_path: Any) -> None:
    command = queued_note(make_app, server, "a note for the first store")
    elsewhere = memory_app(make_app, server, home=tmp_path / "other-home")  # same database, another memory store
    assert memories.search(elsewhere.desk, None) == []
    assert [r.text for r in rows(command)] == ["a note for the first store"]
