"""The LLM policy's ``CallLog`` on the database: agent-side records in, ``llm_call`` rows out.

Untrusted text (the error, the validation messages, the endpoint host) is stored through
``broker.redaction.Redactor``: a key echoed by the endpoint never reaches ``llm_call``.

Failure contract: database errors propagate; a call is recorded in one transaction.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from agent.llm.audit import LlmCall, StoredAnswer
from broker.redaction import Redactor, host_of
from storage.llm_store import LlmStore, month_bounds
from storage.tables_llm import LlmCallRow


class SqlCallLog:
    """Implements ``agent.llm.audit.CallLog`` and ``agent.llm.modes.ModeMemory`` with ``storage.llm_store.LlmStore``."""

    def __init__(self, store: LlmStore, redactor: Redactor | None = None) -> None:
        self.store = store
        self.redactor = redactor or Redactor()

    def find(self, cache_key: str) -> StoredAnswer | None:
        """The latest recorded answer to an identical request."""
        row = self.store.answered(cache_key)
        return None if row is None else _stored(row)

    def answers(self, model: str) -> dict[str, StoredAnswer]:
        """``find`` of every recorded request to ``model``, by cache key, read at once."""
        return {key: _stored(row) for key, row in self.store.answered_by_key(model[:120]).items()}

    def record(self, call: LlmCall) -> None:
        """Store one audit record, its untrusted text redacted."""
        self.store.add(self._row(call))

    def record_many(self, calls: list[LlmCall]) -> None:
        """Store several audit records in one transaction (one bulk insert: a replay's thousands of rows)."""
        self.store.insert_many([self._values(call) for call in calls])

    def _row(self, call: LlmCall) -> LlmCallRow:
        return LlmCallRow(**self._values(call))

    def _values(self, call: LlmCall) -> dict[str, Any]:
        """The row's columns, untrusted text redacted and cut to the columns' sizes."""
        clean = self.redactor.text
        return {
            "at": call.at, "cycle_id": call.cycle_id, "sleeve": call.sleeve, "purpose": call.purpose[:24],
            "model": call.model[:120], "endpoint_host": clean(host_of(call.endpoint_host))[:200],
            "cache_key": call.cache_key, "messages": call.messages, "raw_answer": _text(call.raw_answer),
            "parsed": call.parsed, "validation_errors": [clean(e) for e in call.validation_errors],
            "outcome": call.outcome[:24], "finish_reason": (call.finish_reason or None) and call.finish_reason[:24],
            "error": _text(None if call.error is None else clean(call.error)), "prompt_tokens": call.prompt_tokens,
            "completion_tokens": call.completion_tokens, "latency_ms": call.latency_ms, "cost_usd": call.cost_usd,
            "from_cache": call.from_cache, "output_mode": call.output_mode}

    def negotiated_mode(self, endpoint_host: str, model: str) -> str | None:
        """The mode of the newest answered call to ``model`` at ``endpoint_host`` (keyed as ``record`` stores them)."""
        return self.store.negotiated_mode(self.redactor.text(host_of(endpoint_host))[:200], model[:120])

    def month_spend(self, month: date) -> Decimal:
        """USD spent in the calendar month of ``month``."""
        return self.store.spend_between(*month_bounds(month))


def _text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters; a model may send them."""
    return None if value is None else value.replace("\x00", "\ufffd")


def _stored(row: LlmCallRow) -> StoredAnswer:
    """A recorded answer as the policy replays it."""
    refusal = row.error if row.outcome == "refused" else None
    return StoredAnswer(content=row.raw_answer, refusal=refusal, finish_reason=row.finish_reason,
                        prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens)
