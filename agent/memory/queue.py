"""Memories waiting for the process that holds the store: the queue port and its drain.

Policy: the embedded store admits one process. A process that finds it held by another (``MemoryBusy``)
puts what it wanted to remember in a durable queue (the ``memory_queue`` table: ``storage.memory_queue_store``) instead
of losing it; the process that holds the store drains the queue, oldest first, when it opens the store
and before it reads or writes it. A row is deleted only after the store accepted its memory, so a
crash at any point loses nothing: a row is marked attempted before its write, and a row found
attempted is first looked up in the store by its token (kept in the memory's metadata as
``queue_token``), so a crash between the write and the delete does not store the memory twice.

Failure contract: a drain never raises. A row the store cannot take now (a ``MemoryFailure``, a
database error) stops the drain and stays queued with its error for the next one; a row that can
never be stored (a ``ValueError``: it was checked before it was queued, so only a hand-edited row) is
dropped with a warning. Either way the caller's own call goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from agent.memory.base import Memory, MemoryFailure

log = structlog.get_logger("paperdesk.memory")
MARK = "queue_token"  # the metadata key holding the queue row's token
BATCH = 100
ALL = 100_000


@dataclass(frozen=True)
class QueuedMemory:
    """A memory waiting in the queue (``attempts``: drains that tried to write it)."""

    id: int
    token: str
    text: str
    kind: str
    metadata: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0


class MemoryQueue(Protocol):
    """Durable storage of memories waiting for the store's holder."""

    def enqueue(self, text: str, kind: str, metadata: Mapping[str, Any]) -> int:
        """Keep one memory; returns its queue id."""
        ...

    def waiting(self, limit: int = BATCH) -> Sequence[QueuedMemory]:
        """Queued memories, oldest first."""
        ...

    def attempt(self, queue_id: int) -> None:
        """Record that a write of this memory is starting."""
        ...

    def failed(self, queue_id: int, error: str) -> None:
        """Record why a write failed (the memory stays queued)."""
        ...

    def done(self, queue_id: int) -> None:
        """Remove a memory the store has accepted."""
        ...


def drain(store: Memory, queue: MemoryQueue) -> int:
    """Write the queued memories to ``store``, oldest first; returns how many left the queue."""
    stored = 0
    try:
        for item in queue.waiting():
            if not _write(store, queue, item):
                break
            stored += 1
    except Exception as exc:  # a database error: the rows stay queued; memory never costs its caller
        log.warning("memory_queue_drain_failed", error=" ".join(str(exc).split())[:300])
    if stored:
        log.info("memory_queue_drained", count=stored)
    return stored


def _write(store: Memory, queue: MemoryQueue, item: QueuedMemory) -> bool:
    """Store one queued memory and delete its row; False when the store cannot take it now."""
    try:
        if item.attempts and _already_stored(store, item):
            queue.done(item.id)
            return True
        queue.attempt(item.id)
        store.remember(item.text, item.kind, {**item.metadata, MARK: item.token})
    except ValueError as exc:
        log.warning("memory_queue_row_dropped", queue_id=item.id, error=str(exc))
        queue.done(item.id)
        return True
    except MemoryFailure as exc:
        log.warning("memory_queue_write_failed", queue_id=item.id, error=str(exc))
        queue.failed(item.id, str(exc))
        return False
    queue.done(item.id)
    return True


def _already_stored(store: Memory, item: QueuedMemory) -> bool:
    """Whether an earlier drain stored this memory and crashed before deleting its row."""
    proposal_id = item.metadata.get("proposal_id")
    candidates = store.list(ALL, kind=item.kind, proposal_id=str(proposal_id) if proposal_id else None)
    return any(record.metadata.get(MARK) == item.token for record in candidates)
