"""The daemon's weekly job, run as the scheduler runs it: the retrospective memory is written, then the report
goes out; a memory that fails is logged and alerted and never stops the report. Embeddings come from the local
fake OpenAI server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from agent.memory import MemoryFailure, MemoryRecord
from bot.clock import FixedClock
from bot.daemon.daemon import Daemon
from bot.desk.cycle import run_cycle
from bot.wiring import App
from tests.bot.conftest import AppFactory
from tests.bot.test_watch import Recorder
from tests.fakes.openai_server import FakeOpenAI
from tests.memory_fixtures import embeddings_server

__all__ = ["embeddings_server"]  # fixture


class BrokenMemory:
    """A memory that is switched on but fails every call with ``error``."""

    enabled = True

    def __init__(self, error: Exception) -> None:
        self.error = error

    def remember(self, text: str, kind: str, metadata: Mapping[str, Any] | None = None) -> MemoryRecord:
        raise self.error

    def recall(self, query: str, k: int = 5, *, symbol: str | None = None) -> list[MemoryRecord]:
        raise self.error

    def forget(self, memory_id: str) -> bool:
        raise self.error

    def list(self, limit: int = 50, *, kind: str | None = None, proposal_id: str | None = None) -> list[MemoryRecord]:
        raise self.error

    def close(self) -> None:
        """Nothing to release."""


async def run_weekly_job(app: App) -> Recorder:
    """Build the daemon as ``paperdesk run`` does and run its scheduled weekly job once; what it was told."""
    daemon = Daemon(app)
    recorder = Recorder()
    daemon.notifiers.notifiers.append(recorder)
    job = daemon.scheduler.get_job("weekly_report")
    assert job is not None
    await job.func()
    return recorder


async def test_the_weekly_job_writes_the_retrospective_memory_then_sends_the_report(
        make_app: AppFactory, embeddings_server: FakeOpenAI) -> None:
    app = make_app(memory="mem0", memory_embedder="openai", OPENAI_API_KEY="test-key",
                   OPENAI_BASE_URL=embeddings_server.url)
    await run_cycle(app.desk)
    recorder = await run_weekly_job(app)
    [record] = app.desk.memory.list(kind="retrospective")
    assert record.text.startswith("Week to 2026-11-20:") and "Risk rules that fired most this week" in record.text
    assert record.metadata["date"] == "2026-11-20"
    [(text, _)] = recorder.reports
    assert text.startswith("paperdesk weekly report, 2026-11-20") and recorder.alerts == []


@pytest.mark.parametrize("error", [MemoryFailure("store unreadable"), RuntimeError("unexpected bug")],
                         ids=["memory_failure", "unexpected_error"])
async def test_a_failing_memory_never_stops_the_weekly_report(make_app: AppFactory, clock: FixedClock,
                                                              error: Exception) -> None:
    clock.now = clock.now.replace(day=19)
    app = make_app()
    await run_cycle(app.desk)
    clock.now = clock.now.replace(day=20)
    await run_cycle(app.desk)
    app.desk.memory = BrokenMemory(error)
    recorder = await run_weekly_job(app)
    [(text, images)] = recorder.reports
    assert text.startswith("paperdesk weekly report, 2026-11-20") and len(images) == 3
    stored = [a.message for a in app.desk.store.alerts() if a.kind == "memory_failed"]
    told = stored + recorder.alerts
    assert [m for m in told if "weekly retrospective failed" in m and str(error) in m], told
