"""``paperdesk cycle --policy llm`` end to end against a real model: SmolLM2-135M behind llama-cpp-python's server.

A 135M model is a poor portfolio manager, so nothing here depends on what it decides. What must
hold for any model: the cycle ends (a screened decision, or a clean abstention with its alert);
every call is audited with its tokens and latency; the output mode negotiated is recorded (the
server answers HTTP 500 to ``json_schema``, so the desk falls back to ``json_object`` and a new
process starts there); nothing invalid reaches an order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.llm.client import LlmClient, make_openai
from agent.universe import load_universe
from tests.integration.desk_run import AS_OF, desk_env, json_of, paperdesk
from tests.integration.llama_server import MODEL_ALIAS

NEXT_DAY = "2026-11-23"
ANSWERED = {"ok", "invalid", "truncated", "refused"}


def cycle(env: dict[str, str], day: str) -> dict[str, Any]:
    """One LLM cycle in a new process; it must end with exit 0 and a JSON report."""
    proc = paperdesk(env, "cycle", "--policy", "llm", "--as-of", day, "--json")
    report: dict[str, Any] = json_of(proc)
    assert len(proc.stderr.splitlines()) < 50 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return report


def calls_of(env: dict[str, str], cycle_id: str) -> list[dict[str, Any]]:
    """The audited calls of one cycle, oldest first."""
    every: list[dict[str, Any]] = json_of(paperdesk(env, "llm", "calls", "--json", "--limit", "1000"))
    return [c for c in reversed(every) if c["cycle_id"] == cycle_id]


def assert_ended_cleanly(report: dict[str, Any]) -> None:
    """A screened decision, or an abstention with its alert and no proposal."""
    assert report["policy"] == "llm"
    assert report["status"] in {"completed", "abstained"}, report["status"]
    if report["status"] == "abstained":
        assert report["proposals"] == []
        assert report["alerts"][0].startswith("no decision today: "), report["alerts"]


def assert_audited(calls: list[dict[str, Any]]) -> None:
    """Every answered call has its tokens, latency and mode; every failed one its reason."""
    assert calls, "no LLM call recorded for the cycle"
    assert any(c["outcome"] in ANSWERED for c in calls), calls
    for c in calls:
        assert c["model"] == MODEL_ALIAS and c["endpoint_host"].startswith("127.0.0.1:")
        assert c["latency_ms"] > 0 and c["output_mode"] in {"json_schema", "json_object", "prompt"}, c
        if c["outcome"] in ANSWERED:
            assert c["prompt_tokens"] > 500 and c["completion_tokens"] > 0, c
        else:
            assert c["outcome"] == "failed" and c["error"], c


def invalid_ideas(raw_answer: str | None, known: set[str]) -> set[str]:
    """Symbols the model proposed with an unknown name or a target weight outside 0..1."""
    try:
        ideas = json.loads(raw_answer or "").get("proposals", [])
    except (ValueError, AttributeError):
        return set()
    return {str(i.get("symbol")) for i in ideas if isinstance(i, dict) and (
        i.get("symbol") not in known or not isinstance(i.get("target_weight"), int | float)
        or not 0 <= i["target_weight"] <= 1)}


def assert_nothing_invalid_ordered(report: dict[str, Any], env: dict[str, str]) -> None:
    """Every stored proposal names a universe symbol with a target weight in 0..1, in the report and the
    audit; what the accepted answer got wrong is skipped, not proposed."""
    known = set(load_universe("seed").symbols)
    story = json_of(paperdesk(env, "explain", report["cycle_id"], "--json"))
    assert {p["id"] for p in story["proposals"]} == {p["id"] for p in report["proposals"]}
    for p in report["proposals"]:
        assert p["symbol"] in known and 0 <= p["target_weight"] <= 1, p
        detail = json_of(paperdesk(env, "explain", p["id"], "--json"))
        assert detail["symbol"] == p["symbol"] and 0 <= detail["sizing"]["target_weight"] <= 1
    accepted = [c for c in story["llm_calls"] if c["outcome"] == "ok"]
    if report["status"] == "completed":
        wrong = invalid_ideas(accepted[-1]["raw_answer"], known)
        assert wrong <= {s["symbol"] for s in report["skipped"]}, (wrong, report["skipped"])
        assert not wrong & {p["symbol"] for p in report["proposals"]}


@pytest.mark.real_model
def test_a_real_model_runs_a_cycle_end_to_end(real_model_url: str, tmp_path: Path) -> None:
    env = desk_env(tmp_path / "home", real_model_url, MODEL_ALIAS)

    first = cycle(env, AS_OF)
    assert_ended_cleanly(first)
    calls = calls_of(env, first["cycle_id"])
    assert_audited(calls)
    refused, answered = calls[0], [c for c in calls if c["outcome"] in ANSWERED]
    assert (refused["outcome"], refused["output_mode"]) == ("failed", "json_schema")
    assert "json_schema refused by the server: HTTP 500" in refused["error"]
    assert {c["output_mode"] for c in answered} == {"json_object"}
    assert_nothing_invalid_ordered(first, env)

    second = cycle(env, NEXT_DAY)  # a new process, same database: it starts in the mode that worked
    assert_ended_cleanly(second)
    calls = calls_of(env, second["cycle_id"])
    assert_audited(calls)
    assert {c["output_mode"] for c in calls} == {"json_object"}
    assert_nothing_invalid_ordered(second, env)


@pytest.mark.real_model
async def test_the_token_limit_reaches_the_real_server(real_model_url: str) -> None:
    """Asked for a long story with room for 16 tokens, the model is cut off there (finish_reason=length).

    The server reads only max_tokens (max_completion_tokens is ignored), so that is what these modes send."""
    client = LlmClient(make_openai(real_model_url, "sk-local-llama", 60), MODEL_ALIAS, max_tokens=16,
                       max_retries=0, output_mode="prompt")
    result = await client.complete([{"role": "user", "content": "Write a long story about a cat, in many chapters."}])
    assert result.answer is not None, result.failures
    assert (result.answer.completion_tokens, result.answer.finish_reason) == (16, "length"), result.answer


def test_the_launcher_turns_off_the_extra_buffer_types() -> None:
    """The segfault workaround, checked on the real parameter struct (no model is loaded)."""
    pytest.importorskip("llama_cpp")
    import llama_cpp.llama_cpp as native

    from tests.integration.llama_launcher import without_extra_bufts

    assert native.llama_model_default_params().use_extra_bufts is True
    assert without_extra_bufts(native.llama_model_default_params)().use_extra_bufts is False


def test_a_cycle_against_a_stopped_server_abstains_in_one_line(tmp_path: Path) -> None:
    """Where the model's endpoint is down, the same subprocess path ends cleanly (runs with the fast tests)."""
    from tests.integration.llama_server import free_port

    env = desk_env(tmp_path / "home", f"http://127.0.0.1:{free_port()}/v1", MODEL_ALIAS)
    proc = paperdesk(env, "cycle", "--policy", "llm", "--as-of", AS_OF, "--json", timeout=300)
    report = json_of(proc)
    assert report["status"] == "abstained" and report["alerts"][0].startswith("no decision today: ")
    assert "Traceback" not in proc.stderr
