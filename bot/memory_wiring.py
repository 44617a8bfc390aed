"""Wiring of long-term memory: ``PAPERDESK_MEMORY=off|mem0`` and ``PAPERDESK_MEMORY_EMBEDDER=local|openai``.

Policy: ``off`` (the default) is the null memory. ``mem0`` is the offline Mem0 store in
PAPERDESK_HOME with the chosen embedder (``openai`` uses the configured OpenAI-compatible endpoint,
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, and ``PAPERDESK_MEMORY_EMBEDDING_MODEL``, whatever
the size of its vectors), opened on first use (``agent.memory.lazy``) so commands
that never remember or recall do not load the model. Before that first load, which takes about
20 s with the local model, one line says so: the ``memory_store_loading`` event, and, unless the
logs are JSON lines (a daemon under systemd, a pipe), the same words on stderr. The embedded store
admits one process at a time: what a process remembers while another holds it (an approval from
the CLI while the daemon runs) goes to the database's memory queue, which the holder drains
(``attach_memory``, ``agent.memory.queue``); searching or forgetting needs the store and is
refused in one line. With the LLM policy, the policy's recall hook is the learning loop's ``Recaller``.

Failure contract: a missing extra or a missing key is a one-line ``SettingsError`` at start-up.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from agent.memory import Memory, NullMemory
from agent.memory.base import MemoryFailure
from agent.memory.lazy import LazyMemory
from agent.memory.mem0_store import Mem0Options, mem0_config, open_mem0
from agent.memory.queue import QueuedMemory
from bot.desk.desk import Desk
from bot.desk.learning import Recaller
from bot.logging import use_json
from bot.settings import Settings, SettingsError
from storage.memory_queue_store import MemoryQueueStore

log = structlog.get_logger("paperdesk.memory")
LOADING = {"local": "loading the memory store (first use takes ~20 s)…",
           "openai": "loading the memory store (first use takes a few seconds)…"}


def make_memory(settings: Settings) -> Memory:
    """The configured memory; its store and model open on first use."""
    if settings.memory == "off":
        return NullMemory()
    if settings.memory_embedder == "openai" and not settings.openai_api_key:
        raise SettingsError("PAPERDESK_MEMORY_EMBEDDER=openai needs OPENAI_API_KEY (any string for a local "
                            "server) and OPENAI_BASE_URL; or use PAPERDESK_MEMORY_EMBEDDER=local")
    if importlib.util.find_spec("mem0") is None:
        raise SettingsError("PAPERDESK_MEMORY=mem0 needs mem0ai: pip install -e . (it is a dependency)")
    options = Mem0Options(home=settings.home, embedder=settings.memory_embedder,
                          openai_base_url=settings.openai_base_url, openai_api_key=settings.openai_api_key,
                          openai_model=settings.memory_embedding_model)
    try:
        mem0_config(options)  # fails now, not at the first cycle, when the local model is not installed
    except MemoryFailure as exc:
        raise SettingsError(str(exc)) from None
    notice = LoadingNotice(options, to_stderr=not use_json(settings.log_format))
    return LazyMemory(lambda: open_mem0(options, notice), location=str(options.directory.resolve()))


class LoadingNotice:
    """Says once per process that the memory store is loading (the event, and the line on stderr if asked)."""

    def __init__(self, options: Mem0Options, *, to_stderr: bool) -> None:
        self.options, self.to_stderr, self.said = options, to_stderr, False

    def __call__(self) -> None:
        """Announce the first load; later loads in this process are quick and go unannounced."""
        if self.said:
            return
        self.said = True
        text = LOADING[self.options.embedder]
        log.info("memory_store_loading", directory=str(self.options.directory), embedder=self.options.embedder,
                 note=text)
        if self.to_stderr:
            print(f"note: {text}", file=sys.stderr, flush=True)  # noqa: T201


class DatabaseQueue:
    """The ``agent.memory.queue.MemoryQueue`` port over the ``memory_queue`` table, for one memory store."""

    def __init__(self, rows: MemoryQueueStore, store: str) -> None:
        self.rows, self.store = rows, store

    def enqueue(self, text: str, kind: str, metadata: Mapping[str, Any]) -> int:
        """See ``MemoryQueue.enqueue``."""
        return self.rows.add(self.store, text, kind, metadata)

    def waiting(self, limit: int = 100) -> Sequence[QueuedMemory]:
        """See ``MemoryQueue.waiting``."""
        return [QueuedMemory(id=row.id, token=row.token, text=row.text, kind=row.kind, metadata=dict(row.meta or {}),
                             attempts=row.attempts)
                for row in self.rows.waiting(self.store, limit) if row.id is not None]

    def attempt(self, queue_id: int) -> None:
        """See ``MemoryQueue.attempt``."""
        self.rows.attempt(queue_id)

    def failed(self, queue_id: int, error: str) -> None:
        """See ``MemoryQueue.failed``."""
        self.rows.failed(queue_id, error)

    def done(self, queue_id: int) -> None:
        """See ``MemoryQueue.done``."""
        self.rows.done(queue_id)


def attach_memory(desk: Desk) -> None:
    """Give the desk's memory its queue in the database, and each LLM policy (an llm sleeve's too) the recall hook."""
    if not desk.memory.enabled:
        return
    if isinstance(desk.memory, LazyMemory):
        desk.memory.queue = DatabaseQueue(MemoryQueueStore(desk.store.session, desk.clock), desk.memory.location)
    from agent.llm.policy import LlmPolicy  # loads the openai SDK: only when memory is on

    policies = [s.policy for s in desk.sleeves.policy.sleeves] if desk.sleeves is not None else [desk.policy]
    for policy in policies:
        if isinstance(policy, LlmPolicy):
            policy.recall = Recaller(desk)
