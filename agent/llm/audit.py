"""The audit-and-cache port of the LLM policy, and the cache key.

Policy: every request is recorded (an ``LlmCall``), including failed attempts, refusals, budget
refusals and answers replayed from the cache. The cache key is the sha256 of a canonical JSON of
(model, messages, response schema): any change to the prompt, the model or the schema is a miss.
Cost is ``prompt_tokens × price_in + completion_tokens × price_out`` per million tokens, Decimal.

Failure contract: pure helpers; the ``CallLog`` implementation (in bot/) owns persistence errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class StoredAnswer:
    """A model answer kept for replay."""

    content: str | None
    refusal: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class LlmCall:
    """One audit record."""

    at: datetime
    model: str
    endpoint_host: str
    cache_key: str
    messages: list[dict[str, str]]
    outcome: str
    cycle_id: str | None = None
    sleeve: str | None = None
    purpose: str = "decision"  # or "allocation" (the sleeves' master allocator)
    raw_answer: str | None = None
    parsed: dict[str, Any] | None = None
    validation_errors: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: Decimal = Decimal(0)
    from_cache: bool = False
    output_mode: str | None = None


class CallLog(Protocol):
    """Where calls are recorded and answers are found again."""

    def find(self, cache_key: str) -> StoredAnswer | None:
        """The latest model answer recorded for this key, if any."""
        ...

    def record(self, call: LlmCall) -> None:
        """Store one audit record."""
        ...

    def month_spend(self, month: date) -> Decimal:
        """USD spent on calls in the calendar month of ``month``."""
        ...


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    input_per_mtok: Decimal = Decimal("0.15")
    output_per_mtok: Decimal = Decimal("0.60")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        """The cost of a call in USD."""
        spent = Decimal(prompt_tokens) * self.input_per_mtok + Decimal(completion_tokens) * self.output_per_mtok
        return spent / MILLION


def cache_key(model: str, messages: Sequence[dict[str, str]], schema: dict[str, Any] | str) -> str:
    """sha256 of the canonical JSON of model, messages and schema (``schema`` may come already as its
    ``canonical`` text: the same bytes, without encoding the constant schema again on every call)."""
    text = schema if isinstance(schema, str) else canonical(schema)
    document = f'{{"messages":{canonical(list(messages))},"model":{canonical(model)},"schema":{text}}}'
    return hashlib.sha256(document.encode()).hexdigest()


def canonical(value: Any) -> str:
    """The canonical JSON of ``value``: sorted keys, no spaces, UTF-8 as is (the cache key's encoding)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def estimate_prompt_tokens(messages: Sequence[dict[str, str]]) -> int:
    """A cheap upper-ish estimate: four characters a token, plus a few per message."""
    return sum(len(m.get("content", "")) // 4 + 4 for m in messages)
