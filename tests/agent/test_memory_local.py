"""Real semantic recall with the local sentence-transformers model (the ``local-memory`` extra), offline."""

from __future__ import annotations

from pathlib import Path

from tests.memory_fixtures import SocketGuard, local_model, open_store, socket_guard

__all__ = ["local_model", "socket_guard"]  # fixtures


def test_the_local_model_recalls_by_meaning_not_by_words(tmp_path: Path, local_model: str,
                                                         socket_guard: SocketGuard) -> None:
    memory = open_store(tmp_path / "home", local_model)
    target = memory.remember("Human rejected BUY NVDA: too extended after an earnings run-up", "rejection",
                             {"symbol": "NVDA"})
    for text in ["Human approved BUY NVDA: the position is still small", "Gold is a hedge when equities fall",
                 "Keep more cash in a risk-off regime", "Human rejected BUY TLT: duration risk before the Fed"]:
        memory.remember(text, "note")
    found = memory.recall("the stock looks stretched after a big rally on its quarterly results", k=3)
    assert found[0].id == target.id
    assert not socket_guard.refused
    memory.close()
