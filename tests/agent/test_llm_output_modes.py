"""Structured-output negotiation over real HTTP against the local fake: each mode's request, each
fallback (llama-cpp-python's HTTP 500, a 400 naming response_format), a forced mode, and what is not
a refusal."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from agent.llm.client import LlmClient, make_openai, response_format
from agent.llm.gate import parse_content
from agent.llm.modes import OutputMode, candidates, refuses_format
from tests.fakes.llm_answers import good
from tests.fakes.openai_server import FakeOpenAI, Reply, answer, format_refusal, http_error

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
SCHEMA = response_format()["json_schema"]["schema"]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def client(server: FakeOpenAI, mode: str = "auto", retries: int = 3) -> LlmClient:
    async def no_sleep(seconds: float) -> None:
        return None

    return LlmClient(make_openai(server.url, "test-key", 5.0), "test-model", max_retries=retries, max_tokens=1000,
                     sleep=no_sleep, output_mode=mode)


def kinds(server: FakeOpenAI) -> list[str | None]:
    return [(r.get("response_format") or {}).get("type") for r in server.requests]


async def test_json_schema_is_tried_first_and_kept_when_accepted(server: FakeOpenAI) -> None:
    server.script(answer(good()), answer(good()))
    llm = client(server)
    first = await llm.complete(MESSAGES)
    second = await llm.complete(MESSAGES)
    assert first.answer is not None and first.answer.mode == "json_schema" and first.failures == []
    assert second.answer is not None and second.answer.mode == "json_schema"
    assert kinds(server) == ["json_schema", "json_schema"]


async def test_llama_cpp_500_falls_back_to_json_object_with_the_schema_at_once(server: FakeOpenAI) -> None:
    server.refuse_format("json_schema")
    server.script(answer(good()))
    result = await client(server).complete(MESSAGES)
    assert result.answer is not None and result.answer.mode == "json_object"
    [refused] = result.failures
    assert refused.refused and refused.mode == "json_schema" and refused.reason.startswith("json_schema refused")
    assert "HTTP 500" in refused.reason
    assert kinds(server) == ["json_schema", "json_object"]  # the 500 naming response_format is not retried
    assert server.requests[1]["response_format"] == {"type": "json_object", "schema": SCHEMA}
    # llama-cpp-python reads max_tokens only: the limit must be sent under that name in this mode
    assert server.requests[1]["max_tokens"] == 1000 and "max_completion_tokens" not in server.requests[1]
    assert server.requests[1]["messages"] == MESSAGES


async def test_a_400_naming_response_format_falls_back_twice_to_the_schema_in_the_prompt(server: FakeOpenAI) -> None:
    server.refuse_format("json_schema", format_refusal("json_schema"))
    server.refuse_format("json_object", format_refusal("json_object"))
    server.script(answer(good()))
    result = await client(server).complete(MESSAGES)
    assert result.answer is not None and result.answer.mode == "prompt"
    assert [(f.mode, f.refused) for f in result.failures] == [("json_schema", True), ("json_object", True)]
    assert kinds(server) == ["json_schema", "json_object", None]
    sent = server.requests[2]
    assert "response_format" not in sent and sent["messages"][1] == MESSAGES[1]
    system = sent["messages"][0]["content"]
    assert system.startswith("s\n\nAnswer with one JSON object only")
    assert json.loads(system.split("\n")[-1]) == SCHEMA


async def test_the_negotiated_mode_is_reused_with_no_second_refused_request(server: FakeOpenAI) -> None:
    server.refuse_format("json_schema")
    server.script(answer(good()), answer(good()))
    llm = client(server)
    await llm.complete(MESSAGES)
    again = await llm.complete(MESSAGES)
    assert again.answer is not None and again.answer.mode == "json_object" and again.failures == []
    assert kinds(server) == ["json_schema", "json_object", "json_object"]


async def test_a_remembered_mode_from_storage_is_where_a_new_client_starts(server: FakeOpenAI) -> None:
    server.refuse_format("json_schema")
    server.script(answer(good()))
    result = await client(server).complete(MESSAGES, remembered="json_object")
    assert result.answer is not None and result.failures == [] and kinds(server) == ["json_object"]


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "prompt"])
async def test_a_forced_mode_is_the_only_mode_sent(server: FakeOpenAI, mode: str) -> None:
    server.script(answer(good()))
    result = await client(server, mode).complete(MESSAGES, remembered="json_schema")
    assert result.answer is not None and result.answer.mode == mode
    assert kinds(server) == [None if mode == "prompt" else mode]


async def test_a_forced_mode_the_server_refuses_fails_without_falling_back(server: FakeOpenAI) -> None:
    server.refuse_format("json_schema")
    result = await client(server, "json_schema").complete(MESSAGES)
    assert result.answer is None and len(result.failures) == 1 and result.failures[0].refused
    assert result.failures[0].reason.startswith("json_schema refused by the server (forced; "
                                                "PAPERDESK_LLM_OUTPUT_MODE=auto falls back): HTTP 500")
    assert kinds(server) == ["json_schema"]


async def test_a_plain_500_is_retried_in_the_same_mode_not_taken_for_a_refusal(server: FakeOpenAI) -> None:
    server.script(http_error(500), answer(good()))
    result = await client(server).complete(MESSAGES)
    assert result.answer is not None and result.answer.mode == "json_schema"
    assert [f.refused for f in result.failures] == [False] and kinds(server) == ["json_schema", "json_schema"]


async def test_an_auth_error_naming_response_format_is_final(server: FakeOpenAI) -> None:
    server.script(Reply(status=401, error="bad key for response_format requests"), answer(good()))
    result = await client(server).complete(MESSAGES)
    assert result.answer is None and not result.failures[0].refused and kinds(server) == ["json_schema"]


def test_candidates_and_refusal_rules() -> None:
    assert candidates("auto") == list(OutputMode)
    assert candidates("auto", "json_object") == [OutputMode.JSON_OBJECT, OutputMode.PROMPT]
    assert candidates("auto", "garbage") == list(OutputMode)
    assert candidates("prompt", "json_schema") == [OutputMode.PROMPT]
    with pytest.raises(ValueError):
        candidates("xml")
    assert refuses_format(422, "response format not supported", OutputMode.JSON_OBJECT)
    assert refuses_format(500, "got: json_schema", OutputMode.JSON_SCHEMA)
    assert not refuses_format(500, "out of memory", OutputMode.JSON_SCHEMA)
    assert not refuses_format(429, "response_format", OutputMode.JSON_SCHEMA)
    assert not refuses_format(400, "response_format", OutputMode.PROMPT)


def test_a_fenced_answer_from_prompt_mode_parses_and_nothing_else_is_unwrapped() -> None:
    assert parse_content('```json\n{"market_view": "x", "proposals": []}\n```') == (
        {"market_view": "x", "proposals": []}, None)
    assert parse_content('Here it is: ```{"a": 1}```')[1] is not None
