"""LLM cycles with memory over any embedder: 384-, 768- and 1536-dimensional embeddings all reach the
prompt; a failing embedder or a changed embedding model costs the cycle its memories and one alert,
never the decision."""

from __future__ import annotations

import pytest

from bot.desk import memories
from bot.desk.cycle import run_cycle
from bot.wiring import App
from tests.bot.conftest import AppFactory
from tests.bot.test_learning import memory_app, server
from tests.fakes.llm_answers import good
from tests.fakes.openai_server import FakeOpenAI, Reply, answer

__all__ = ["server"]  # fixtures
NOTE = "Prefer gold as a hedge when the regime turns risk-off"


def memory_alerts(app: App) -> list[str]:
    return [a.message for a in app.store.alerts() if a.kind == "memory_failed"]


@pytest.mark.parametrize("dims", [384, 768, 1536])
async def test_memories_reach_the_prompt_whatever_the_embedding_size(make_app: AppFactory, server: FakeOpenAI,
                                                                      dims: int) -> None:
    server.embedding_dims = dims
    server.default = answer(good())
    app = memory_app(make_app, server, memory_embedding_model="all-minilm")
    memories.remember_note(app.desk, NOTE, "human:42")
    report = await run_cycle(app.desk)
    assert report.status == "completed" and memory_alerts(app) == []
    assert NOTE in server.requests[-1]["messages"][1]["content"]
    assert {r["model"] for r in server.embedding_requests} == {"all-minilm"}


async def test_a_failing_embedder_costs_the_memories_and_one_alert_not_the_decision(make_app: AppFactory,
                                                                                  server: FakeOpenAI) -> None:
    server.embedding_error = Reply(status=500, error="embedding model crashed")
    server.default = answer(good())
    app = memory_app(make_app, server)
    report = await run_cycle(app.desk)
    assert report.status == "completed" and {p.symbol for p in report.proposals} == {"SPY", "GLD"}
    [alert] = memory_alerts(app)
    assert alert.startswith("memory recall failed (no memories this cycle): ") and "embedding model crashed" in alert
    user = server.requests[-1]["messages"][1]["content"]
    assert user.endswith("recalled memories:\nnone\nAnswer with one JSON decision for today.")


async def test_a_changed_embedding_model_is_stated_with_its_fix_and_the_cycle_decides(make_app: AppFactory,
                                                                                    server: FakeOpenAI) -> None:
    server.default = answer(good())
    first = memory_app(make_app, server)
    memories.remember_note(first.desk, NOTE, "human:42")
    first.close()
    server.embedding_dims = 384  # the same endpoint now serves a 384-dimensional model
    app = memory_app(make_app, server, memory_embedding_model="all-minilm")
    report = await run_cycle(app.desk)
    assert report.status == "completed" and report.proposals
    [alert] = memory_alerts(app)
    assert "built with embedding model 'text-embedding-3-small' (1536-dimensional vectors)" in alert
    assert "now 'all-minilm' (384)" in alert and "PAPERDESK_MEMORY_EMBEDDING_MODEL" in alert and "aside" in alert
