"""A memory that opens its backend on first use, so commands that never touch memory never pay for it.

Policy: loading the local model costs seconds; ``paperdesk status`` should not. The backend is
opened by the first call and kept until ``close``. An open that fails (``MemoryBusy`` while another
process holds the embedded store, or any ``MemoryFailure``) raises from that call and is tried
again on the next one, so a daemon that met a short-lived command's lock recovers by itself.

Failure contract: the wrapped memory's (see ``agent.memory.base``); in addition, anything other
than a ``ValueError`` (bad input) that escapes the opener or the backend becomes a ``MemoryFailure``,
so memory never costs a caller a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agent.memory.base import Memory, MemoryFailure, MemoryRecord, failures_as

KEEP = (ValueError, MemoryFailure)


class LazyMemory:
    """``Memory`` over a backend opened on demand."""

    enabled = True

    def __init__(self, opener: Callable[[], Memory]) -> None:
        self._opener = opener
        self._backend: Memory | None = None

    @property
    def opened(self) -> bool:
        """Whether the backend is open now."""
        return self._backend is not None

    def backend(self) -> Memory:
        """The open backend (opening it if needed)."""
        if self._backend is None:
            with failures_as("open", KEEP):
                self._backend = self._opener()
        return self._backend

    def remember(self, text: str, kind: str, metadata: Mapping[str, Any] | None = None) -> MemoryRecord:
        """See ``Memory.remember``."""
        with failures_as("remember", KEEP):
            return self.backend().remember(text, kind, metadata)

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
