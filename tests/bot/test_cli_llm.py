"""``paperdesk cycle --policy llm`` and ``paperdesk llm calls`` as a user runs them, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from tests.fakes.llm_answers import decision, good, idea
from tests.fakes.openai_server import FakeOpenAI, answer, refusal

runner = CliRunner()
AS_OF = ("--as-of", "2026-11-20")


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def run(server: FakeOpenAI, *args: str, **env: str) -> tuple[int, str, str]:
    base = {"PAPERDESK_RISK__MIN_CONFIDENCE": "0.75", "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "x",
            "PAPERDESK_LLM_MAX_RETRIES": "0"}
    result = runner.invoke(app, list(args), env={**base, **env})
    return result.exit_code, result.stdout, result.stderr


def test_cycle_shows_the_view_thesis_and_confidence_next_to_the_verdict(isolated_env: Path,
                                                                        server: FakeOpenAI) -> None:
    server.script(answer(decision(idea("SPY", 0.10, confidence=0.81), idea("XYZ", 0.1), view="Risk-on, [calm].")))
    code, out, err = run(server, "cycle", "--policy", "llm", *AS_OF)
    assert code == 0, err
    assert "policy: llm" in out and "market view: Risk-on, [calm]." in out
    assert "conf" in out and "0.81" in out and "SAFE" in out
    assert "SPY thesis (confidence 0.81): SPY: trend intact" in out
    assert "skipped XYZ: UNKNOWN_SYMBOL" in out

    code, out, _ = run(server, "llm", "calls", "--json")
    assert code == 0
    [call] = json.loads(out)
    assert call["outcome"] == "ok" and call["prompt_tokens"] == 1200 and call["completion_tokens"] == 300
    assert call["cost_usd"] == "0.00036" and call["validation_errors"] == ["XYZ: UNKNOWN_SYMBOL: not in the universe"]
    code, out, _ = run(server, "llm", "calls")
    assert code == 0 and "LLM calls" in out and "ok" in out
    code, out, _ = run(server, "llm", "calls", COLUMNS="80")  # a terminal's width: nothing is cut
    assert code == 0 and "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    assert f"{call['id']} " in out and "json_schema" in out and "1200/300" in out and "UNKNOWN_SYMBOL" in out


def test_cycle_json_reports_filled_llm_proposals(isolated_env: Path, server: FakeOpenAI) -> None:
    server.script(answer(good()))
    code, out, err = run(server, "cycle", "--policy", "llm", *AS_OF, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["status"] == "completed" and report["policy"] == "llm"
    assert {p["symbol"]: (p["status"], p["confidence"]) for p in report["proposals"]} == {
        "SPY": ("FILLED", 0.8), "GLD": ("FILLED", 0.8)}


def test_an_abstention_is_a_recorded_outcome_with_exit_0(isolated_env: Path, server: FakeOpenAI) -> None:
    server.script(refusal("No."), refusal("No."))
    code, out, _ = run(server, "cycle", "--policy", "llm", *AS_OF)
    assert code == 0 and "ABSTAINED — no decision today: the model refused: No." in out
    code, out, _ = run(server, "cycle", "--policy", "llm", *AS_OF, "--json")
    report = json.loads(out)
    assert code == 0 and report["status"] == "abstained" and report["proposals"] == []
    assert report["alerts"][0] == "no decision today: the model refused: No."
    code, out, _ = run(server, "llm", "calls", "--json", "--limit", "1")
    assert code == 0 and [c["outcome"] for c in json.loads(out)] == ["refused"]


def test_the_llm_policy_without_a_key_fails_in_one_line(isolated_env: Path, server: FakeOpenAI) -> None:
    code, _, err = run(server, "cycle", "--policy", "llm", *AS_OF, OPENAI_API_KEY="")
    assert code == 1 and err.strip().startswith("error: the llm policy needs OPENAI_API_KEY")
    assert len(err.strip().splitlines()) == 1
    assert server.requests == []


def test_llm_calls_on_an_empty_database(isolated_env: Path, server: FakeOpenAI) -> None:
    code, out, _ = run(server, "llm", "calls")
    assert code == 0 and "no LLM calls recorded yet" in out
    code, out, _ = run(server, "llm", "calls", "--limit", "0")
    assert code != 0
