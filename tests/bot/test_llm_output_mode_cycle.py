"""The negotiated output mode end to end: a llama-cpp-python-like endpoint gets a decision, the mode is
stored and reused by the next process (no second refused request), shown by ``paperdesk llm calls``,
forced by ``PAPERDESK_LLM_OUTPUT_MODE``, and in every mode the gate drops an out-of-range weight."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.desk.cycle import run_cycle
from bot.settings import SettingsError, load_settings
from storage.llm_store import LlmStore
from tests.bot.conftest import AppFactory
from tests.bot.test_cli_llm import AS_OF, run, server
from tests.fakes.llm_answers import decision, good, idea
from tests.fakes.openai_server import FakeOpenAI, answer, format_refusal

__all__ = ["server"]  # fixtures


def kinds(server: FakeOpenAI) -> list[str | None]:
    return [(r.get("response_format") or {}).get("type") for r in server.requests]


def test_a_llama_cpp_endpoint_decides_and_the_next_process_starts_in_the_mode_that_worked(
        isolated_env: Path, server: FakeOpenAI) -> None:
    server.refuse_format("json_schema")
    server.default = answer(good())
    code, out, err = run(server, "cycle", "--policy", "llm", *AS_OF, "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "completed" and kinds(server) == ["json_schema", "json_object"]

    code, _, err = run(server, "cycle", "--policy", "llm", *AS_OF, "--json")  # a new process, same database
    assert code == 0, err
    assert kinds(server) == ["json_schema", "json_object", "json_object"]  # no second refused request

    code, out, _ = run(server, "llm", "calls", "--json")
    calls = json.loads(out)
    assert [(c["outcome"], c["output_mode"]) for c in reversed(calls)] == [
        ("failed", "json_schema"), ("ok", "json_object"), ("ok", "json_object")]
    assert "json_schema refused by the server: HTTP 500" in calls[-1]["error"]
    code, out, _ = run(server, "llm", "calls")
    assert code == 0 and "mode" in out and "json_object" in out


def test_an_endpoint_that_knows_no_response_format_gets_the_schema_in_the_prompt(isolated_env: Path,
                                                                                 server: FakeOpenAI) -> None:
    server.refuse_format("json_schema", format_refusal("json_schema"))
    server.refuse_format("json_object", format_refusal("json_object"))
    server.default = answer(good())
    code, out, err = run(server, "cycle", "--policy", "llm", *AS_OF, "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "completed"
    assert kinds(server) == ["json_schema", "json_object", None]
    assert '"target_weight":{"description":"final weight as a fraction of equity' in (
        server.requests[-1]["messages"][0]["content"])


def test_a_forced_mode_is_used_from_the_first_request(isolated_env: Path, server: FakeOpenAI) -> None:
    server.default = answer(good())
    code, _, err = run(server, "cycle", "--policy", "llm", *AS_OF, PAPERDESK_LLM_OUTPUT_MODE="json_object")
    assert code == 0, err
    assert kinds(server) == ["json_object"]


def test_an_invalid_output_mode_is_a_one_line_error_and_no_request(isolated_env: Path, server: FakeOpenAI) -> None:
    code, _, err = run(server, "cycle", "--policy", "llm", *AS_OF, PAPERDESK_LLM_OUTPUT_MODE="xml")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "PAPERDESK_LLM_OUTPUT_MODE" in err and "'auto', 'json_schema', 'json_object' or 'prompt'" in err
    assert server.requests == []
    with pytest.raises(SettingsError, match="PAPERDESK_LLM_OUTPUT_MODE"):
        load_settings(llm_output_mode="grammar")


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "prompt"])
async def test_in_every_mode_the_gate_drops_a_weight_given_as_a_percentage(make_app: AppFactory, server: FakeOpenAI,
                                                                          mode: str) -> None:
    server.default = answer(decision(idea("SPY", 32.9), idea("GLD", 0.05)))  # what a real small model answered
    values: dict[str, Any] = {"policy": "llm", "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": server.url,
                              "llm_output_mode": mode}
    application = make_app(**values)
    report = await run_cycle(application.desk)
    assert report.status == "completed" and [p.symbol for p in report.proposals] == ["GLD"]
    assert {p.symbol for p in await application.desk.broker.positions()} <= {"GLD"}
    [row] = LlmStore(application.store.session).calls(5)
    assert row.output_mode == mode and row.outcome == "ok"
    assert row.validation_errors == ["SPY: WEIGHT_OUT_OF_RANGE: target_weight 32.9 is outside 0..1 "
                                     "(a fraction of equity: 0.25 = 25%)"]
