"""Wiring of long-term memory: ``PAPERDESK_MEMORY=off|mem0`` and ``PAPERDESK_MEMORY_EMBEDDER=local|openai``.

Policy: ``off`` (the default) is the null memory. ``mem0`` opens the offline Mem0 store in
PAPERDESK_HOME with the chosen embedder; ``openai`` uses the configured OpenAI-compatible endpoint
(``OPENAI_BASE_URL``, ``OPENAI_API_KEY``). The embedded store admits one process at a time: a
command run while the daemon holds it gets the null memory and a notice, and the daemon keeps
remembering. With the LLM policy, the policy's recall hook is the learning loop's ``Recaller``.

Failure contract: a missing extra, a missing key or an unusable store is a one-line ``SettingsError``.
"""

from __future__ import annotations

from agent.llm.policy import LlmPolicy
from agent.memory import Memory, NullMemory
from agent.memory.base import MemoryFailure
from agent.memory.mem0_store import Mem0Options, MemoryBusy, open_mem0
from bot.desk.desk import Desk
from bot.learning import Recaller
from bot.settings import Settings, SettingsError

BUSY_NOTICE = "memory is in use by another paperdesk process (the daemon?); this command runs without memory"


def make_memory(settings: Settings, notices: list[str] | None = None) -> Memory:
    """The configured memory (the local model loads here, once per process)."""
    if settings.memory == "off":
        return NullMemory()
    if settings.memory_embedder == "openai" and not settings.openai_api_key:
        raise SettingsError("PAPERDESK_MEMORY_EMBEDDER=openai needs OPENAI_API_KEY (any string for a local "
                            "server) and OPENAI_BASE_URL; or use PAPERDESK_MEMORY_EMBEDDER=local")
    options = Mem0Options(home=settings.home, embedder=settings.memory_embedder,
                          openai_base_url=settings.openai_base_url, openai_api_key=settings.openai_api_key)
    try:
        return open_mem0(options)
    except MemoryBusy:
        if notices is not None:
            notices.append(BUSY_NOTICE)
        return NullMemory()
    except MemoryFailure as exc:
        raise SettingsError(str(exc)) from None


def attach_recall(desk: Desk) -> None:
    """Give the LLM policy the desk's recall hook when memory is on."""
    if desk.memory.enabled and isinstance(desk.policy, LlmPolicy):
        desk.policy.recall = Recaller(desk)
