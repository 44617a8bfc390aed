"""The LLM client over real HTTP against the local fake: strict schema, our retries, raw answers kept."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from agent.llm.audit import cache_key
from agent.llm.client import LlmClient, make_openai, response_format, response_format_text
from tests.fakes.llm_answers import good
from tests.fakes.openai_server import FakeOpenAI, Reply, answer, http_error, malformed, slow, truncated

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def client(server: FakeOpenAI, *, timeout: float = 5.0, retries: int = 3) -> tuple[LlmClient, list[float]]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return LlmClient(make_openai(server.url, "test-key", timeout), "test-model", max_retries=retries,
                     max_tokens=1000, backoff_seconds=0.5, sleep=sleep), sleeps


async def test_a_request_carries_the_strict_schema_and_the_answer_its_usage(server: FakeOpenAI) -> None:
    server.script(answer(good()))
    llm, _ = client(server)
    result = await llm.complete(MESSAGES)
    assert result.failures == [] and result.answer is not None
    assert result.answer.prompt_tokens == 1200 and result.answer.completion_tokens == 300
    sent = server.requests[0]
    assert sent["model"] == "test-model" and sent["messages"] == MESSAGES and sent["max_completion_tokens"] == 1000
    fmt = sent["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    item = fmt["json_schema"]["schema"]["$defs"]["ProposalIdea"]
    assert item["additionalProperties"] is False and set(item["required"]) == set(item["properties"])
    assert {"type": "null"} in item["properties"]["stop_loss_pct"]["anyOf"]
    assert server.headers[0]["authorization"] == "Bearer test-key"
    assert llm.endpoint_host == server.url.split("/")[2]


async def test_5xx_and_429_are_retried_with_backoff_and_retry_after(server: FakeOpenAI) -> None:
    server.script(http_error(500), http_error(429, retry_after="2"), answer(good()))
    llm, sleeps = client(server)
    result = await llm.complete(MESSAGES)
    assert result.answer is not None and [f.reason.split(":")[0] for f in result.failures] == ["HTTP 500", "HTTP 429"]
    assert sleeps == [0.5, 2.0] and len(server.requests) == 3


async def test_a_client_error_is_not_retried(server: FakeOpenAI) -> None:
    server.script(http_error(400), answer(good()))
    llm, sleeps = client(server)
    result = await llm.complete(MESSAGES)
    assert result.answer is None and len(result.failures) == 1 and sleeps == [] and len(server.requests) == 1


async def test_retries_stop_after_the_limit(server: FakeOpenAI) -> None:
    server.default = http_error(503)
    llm, sleeps = client(server, retries=2)
    result = await llm.complete(MESSAGES)
    assert result.answer is None and len(result.failures) == 3 and sleeps == [0.5, 1.0]


async def test_a_timeout_is_retried(server: FakeOpenAI) -> None:
    server.script(slow(2.0, good()), answer(good()))
    llm, _ = client(server, timeout=0.3)
    result = await llm.complete(MESSAGES)
    assert [f.reason for f in result.failures] == ["timeout"] and result.answer is not None


async def test_malformed_truncated_and_refused_answers_come_back_raw(server: FakeOpenAI) -> None:
    server.script(malformed(), truncated(), Reply(refusal="no"))
    llm, _ = client(server)
    bad, cut, refused = [(await llm.complete(MESSAGES)).answer for _ in range(3)]
    assert bad and bad.content == '{"market_view": "cut off' and bad.note and "sdk parse" in bad.note
    assert cut and cut.finish_reason == "length" and cut.note == "LengthFinishReasonError"
    assert refused and refused.refusal == "no" and refused.content is None


def test_the_cache_key_is_the_canonical_json_of_model_messages_and_schema_however_the_schema_is_given() -> None:
    messages = [{"role": "system", "content": "Loss aversion λ≈2.25 – \"CVaR\" first"},
                {"role": "user", "content": "a\nb"}]
    document = json.dumps({"model": "m", "messages": messages, "schema": response_format()}, sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256(document.encode()).hexdigest()  # recorded caches were keyed this way
    assert cache_key("m", messages, response_format()) == expected
    assert cache_key("m", messages, response_format_text()) == expected


def test_the_response_format_is_generated_once_and_handed_out_as_a_copy() -> None:
    first = response_format()
    first["json_schema"]["schema"]["properties"].clear()  # a caller that edits its copy
    second = response_format()
    assert second["json_schema"]["schema"]["properties"]
    assert second is not first and second["json_schema"]["name"] == first["json_schema"]["name"]
