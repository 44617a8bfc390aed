"""Wiring of long-term memory: ``PAPERDESK_MEMORY=off|mem0`` and ``PAPERDESK_MEMORY_EMBEDDER=local|openai``.

Policy: ``off`` (the default) is the null memory. ``mem0`` is the offline Mem0 store in
PAPERDESK_HOME with the chosen embedder (``openai`` uses the configured OpenAI-compatible endpoint,
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, and ``PAPERDESK_MEMORY_EMBEDDING_MODEL``, whatever
the size of its vectors), opened on first use (``agent.memory.lazy``) so commands
that never remember or recall do not load the model. The embedded store admits one process at a
time: a command that needs memory while the daemon holds it gets a ``MemoryBusy`` failure, which
the desk reports as an alert or a one-line refusal. With the LLM policy, the policy's recall hook
is the learning loop's ``Recaller``.

Failure contract: a missing extra or a missing key is a one-line ``SettingsError`` at start-up.
"""

from __future__ import annotations

import importlib.util

from agent.memory import Memory, NullMemory
from agent.memory.base import MemoryFailure
from agent.memory.lazy import LazyMemory
from agent.memory.mem0_store import Mem0Options, mem0_config, open_mem0
from bot.desk.desk import Desk
from bot.desk.learning import Recaller
from bot.settings import Settings, SettingsError


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
    return LazyMemory(lambda: open_mem0(options))


def attach_recall(desk: Desk) -> None:
    """Give the LLM policy the desk's recall hook when memory is on."""
    if not desk.memory.enabled:
        return
    from agent.llm.policy import LlmPolicy  # loads the openai SDK: only when memory is on

    if isinstance(desk.policy, LlmPolicy):
        desk.policy.recall = Recaller(desk)
