"""The memory port: remember text with a kind and metadata, recall the nearest, forget, list.

Policy: a memory is data, never an instruction. Whoever puts recalled text in front of a model
fences it (``agent.llm.prompt.fence``); nothing recalled can change the schema, the universe or the
limits, which the desk holds itself. ``NullMemory`` (``PAPERDESK_MEMORY=off``) remembers nothing
and recalls nothing, so callers never branch on whether memory is on.

Failure contract: bad input (empty text, unknown kind, k out of range) raises ``ValueError`` with a
one-line message and stores nothing; a backend failure, whatever its type, raises ``MemoryFailure``
with the reason (``failures_as``), so a caller that catches ``MemoryFailure`` is never crossed by an
embedder's or a vector store's own exception. Calls are synchronous and short (one embedding and
one local vector search).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

MAX_TEXT = 2000
MAX_K = 50


class MemoryKind(StrEnum):
    """What a memory records."""

    APPROVAL = "approval"
    REJECTION = "rejection"
    REJECTED_AT_APPROVAL = "rejected_at_approval"
    OUTCOME = "outcome"
    RETROSPECTIVE = "retrospective"
    NOTE = "note"


class MemoryFailure(RuntimeError):
    """The memory backend failed; the message says how."""


class MemoryBusy(MemoryFailure):
    """Another process holds the embedded store (Qdrant local admits one client)."""


@dataclass(frozen=True)
class MemoryRecord:
    """One stored memory (``score`` is set by ``recall``: higher is nearer; ``queued`` is the queue row of a
    memory waiting for the process that holds the store, which has no id yet)."""

    id: str
    text: str
    kind: MemoryKind
    created_at: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)
    score: float | None = None
    queued: int | None = None


@contextmanager
def failures_as(action: str, keep: tuple[type[Exception], ...] = (MemoryFailure,)) -> Iterator[None]:
    """Any exception but those in ``keep`` becomes a one-line ``MemoryFailure`` naming ``action``."""
    try:
        yield
    except keep:
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise MemoryFailure(f"memory {action} failed: {reason}") from exc


def check_text(text: str, kind: str) -> tuple[str, MemoryKind]:
    """The cleaned text and the kind, or a ``ValueError`` saying what is wrong."""
    cleaned = " ".join(str(text).split())
    if not cleaned:
        raise ValueError("a memory needs some text")
    if len(cleaned) > MAX_TEXT:
        raise ValueError(f"a memory is at most {MAX_TEXT} characters (got {len(cleaned)})")
    try:
        return cleaned, MemoryKind(kind)
    except ValueError:
        raise ValueError(f"unknown memory kind {kind!r}: use one of {', '.join(MemoryKind)}") from None


def check_k(k: int) -> int:
    """``k`` if it is a sensible number of results."""
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K} (got {k})")
    return k


class Memory(Protocol):
    """Long-term memory of the desk."""

    enabled: bool

    def remember(self, text: str, kind: str, metadata: Mapping[str, Any] | None = None) -> MemoryRecord:
        """Store one memory and return it with its id (one per kind and ``proposal_id``: it replaces the earlier)."""
        ...

    def recall(self, query: str, k: int = 5, *, symbol: str | None = None) -> list[MemoryRecord]:
        """The ``k`` memories nearest to ``query`` (only those about ``symbol`` when given), nearest first."""
        ...

    def forget(self, memory_id: str) -> bool:
        """Remove one memory; False when there is no such id."""
        ...

    def list(self, limit: int = 50, *, kind: str | None = None, proposal_id: str | None = None) -> list[MemoryRecord]:
        """Memories, newest first, optionally of one kind or about one proposal."""
        ...

    def close(self) -> None:
        """Release files and locks."""
        ...


class NullMemory:
    """Memory switched off: remembers nothing, recalls nothing."""

    enabled = False

    def remember(self, text: str, kind: str, metadata: Mapping[str, Any] | None = None) -> MemoryRecord:
        """Validate, then drop."""
        cleaned, checked = check_text(text, kind)
        return MemoryRecord(id="", text=cleaned, kind=checked, created_at=None, metadata=dict(metadata or {}))

    def recall(self, query: str, k: int = 5, *, symbol: str | None = None) -> list[MemoryRecord]:
        """Nothing."""
        check_k(k)
        return []

    def forget(self, memory_id: str) -> bool:
        """Nothing to forget."""
        return False

    def list(self, limit: int = 50, *, kind: str | None = None, proposal_id: str | None = None) -> list[MemoryRecord]:
        """Nothing."""
        return []

    def close(self) -> None:
        """Nothing to release."""
