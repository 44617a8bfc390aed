"""Untrusted text (a model's thesis and market view, a halt or reject reason) prints as written: never
read as terminal markup (``[/]`` crashed ``pending``, ``status`` and ``reject``; ``[link=…]`` hid a link)
and never as terminal control sequences. The CLI as a user runs it, the LLM over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bot.cli import render
from bot.cli.app import app
from tests.fakes.llm_answers import decision, idea
from tests.fakes.openai_server import FakeOpenAI, answer

runner = CliRunner()
AS_OF = ("--as-of", "2026-11-20")
MARKUP = "[/] [link=http://x]y[/link] [bold]:warning:"
ESCAPE = "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def run(*args: str, **env: str) -> str:
    result = runner.invoke(app, list(args), env={"PAPERDESK_RISK__MIN_CONFIDENCE": "0.75", **env})
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def test_a_halt_reason_with_markup_prints_as_written(isolated_env: Path) -> None:
    out = run("halt", "--reason", MARKUP)
    assert "HALTED by cli:" in out and out.rstrip().endswith(f": {MARKUP}")
    assert f"trading state: HALTED ({MARKUP})" in run("status")


def test_a_thesis_view_and_reject_reason_with_markup_print_as_written(isolated_env: Path,
                                                                      server: FakeOpenAI) -> None:
    thesis = f"SPY {MARKUP} {ESCAPE}"
    server.script(answer(decision(idea("SPY", 0.10, confidence=0.6, thesis=thesis), view=f"view {MARKUP}")))
    llm = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "test-key", "PAPERDESK_LLM_MAX_RETRIES": "0"}
    out = run("cycle", "--policy", "llm", *AS_OF, **llm)
    assert f"market view: view {MARKUP}" in out and f"thesis (confidence 0.60): SPY {MARKUP}" in out
    out = run("pending", *AS_OF)
    assert f"thesis: SPY {MARKUP}" in out
    assert "\x1b" not in out and "\\x1b]8;;http://evil.example" in out  # shown, never obeyed by the terminal
    [proposal_id] = [p["id"] for p in json.loads(run("pending", *AS_OF, "--json"))]
    out = run("reject", proposal_id, "--reason", MARKUP, *AS_OF)
    assert f"{proposal_id} rejected by cli:" in out and out.rstrip().endswith(MARKUP)


def test_every_renderer_draws_markup_literally_even_on_a_markup_console() -> None:
    """``render.line`` builds Text: a console that reads markup still shows the data as written."""
    console = Console(record=True, width=200, markup=True)
    console.print(render.line(("alert:", "bold red"), f" {MARKUP}"))
    console.print(render.proposals_table([], title=MARKUP))
    shown = console.export_text()
    assert f"alert: {MARKUP}" in shown and MARKUP in shown
