"""``allocator = "llm"``: the model proposes the budgets over real HTTP, the bounds hold them, the rules
take over (and say why) when the model fails, and the call is audited as an allocation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from bot.desk.cycle import run_cycle
from bot.wiring import App
from storage.llm_store import LlmStore
from storage.sleeve_store import SleeveStore
from tests.bot.conftest import AppFactory
from tests.bot.sleeves.test_sleeves_desk import SLEEVES
from tests.fakes.openai_server import FakeOpenAI, Reply, answer, http_error


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def llm_allocated(make_app: AppFactory, server: FakeOpenAI, **overrides: Any) -> App:
    app = make_app(policy="sleeves", sleeves=SLEEVES, allocator="llm", OPENAI_API_KEY="k",
                   OPENAI_BASE_URL=server.url, llm_max_retries=0, **overrides)
    allocator = app.desk.sleeves.policy.allocator  # type: ignore[union-attr]
    allocator.llm.client.backoff_seconds = 0.0
    return app


def test_the_models_budgets_are_used_within_the_bounds(make_app: AppFactory, server: FakeOpenAI) -> None:
    # us_equity asked 0.70: above its max (0.60) and a step (0.05) from its 0.40; paris 0.10: below its min 0.15.
    server.script(answer({"budgets": {"us_equity": 0.70, "commodities": 0.20, "paris": 0.10},
                          "reasons": {"us_equity": "strong trend", "commodities": "hedge", "paris": "weak"}}))
    app = llm_allocated(make_app, server)
    report = asyncio.run(run_cycle(app.desk))
    assert report.status == "completed"
    stored = SleeveStore(app.store.session).latest_allocation()
    assert stored is not None and stored.method == "llm" and stored.budgets is not None
    assert stored.budgets == pytest.approx({"us_equity": 0.45, "commodities": 0.20, "paris": 0.25})
    assert stored.reasons is not None and stored.reasons["us_equity"].startswith("raised 40.0% → 45.0%: proposed 70.0%")
    assert "(strong trend)" in stored.reasons["us_equity"] and "capped by the 5.0% step" in stored.reasons["us_equity"]
    [call] = LlmStore(app.store.session).calls(10)
    assert (call.purpose, call.outcome, call.cycle_id) == ("allocation", "ok", report.cycle_id)
    assert "master allocator" in call.messages[0]["content"]
    assert server.requests[0]["response_format"]["json_schema"]["name"] == "AllocationAnswer"


@pytest.mark.parametrize(("reply", "why", "outcome"), [
    (answer({"budgets": {"us_equity": 35, "commodities": 0.2, "paris": 0.3}}), "its answer was invalid: budget for "
     "sleeve 'us_equity' must be a fraction of equity in 0..1 (0.25 = 25%), got 35", "invalid"),
    (Reply(refusal="I cannot allocate money."), "the model refused: I cannot allocate money.", "refused"),
    (http_error(500), "could not be reached", "failed"),
])
def test_a_failed_model_leaves_the_rules_allocation_saying_why(make_app: AppFactory, server: FakeOpenAI, reply: Reply,
                                                               why: str, outcome: str) -> None:
    server.script(reply, reply)
    app = llm_allocated(make_app, server)
    assert asyncio.run(run_cycle(app.desk)).status == "completed"
    stored = SleeveStore(app.store.session).latest_allocation()
    assert stored is not None and stored.method == "rules-fallback" and stored.budgets is not None
    assert stored.budgets == pytest.approx({"us_equity": 0.40, "commodities": 0.20, "paris": 0.30})
    assert stored.reasons is not None and all(r.startswith("the LLM's allocation was not used (") and why in r
                                              for r in stored.reasons.values())
    assert {c.outcome for c in LlmStore(app.store.session).calls(10)} == {outcome}


def test_replay_mode_answers_the_allocation_from_the_recorded_call(make_app: AppFactory, server: FakeOpenAI) -> None:
    server.script(answer({"budgets": {"us_equity": 0.45, "commodities": 0.15, "paris": 0.30}, "reasons": {}}))
    recorded = llm_allocated(make_app, server)
    asyncio.run(run_cycle(recorded.desk))
    first = SleeveStore(recorded.store.session).latest_allocation()
    with recorded.engine.begin() as connection:  # forget the allocation, keep the recorded call
        connection.execute(text("DELETE FROM sleeve_allocation"))
        connection.execute(text("DELETE FROM sleeve_day"))
    replaying = make_app(policy="sleeves", sleeves=SLEEVES, allocator="llm", llm_cache="replay")
    asyncio.run(run_cycle(replaying.desk))
    again = SleeveStore(replaying.store.session).latest_allocation()
    assert first is not None and again is not None and again.method == "llm"
    assert again.budgets == first.budgets == pytest.approx({"us_equity": 0.45, "commodities": 0.15, "paris": 0.30})
    assert len(server.requests) == 1  # replay mode never asks the endpoint
    calls = LlmStore(replaying.store.session).calls(10)
    assert [(c.purpose, c.from_cache) for c in calls if c.purpose == "allocation"] == [("allocation", True),
                                                                                       ("allocation", False)]


def test_without_a_recorded_answer_replay_mode_falls_back_to_the_rules(make_app: AppFactory) -> None:
    app = make_app(policy="sleeves", sleeves=SLEEVES, allocator="llm", llm_cache="replay")
    asyncio.run(run_cycle(app.desk))
    fallback = SleeveStore(app.store.session).latest_allocation()
    assert fallback is not None and fallback.method == "rules-fallback"
    assert "no recorded answer for this request in replay mode" in (fallback.reasons or {})["paris"]
