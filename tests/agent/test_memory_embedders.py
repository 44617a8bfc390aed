"""Mem0 with any embedder: the vector size is probed (384, 768, 1536 over real HTTP), stamped with the
collection, a changed embedding model is refused with the fix, and every backend error, the issue's
``shapes (0,1536) and (384,) not aligned`` included, is a ``MemoryFailure``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.memory import MemoryFailure
from agent.memory.lazy import LazyMemory
from agent.memory.mem0_store import Mem0Memory, Mem0Options, open_mem0
from agent.memory.stamp import EmbedderChanged
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.memory_fixtures import embeddings_server

__all__ = ["embeddings_server"]  # fixtures


def open_at(home: Path, server: FakeOpenAI, model: str = "text-embedding-3-small") -> Mem0Memory:
    return open_mem0(Mem0Options(home=home, embedder="openai", openai_base_url=server.url,
                                 openai_api_key="test-key", openai_model=model))


def stored(home: Path, server: FakeOpenAI, model: str = "text-embedding-3-small", text: str = "a note") -> None:
    """A store with one memory, closed."""
    memory = open_at(home, server, model)
    memory.remember(text, "note")
    memory.close()


def stamps(home: Path) -> Any:
    return json.loads((home / "memory" / "embedders.json").read_text())


@pytest.mark.parametrize("dims", [384, 768, 1536])
def test_any_vector_size_is_probed_stamped_and_recalls(tmp_path: Path, embeddings_server: FakeOpenAI,
                                                       dims: int) -> None:
    embeddings_server.embedding_dims = dims
    memory = open_at(tmp_path / "home", embeddings_server, "some-embedder")
    memory.remember("Human rejected BUY NVDA: too extended after an earnings run-up", "rejection", {"symbol": "NVDA"})
    memory.remember("Avoid French banks before ECB meetings", "note")
    assert memory.recall("NVDA extended after earnings", k=1)[0].metadata["symbol"] == "NVDA"
    memory.close()
    assert stamps(tmp_path / "home") == {"paperdesk_openai": {"model": "some-embedder", "dims": dims}}
    assert all("dimensions" not in r for r in embeddings_server.embedding_requests)  # fixed-size models refuse it
    again = open_at(tmp_path / "home", embeddings_server, "some-embedder")
    assert len(again.list()) == 2
    again.close()


def test_a_new_vector_size_is_refused_with_the_fix_and_the_store_stays_usable(tmp_path: Path,
                                                                              embeddings_server: FakeOpenAI) -> None:
    home = tmp_path / "home"
    stored(home, embeddings_server, text="a lesson worth keeping")
    embeddings_server.embedding_dims = 384  # the endpoint now serves all-minilm under the same name
    with pytest.raises(EmbedderChanged) as refused:
        open_at(home, embeddings_server)
    message = str(refused.value)
    assert "built with embedding model 'text-embedding-3-small' (1536-dimensional vectors)" in message
    assert "(384)" in message and "To keep its 1 memories" in message and f"move {home / 'memory'} aside" in message
    assert "\n" not in message
    embeddings_server.embedding_dims = None  # the fix: the original embedder; the refused open left no lock
    again = open_at(home, embeddings_server)
    assert [r.text for r in again.list()] == ["a lesson worth keeping"]
    again.close()


def test_a_new_model_of_the_same_size_is_refused(tmp_path: Path, embeddings_server: FakeOpenAI) -> None:
    embeddings_server.embedding_dims = 768
    stored(tmp_path / "home", embeddings_server, "nomic-embed-text")
    with pytest.raises(EmbedderChanged, match=r"'nomic-embed-text' .* now 'mxbai-embed-large'"):
        open_at(tmp_path / "home", embeddings_server, "mxbai-embed-large")


def test_a_store_from_before_stamps_is_checked_against_its_collection(tmp_path: Path,
                                                                     embeddings_server: FakeOpenAI) -> None:
    home = tmp_path / "home"
    stored(home, embeddings_server)
    (home / "memory" / "embedders.json").unlink()
    embeddings_server.embedding_dims = 384
    with pytest.raises(EmbedderChanged, match="built with embedding model 'an earlier model' \\(1536"):
        open_at(home, embeddings_server, "all-minilm")


def test_an_empty_collection_is_remade_for_a_new_embedder(tmp_path: Path, embeddings_server: FakeOpenAI) -> None:
    open_at(tmp_path / "home", embeddings_server).close()
    embeddings_server.embedding_dims = 384
    memory = open_at(tmp_path / "home", embeddings_server, "all-minilm")
    memory.remember("fresh start", "note")
    assert memory.recall("fresh", k=1)[0].text == "fresh start"
    memory.close()
    assert stamps(tmp_path / "home")["paperdesk_openai"] == {"model": "all-minilm", "dims": 384}


def test_vectors_changing_size_under_an_open_store_are_a_memory_failure(tmp_path: Path,
                                                                       embeddings_server: FakeOpenAI) -> None:
    memory = open_at(tmp_path / "home", embeddings_server)
    memory.remember("a note", "note")
    embeddings_server.embedding_dims = 384  # the crash: shapes (0,1536) and (384,) not aligned
    with pytest.raises(MemoryFailure, match="memory recall failed"):
        memory.recall("a note")
    with pytest.raises(MemoryFailure, match="memory remember failed"):
        memory.remember("another", "note")
    memory.close()


def test_a_failing_embedder_fails_the_open_cleanly_and_a_later_open_recovers(tmp_path: Path,
                                                                            embeddings_server: FakeOpenAI) -> None:
    embeddings_server.embedding_error = Reply(status=500, error="model not loaded")
    options = Mem0Options(home=tmp_path / "home", embedder="openai", openai_base_url=embeddings_server.url,
                          openai_api_key="test-key")
    lazy = LazyMemory(lambda: open_mem0(options))
    with pytest.raises(MemoryFailure, match=r"memory probe of the embedder failed: .*model not loaded"):
        lazy.recall("anything")
    assert not lazy.opened
    embeddings_server.embedding_error = None
    assert lazy.recall("anything") == [] and lazy.opened
    lazy.close()


def test_the_lazy_memory_turns_any_unexpected_error_into_a_memory_failure() -> None:
    def broken() -> Mem0Memory:
        raise KeyError("results")

    lazy = LazyMemory(broken)
    with pytest.raises(MemoryFailure, match="memory open failed: 'results'"):
        lazy.list()
    with pytest.raises(ValueError, match="k must be"):
        LazyMemory(lambda: _Picky()).recall("q", k=0)  # type: ignore[arg-type, return-value]


class _Picky:
    def recall(self, query: str, k: int = 5, *, symbol: str | None = None) -> list[object]:
        raise ValueError("k must be between 1 and 50 (got 0)")
