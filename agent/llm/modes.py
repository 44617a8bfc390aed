"""Structured-output modes: how the decision document is asked for, and how a refusal of one is recognised.

Policy: three ways to ask an OpenAI-compatible server for the JSON decision, strongest first:

- ``json_schema``: the strict schema as ``response_format`` (OpenAI, vLLM, Ollama, llama-server);
- ``json_object``: ``{"type": "json_object", "schema": …}`` (llama-cpp-python's server, which
  answers HTTP 500 to ``json_schema``, constrains its output with this schema);
- ``prompt``: no ``response_format`` at all; the schema is written into the system prompt.

``PAPERDESK_LLM_OUTPUT_MODE=auto`` (the default) starts at the mode remembered for the endpoint and
model (the mode of the newest call that got an answer there, kept in the audit trail) or at
``json_schema``, and moves to the next mode only when the server refuses the response format: an
HTTP 4xx/5xx error (not an authentication, rate-limit or not-found error) whose message names
``response_format`` or the type that was sent. A forced mode is the only mode tried (and its
answered calls re-seed what ``auto`` remembers). Whatever the mode, the answer goes through the
same validation gate (``agent.llm.gate``). The audit row keeps the messages as the prompt built
them and the mode; in ``prompt`` mode the schema was appended to the system message, and the cache
key ignores the mode, so a recorded answer replays whatever mode produced it.

Failure contract: pure functions; an unknown mode name is a ``ValueError``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Protocol

AUTO = "auto"
NOT_A_FORMAT_REFUSAL = frozenset({401, 403, 404, 408, 409, 429})
_NAMES_FORMAT = re.compile(r"response[_ ]?format", re.IGNORECASE)


class OutputMode(StrEnum):
    """One way of asking for the decision document, strongest first."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    PROMPT = "prompt"


ORDER = tuple(OutputMode)


class ModeMemory(Protocol):
    """Where the mode that worked for an endpoint and model is found again."""

    def negotiated_mode(self, endpoint_host: str, model: str) -> str | None:
        """The output mode of the newest answered call to ``model`` at ``endpoint_host``, if any."""
        ...


def candidates(setting: str, remembered: str | None = None) -> list[OutputMode]:
    """The modes to try, in order: the forced one alone, or from the remembered one down."""
    if setting != AUTO:
        return [OutputMode(setting)]
    start = ORDER.index(OutputMode(remembered)) if remembered in set(ORDER) else 0
    return list(ORDER[start:])


def refuses_format(status: int, message: str, mode: OutputMode) -> bool:
    """Whether an HTTP error says the server does not accept this mode's response format."""
    if mode is OutputMode.PROMPT or status < 400 or status in NOT_A_FORMAT_REFUSAL:
        return False
    return bool(_NAMES_FORMAT.search(message)) or str(mode) in message.lower()


def json_object_format(schema: dict[str, Any]) -> dict[str, Any]:
    """The ``json_object`` response format carrying the schema (llama-cpp-python's grammar source)."""
    return {"type": "json_object", "schema": schema}
