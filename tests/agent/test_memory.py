"""The memory port for real: Mem0 over the fake OpenAI embeddings (HTTP on 127.0.0.1), the null memory,
restarts, bad input, and a socket guard proving nothing leaves the machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.memory import MemoryFailure, MemoryKind, NullMemory
from agent.memory.mem0_store import MemoryBusy
from tests.fakes.openai_server import FakeOpenAI
from tests.memory_fixtures import Refused, SocketGuard, embeddings_server, open_store, socket_guard

__all__ = ["embeddings_server", "socket_guard"]  # fixtures


def test_the_null_memory_validates_and_then_remembers_nothing() -> None:
    memory = NullMemory()
    assert memory.remember("  a   note ", "note").text == "a note"
    assert memory.recall("anything") == [] and memory.list() == [] and memory.forget("x") is False
    with pytest.raises(ValueError, match="unknown memory kind 'mood'"):
        memory.remember("text", "mood")


def test_openai_embeddings_recall_the_nearest_memory_over_http(tmp_path: Path, embeddings_server: FakeOpenAI,
                                                                socket_guard: SocketGuard) -> None:
    memory = open_store(tmp_path / "home", "openai", embeddings_server)
    memory.remember("Human rejected BUY NVDA: too extended after an earnings run-up", "rejection",
                    {"symbol": "NVDA", "date": "2026-11-20", "proposal_id": "p1"})
    memory.remember("Human approved BUY GLD: gold hedge in a risk-off regime", "approval", {"symbol": "GLD"})
    memory.remember("Avoid French banks before ECB meetings", "note")
    found = memory.recall("NVDA extended after earnings", k=2)
    assert found[0].text.startswith("Human rejected BUY NVDA") and found[0].kind is MemoryKind.REJECTION
    assert found[0].metadata["proposal_id"] == "p1" and found[0].score is not None
    assert [r.metadata["symbol"] for r in memory.recall("gold", k=5, symbol="GLD")] == ["GLD"]
    assert embeddings_server.embedding_requests and embeddings_server.requests == []  # embeddings only, no chat
    assert not socket_guard.refused and socket_guard.allowed
    memory.close()


def test_memories_survive_reopening_the_store(tmp_path: Path, embeddings_server: FakeOpenAI) -> None:
    first = open_store(tmp_path / "home", "openai", embeddings_server)
    kept = first.remember("Outcome of BUY SPY: reached the expected upside", "outcome", {"proposal_id": "p9"})
    gone = first.remember("a note to forget", "note")
    assert first.forget(gone.id) is True
    first.close()
    again = open_store(tmp_path / "home", "openai", embeddings_server)
    assert [r.id for r in again.list()] == [kept.id]
    assert [r.id for r in again.list(kind="outcome", proposal_id="p9")] == [kept.id]
    assert again.list(kind="note") == []
    again.close()


def test_bad_input_is_a_one_line_error_and_stores_nothing(tmp_path: Path, embeddings_server: FakeOpenAI) -> None:
    memory = open_store(tmp_path / "home", "openai", embeddings_server)
    for text, kind, message in [("   ", "note", "needs some text"), ("x" * 2001, "note", "at most 2000"),
                                ("fine", "secret", "unknown memory kind")]:
        with pytest.raises(ValueError, match=message):
            memory.remember(text, kind)
    with pytest.raises(ValueError, match="k must be between 1 and 50"):
        memory.recall("query", k=0)
    assert memory.forget("not-a-uuid") is False
    assert memory.forget("7b0c5d8e-2f1a-4c3b-9d4e-5f6a7b8c9d0e") is False
    assert memory.list() == []
    memory.close()


def test_the_store_lives_in_paperdesk_home_with_telemetry_off(tmp_path: Path, embeddings_server: FakeOpenAI,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              socket_guard: SocketGuard) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    memory = open_store(tmp_path / "home", "openai", embeddings_server)
    memory.remember("a note", "note")
    memory.close()
    assert os.environ["MEM0_TELEMETRY"] == "False"
    assert {p.name for p in (tmp_path / "home" / "memory").iterdir()} >= {"history.db", "qdrant"}
    assert not (tmp_path / "user" / ".mem0").exists()
    assert not socket_guard.refused


def test_a_second_open_of_the_same_store_is_refused_as_busy(tmp_path: Path, embeddings_server: FakeOpenAI) -> None:
    first = open_store(tmp_path / "home", "openai", embeddings_server)
    with pytest.raises(MemoryBusy, match="open in another process"):
        open_store(tmp_path / "home", "openai", embeddings_server)
    first.close()


def test_an_unreachable_embeddings_endpoint_is_a_memory_failure(tmp_path: Path, embeddings_server: FakeOpenAI) -> None:
    memory = open_store(tmp_path / "home", "openai", embeddings_server)
    embeddings_server.stop()
    with pytest.raises(MemoryFailure, match="memory remember failed"):
        memory.remember("a note", "note")
    memory.close()


def test_the_guard_refuses_an_address_off_the_machine(socket_guard: SocketGuard) -> None:
    import socket

    with pytest.raises(Refused):
        socket.create_connection(("203.0.113.7", 443), timeout=0.1)
    assert socket_guard.refused == ["203.0.113.7:443"]
