"""The LLM policy over real HTTP (local fake server) on a universe above its cap: the request lists the
shortlist only, and a proposal for a symbol left out is dropped (``NOT_SHOWN``) while the rest go on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from agent.llm.audit import LlmCall, StoredAnswer
from agent.llm.client import LlmClient, make_openai
from agent.llm.policy import LlmPolicy
from agent.llm.shortlist import shortlist
from agent.policies.base import HoldingView
from tests.agent.factories import context, row
from tests.fakes.llm_answers import decision, idea
from tests.fakes.openai_server import FakeOpenAI, answer


class ListLog:
    """A call log in a list (the fake of ``CallLog``)."""

    def __init__(self) -> None:
        self.calls: list[LlmCall] = []

    def find(self, cache_key: str) -> StoredAnswer | None:
        return None

    def record(self, call: LlmCall) -> None:
        self.calls.append(call)

    def month_spend(self, month: date) -> Decimal:
        return Decimal(0)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


async def test_a_symbol_outside_the_shortlist_is_dropped_and_the_prompt_lists_only_the_shortlist(
        server: FakeOpenAI) -> None:
    rows = {f"S{k:02d}": row(close=100 + k, sma50=100.0, sma200=95.0, vol60=0.1 + 0.01 * k) for k in range(60)}
    ctx = context(rows, holdings={"S59": HoldingView("S59", 0.10, 0.0, 5)})
    listed = shortlist(ctx, max_instruments=10)
    hidden = listed.hidden[0]
    server.script(answer(decision(idea(listed.shown[1], 0.05), idea(hidden, 0.05),
                                  idea("S59", 0.10, action="HOLD"))))
    client = LlmClient(make_openai(server.url, "test-key", 5.0), "test-model", max_retries=0, max_tokens=1000)
    log = ListLog()
    policy = LlmPolicy(client, log, lambda: datetime(2024, 6, 28, 21, tzinfo=UTC), max_instruments=10)

    result = await policy.decide(ctx)

    assert [p.symbol for p in result.proposals] == [listed.shown[1], "S59"]
    assert [(d.symbol, d.code) for d in result.dropped] == [(hidden, "NOT_SHOWN")]
    user = server.requests[0]["messages"][1]["content"]
    listed_lines = [line.split("|")[0] for line in user.splitlines() if line.count("|") == 12][1:]
    assert listed_lines == list(listed.shown) and listed_lines[0] == "S59" and len(listed_lines) == 10
    assert f"{hidden}|" not in user
    assert log.calls[-1].outcome == "ok" and any("NOT_SHOWN" in e for e in log.calls[-1].validation_errors)
