"""``paperdesk memory [QUERY]``, ``memory add TEXT`` and ``memory forget ID`` as a user runs them (a temp home,
embeddings from the fake OpenAI server over HTTP): the same use cases as Telegram's /memory, /remember and
/forget; memory off is one line; beside a daemon that holds the store, ``add`` and a CLI rejection are
queued for it and a search says who holds the store; the first load of the store is announced once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from agent.memory.mem0_store import Mem0Memory
from bot.cli.app import app
from bot.desk import memories
from bot.logging import configure_logging
from tests.bot.conftest import AppFactory
from tests.fakes.openai_server import FakeOpenAI
from tests.memory_fixtures import embeddings_server, open_store

__all__ = ["embeddings_server"]  # fixtures
runner = CliRunner()
NOTE = "Avoid French banks before ECB meetings"
LOADING = "note: loading the memory store"
ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys
from pathlib import Path
from agent.memory.mem0_store import Mem0Options, open_mem0
store = open_mem0(Mem0Options(home=Path(sys.argv[1]), embedder="openai", openai_base_url=sys.argv[2],
                              openai_api_key="test-key"))
print("holding", flush=True)
sys.stdin.readline()
store.close()
"""


def run(*args: str, **env: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def memory_on(embeddings_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """Memory on in the environment, embedding over the fake server."""
    for name, value in {"PAPERDESK_MEMORY": "mem0", "PAPERDESK_MEMORY_EMBEDDER": "openai",
                        "OPENAI_BASE_URL": embeddings_server.url, "OPENAI_API_KEY": "test-key",
                        "PAPERDESK_RISK__MIN_CONFIDENCE": "0.75"}.items():
        monkeypatch.setenv(name, value)
    return embeddings_server


@pytest.fixture
def daemon_store(isolated_env: Path, memory_on: FakeOpenAI) -> Iterator[Mem0Memory]:
    """The memory store of PAPERDESK_HOME, held as a running daemon holds it."""
    store = open_store(isolated_env, "openai", memory_on)
    yield store
    store.close()


def one_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.mark.parametrize("args", [("memory",), ("memory", "gold", "--json"), ("memory", "add", "a", "note"),
                                  ("memory", "forget", "123")])
def test_with_memory_off_each_command_is_one_line(isolated_env: Path, args: tuple[str, ...]) -> None:
    code, out, err = run(*args)
    assert code == 1 and out == ""
    assert one_error(err) == "error: memory is off: set PAPERDESK_MEMORY=mem0 to remember and recall"


def test_add_list_search_and_forget_a_note(memory_on: FakeOpenAI) -> None:
    code, out, err = run("memory", "add", *NOTE.split())
    assert code == 0, err
    assert out.startswith("remembered as ")
    memory_id = out.split()[-1]
    run("memory", "add", "Prefer gold as a hedge when the regime turns risk-off")
    code, out, _ = run("memory", "--limit", "5")
    assert code == 0 and "Latest memories" in out and memory_id in out and "ECB" in out
    code, out, _ = run("memory", "French", "banks", "ECB", "--json")
    found = json.loads(out)
    assert code == 0 and found[0]["id"] == memory_id and found[0]["text"] == NOTE and found[0]["kind"] == "note"
    assert found[0]["metadata"]["actor"].startswith("cli:") and found[0]["score"] is not None
    code, out, _ = run("memory", "search", "add")  # a query that is a command's name
    assert code == 0 and "Memories nearest to “add”" in out
    code, out, _ = run("memory", "forget", memory_id)
    assert code == 0 and out.startswith(f"memory {memory_id} forgotten by cli:")
    code, _, err = run("memory", "forget", memory_id)
    assert code == 1 and f"no memory '{memory_id}'" in one_error(err)
    assert [r["text"] for r in json.loads(run("memory", "--json")[1])] == [
        "Prefer gold as a hedge when the regime turns risk-off"]


def test_bad_input_is_one_line_and_stores_nothing(memory_on: FakeOpenAI) -> None:
    code, _, err = run("memory", "add", "x" * 2001)
    assert code == 1 and one_error(err) == "error: a memory is at most 2000 characters (got 2001)"
    code, out, _ = run("memory", "--json")
    assert code == 0 and json.loads(out) == []


def test_beside_the_daemon_add_is_queued_and_search_says_who_holds_the_store(daemon_store: Mem0Memory) -> None:
    code, out, err = run("memory", "add", *NOTE.split())
    assert code == 0, err
    assert out.startswith("queued as #1: another process (usually `paperdesk run`) holds the memory store")
    assert LOADING not in err  # refused before anything loads
    code, _, err = run("memory", "ECB")
    assert code == 1 and "is open in another process" in one_error(err) and "search it there" in err
    code, _, err = run("memory", "forget", "7b0c5d8e-2f1a-4c3b-9d4e-5f6a7b8c9d0e")
    assert code == 1 and "forget it there" in one_error(err)
    assert daemon_store.list() == []
    daemon_store.close()  # the daemon stops: the next process to open the store writes what waited
    code, out, _ = run("memory", "--json")
    assert code == 0 and [r["text"] for r in json.loads(out)] == [NOTE]


def test_a_note_added_while_another_process_holds_the_store_is_stored_by_the_next_holder(
        isolated_env: Path, memory_on: FakeOpenAI) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(isolated_env), memory_on.url], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        code, out, err = run("memory", "add", *NOTE.split())
        assert code == 0 and out.startswith("queued as #1"), err
    finally:
        holder.communicate("\n", timeout=60)  # the other process stops and releases the store
    assert holder.returncode == 0
    code, out, _ = run("memory", "--json")
    assert code == 0 and [r["text"] for r in json.loads(out)] == [NOTE]


def test_a_cli_rejection_beside_the_daemon_is_remembered(daemon_store: Mem0Memory) -> None:
    as_of = ("--as-of", "2026-11-20")
    assert run("cycle", "--policy", "rules", *as_of)[0] == 0
    code, out, _ = run("pending", "--json", *as_of)
    proposal_id = json.loads(out)[0]["id"]
    code, out, err = run("reject", proposal_id, "--reason", "too extended", *as_of)
    assert code == 0 and "rejected by cli:" in out and "error" not in err
    daemon_store.close()
    code, out, _ = run("memory", "--json")
    [record] = json.loads(out)
    assert record["kind"] == "rejection" and "reason: too extended" in record["text"]
    assert record["metadata"]["proposal_id"] == proposal_id


def test_the_first_load_is_announced_once_on_stderr(memory_on: FakeOpenAI) -> None:
    code, out, err = run("memory", "add", "a", "note", PAPERDESK_LOG_FORMAT="console")
    assert code == 0 and err.count(LOADING) == 1 and LOADING not in out
    assert "loading the memory store (first use takes a few seconds)…" in err


def test_the_daemon_logs_the_first_load_as_an_event(make_app: AppFactory, memory_on: FakeOpenAI,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    before = structlog.get_config()
    configure_logging("info", "json")  # as `paperdesk run` logs under systemd
    try:
        desk = make_app(memory="mem0", memory_embedder="openai", log_format="json").desk
        memories.search(desk, None)
        memories.search(desk, None)
    finally:
        structlog.configure(**before)
    err = capsys.readouterr().err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    [loading] = [e for e in events if e["event"] == "memory_store_loading"]
    assert loading["embedder"] == "openai" and loading["directory"].endswith("memory")
    assert loading["note"] == "loading the memory store (first use takes a few seconds)…"
    assert LOADING not in err  # JSON logs: the event only, no plain line
