"""A memory that opens its backend on first use, so commands that never touch memory never pay for it.

Policy: loading the local model costs seconds; ``paperdesk status`` should not. The backend is
opened by the first call and kept until ``close``. An open that fails (``MemoryBusy`` while another
process holds the embedded store, or any ``MemoryFailure``) raises from that call and is tried
again on the next one, so a daemon that met a short-lived command's lock recovers by itself.
With a ``queue`` (``agent.memory.queue``, given by the composition root once the database is
open), nothing is lost to a busy store: ``remember`` queues the memory instead (the record it
returns has ``queued`` set and no id), and the process that holds the store drains the queue when
it opens it and before every call.

Failure contract: the wrapped memory's (see ``agent.memory.base``); in addition, anything other
than a ``ValueError`` (bad input) that escapes the opener or the backend becomes a ``MemoryFailure``,
so memory never costs a caller a traceback. Draining never raises (``agent.memory.queue.drain``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog

from agent.memory.base import Memory, MemoryBusy, MemoryFailure, MemoryRecord, check_text, failures_as
from agent.memory.queue import MemoryQueue, drain

KEEP = (ValueError, MemoryFailure)
log = structlog.get_logger("paperdesk.memory")


class LazyMemory:
    """``Memory`` over a backend opened on demand."""

    enabled = True

    def __init__(self, opener: Callable[[], Memory], *, location: str = "") -> None:
        self._opener = opener
        self._backend: Memory | None = None
        self.location = location  # the store's directory: the queue holds the memories of this store only
        self.queue: MemoryQueue | None = None

    @property
    def opened(self) -> bool:
        """Whether the backend is open now."""
        return self._backend is not None

    def backend(self) -> Memory:
        """The open backend (opening it if needed), with the queue drained into it."""
        if self._backend is None:
            with failures_as("open", KEEP):
                self._backend = self._opener()
        if self.queue is not None:
            drain(self._backend, self.queue)
        return self._backend

    def remember(self, text: str, kind: str, metadata: Mapping[str, Any] | None = None) -> MemoryRecord:
        """See ``Memory.remember``; queued when another process holds the store."""
        with failures_as("remember", KEEP):
            try:
                backend = self.backend()
            except MemoryBusy:
                if self.queue is None:
                    raise
                return self._enqueue(text, kind, metadata)
            return backend.remember(text, kind, metadata)

    def _enqueue(self, text: str, kind: str, metadata: Mapping[str, Any] | None) -> MemoryRecord:
        cleaned, checked = check_text(text, kind)
        meta = {k: v for k, v in dict(metadata or {}).items() if v is not None}
        assert self.queue is not None  # noqa: S101  (the caller checked)
        queued = self.queue.enqueue(cleaned, str(checked), meta)
        log.info("memory_queued", queue_id=queued, kind=str(checked), reason="store held by another process")
        return MemoryRecord(id="", text=cleaned, kind=checked, created_at=None, metadata=meta, queued=queued)

    def recall(self, query: str, k: int = 5, *, symbol: str | None = None) -> list[MemoryRecord]:
        """See ``Memory.recall``."""
        with failures_as("recall", KEEP):
            return self.backend().recall(query, k, symbol=symbol)

    def forget(self, memory_id: str) -> bool:
        """See ``Memory.forget``."""
        with failures_as("forget", KEEP):
            return self.backend().forget(memory_id)

    def list(self, limit: int = 50, *, kind: str | None = None, proposal_id: str | None = None) -> list[MemoryRecord]:
        """See ``Memory.list``."""
        with failures_as("list", KEEP):
            return self.backend().list(limit, kind=kind, proposal_id=proposal_id)

    def close(self) -> None:
        """Close the backend if it was opened."""
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()
