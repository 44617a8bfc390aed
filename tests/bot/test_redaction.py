"""An LLM endpoint that echoes the API key (as proxies answer) leaks it nowhere: not in the cycle's
output or ``--json``, ``llm calls --json``, the alert, ``llm_call.error``, the stored cycle report or
anywhere in the database; a password inside OPENAI_BASE_URL is not stored in ``endpoint_host``.

Real HTTP against the local fake OpenAI server (``key_echo``), the CLI as a user runs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.clock import system_clock
from storage.engine import make_engine
from storage.llm_store import LlmStore
from storage.store import Store
from tests.fakes.openai_server import FakeOpenAI, key_echo

runner = CliRunner()
AS_OF = ("--as-of", "2026-11-20")
SK_KEY = "sk-proj-Q7vX2mK9pL4nR8tY1wZ5cB3dF6gH0jAa"
PROXY_KEY = "corp-gateway-7c1e"  # not key-shaped: only the configured secret tells it apart
PASSWORD = "s3cret-Pass"
BASIC = "cHJveHl1c2VyOnMzY3JldC1QYXNz"  # base64("proxyuser:s3cret-Pass"): what httpx sends for that URL


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    fake.default = key_echo()
    yield fake
    fake.stop()


def run(*args: str, env: dict[str, str]) -> tuple[str, str]:
    result = runner.invoke(app, list(args), env={"PAPERDESK_LLM_MAX_RETRIES": "0", **env})
    assert result.exit_code == 0, result.stderr
    return result.stdout, result.stderr


def everything_shown_and_stored(home: Path, env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Run a cycle (tables and --json) and ``llm calls --json``; return all output and the stored records."""
    shown = run("cycle", "--policy", "llm", *AS_OF, env=env)
    as_json = run("cycle", "--policy", "llm", *AS_OF, "--json", env=env)
    calls = run("llm", "calls", "--json", env=env)
    cycle, listed = json.loads(as_json[0]), json.loads(calls[0])
    assert cycle["status"] == "abstained" and len(listed) == 2
    engine = make_engine(f"sqlite:///{home / 'paperdesk.db'}")
    store = Store(engine, system_clock)
    row = store.get_cycle(cycle["cycle_id"])
    assert row is not None
    stored = {"alerts": [(a.message, a.detail) for a in store.alerts()], "report": row.report,
              "cycle_error": row.error,
              "llm_call": [(c.error, c.endpoint_host) for c in LlmStore(store.session).calls()]}
    engine.dispose()
    database = b"".join(p.read_bytes() for p in sorted(home.glob("paperdesk.db*"))).decode("utf-8", "replace")
    return "\n".join([*shown, *as_json, *calls, database]), stored


@pytest.mark.parametrize("key", [SK_KEY, PROXY_KEY])
def test_an_echoed_api_key_is_never_stored_or_printed(isolated_env: Path, server: FakeOpenAI, key: str) -> None:
    env = {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": server.url}
    text, stored = everything_shown_and_stored(isolated_env, env)
    assert server.headers[0]["authorization"] == f"Bearer {key}"  # the endpoint did receive (and echo) the key
    assert key not in text and key not in json.dumps(stored, default=str)
    assert "Invalid API key provided: ***" in text
    assert stored["llm_call"] and all("Invalid API key provided: ***" in error for error, _ in stored["llm_call"])
    assert any("Invalid API key provided: ***" in message for message, _ in stored["alerts"])
    assert "Invalid API key provided: ***" in json.dumps(stored["report"]) and "***" in str(stored["cycle_error"])


def test_a_password_in_the_base_url_is_not_stored_as_the_endpoint_host(isolated_env: Path,
                                                                        server: FakeOpenAI) -> None:
    host = server.url.split("/")[2]
    env = {"OPENAI_API_KEY": SK_KEY, "OPENAI_BASE_URL": server.url.replace("http://", f"http://proxyuser:{PASSWORD}@")}
    text, stored = everything_shown_and_stored(isolated_env, env)
    assert server.headers[0]["authorization"] == f"Basic {BASIC}"  # echoed back by the endpoint
    assert {endpoint for _, endpoint in stored["llm_call"]} == {host}
    for secret in (PASSWORD, BASIC, "proxyuser:"):
        assert secret not in text and secret not in json.dumps(stored, default=str)
