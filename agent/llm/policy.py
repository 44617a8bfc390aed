"""The LLM policy: prompt → (cache | budget → client) → gate → a screened decision, or an abstention.

Policy:

- ``record`` (default) calls the model and stores everything; ``off`` calls and stores but never
  reads the cache; ``replay`` answers from the stored answer of an identical request (same cache
  key) with no network call, and abstains on a miss (``ReplayMiss``, which names the day and the
  model, so a backtest can stop there instead). A replayed answer is recorded with
  ``from_cache`` and zero cost, and goes through the same gate, so the result is the same.
- Budget: with ``budget_usd`` set, a call whose estimated cost (prompt characters / 4 and the
  maximum completion tokens) would take this calendar month's spend over the budget is not made.
- Output mode (``agent.llm.modes``): in ``auto`` the client starts at the mode remembered for the
  endpoint and model (``ModeMemory``: the audit trail) and falls back when the server refuses a
  response format; every record carries the mode it was made in, so the audit trail is the memory.
- A refusal, an answer cut off at the token limit, or no answer after the client's retries ends
  the cycle with an abstention. An invalid document gets one repair request (the previous answer
  and the gate's errors appended), then the cycle abstains. Dropped proposals travel with the
  decision (``ScreenedDecision.dropped``).
- A universe above ``max_instruments`` is shown as a shortlist (``agent.llm.shortlist``); the gate
  then drops a proposal for a symbol that was not listed (``NOT_SHOWN``).

Failure contract: ``decide`` returns a ``ScreenedDecision`` whose proposals all passed the gate, or
raises ``PolicyAbstained`` with a one-line reason; every request, failed attempt, refusal, budget
refusal and replay is recorded in the ``CallLog`` first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import structlog

from agent.llm.audit import CallLog, LlmCall, Prices, StoredAnswer, cache_key, estimate_prompt_tokens
from agent.llm.client import Answer, LlmClient, ModelAnswer, response_format_text
from agent.llm.gate import GateResult, parse_content, screen
from agent.llm.modes import AUTO, ModeMemory
from agent.llm.prompt import build_messages
from agent.llm.shortlist import DEFAULT_MAX_INSTRUMENTS, Shortlist, shortlist
from agent.policies.base import PolicyAbstained, PolicyContext, ScreenedDecision
from agent.schema import PolicyDecision

log = structlog.get_logger("paperdesk.llm")
CacheMode = Literal["off", "record", "replay"]
Recall = Callable[[PolicyContext], Sequence[str]]
Messages = list[dict[str, str]]
REPAIR = ("Your answer was rejected by the validation gate:\n{errors}\n"
          "Answer again with one complete JSON decision that fixes these problems.")


class ReplayMiss(PolicyAbstained):
    """Replay mode holds no recorded answer for the request of ``day`` to ``model``."""

    def __init__(self, reason: str, day: date, model: str) -> None:
        super().__init__(reason)
        self.day = day
        self.model = model


class LlmPolicy:
    """Target weights from an OpenAI-compatible model, behind the validation gate."""

    name = "llm"

    def __init__(self, client: LlmClient, log: CallLog, clock: Callable[[], datetime], *,
                 cache: CacheMode = "record", budget_usd: Decimal | None = None, prices: Prices | None = None,
                 recall: Recall | None = None, modes: ModeMemory | None = None,
                 max_instruments: int = DEFAULT_MAX_INSTRUMENTS) -> None:
        self.client = client
        self.modes = modes
        self.log = log
        self.clock = clock
        self.cache = cache
        self.budget_usd = budget_usd
        self.prices = prices or Prices()
        self.recall = recall
        self.max_instruments = max_instruments

    async def decide(self, context: PolicyContext) -> ScreenedDecision:
        """One gated decision, or ``PolicyAbstained``."""
        messages, listed = request_messages(context, self.max_instruments,
                                            self.recall(context) if self.recall else ())
        first = await self._ask(messages, context, listed)
        if first.decision is not None:
            return first.decision
        repair = [*messages, {"role": "assistant", "content": first.content or ""},
                  {"role": "user", "content": REPAIR.format(errors="\n".join(f"- {e}" for e in first.errors))}]
        second = await self._ask(repair, context, listed)
        if second.decision is not None:
            return second.decision
        raise PolicyAbstained(f"the model's answer failed validation twice: {'; '.join(second.errors[:3])}")

    async def _ask(self, messages: Messages, context: PolicyContext, listed: Shortlist) -> _Judged:
        key = cache_key(self.client.model, messages, response_format_text())
        base = LlmCall(at=self.clock(), model=self.client.model, endpoint_host=self.client.endpoint_host,
                       cache_key=key, messages=messages, outcome="pending", cycle_id=context.cycle_id,
                       sleeve=context.sleeve)
        answer, from_cache = await self.answer(messages, base, context.as_of)
        return self._judge(answer, base, context, listed, from_cache)

    async def answer(self, messages: Messages, base: LlmCall, day: date,
                     schema: Answer = PolicyDecision) -> tuple[ModelAnswer, bool]:
        """The model's answer to ``messages`` (a ``schema`` document) and whether it was replayed: read back in
        replay mode (``ReplayMiss`` when absent), else asked (``PolicyAbstained`` over budget or when the
        endpoint cannot be reached); the failures are recorded on ``base``, the answer is the caller's to record."""
        if self.cache == "replay":
            return self._replayed(base.cache_key, base, day), True
        return await self._called(messages, base, schema), False

    def answered(self, answer: ModelAnswer, from_cache: bool) -> dict[str, object]:
        """What an audit record keeps of an answer: text, tokens, cost (none when replayed), latency, mode."""
        cost = Decimal(0) if from_cache else self.prices.cost(answer.prompt_tokens, answer.completion_tokens)
        return {"raw_answer": answer.content, "finish_reason": answer.finish_reason, "cost_usd": cost,
                "prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
                "latency_ms": 0.0 if from_cache else answer.latency_ms, "from_cache": from_cache,
                "output_mode": None if from_cache else answer.mode}

    def _replayed(self, key: str, base: LlmCall, day: date) -> ModelAnswer:
        stored = self.log.find(key)
        if stored is None:
            reason = "no recorded answer for this request in replay mode"
            self.record(base, outcome="replay_miss", error=reason)
            raise ReplayMiss(reason, day, self.client.model)
        return _from_stored(stored)

    async def _called(self, messages: Messages, base: LlmCall, schema: Answer) -> ModelAnswer:
        self._check_budget(messages, base)
        result = await self.client.complete(messages, self._remembered_mode(), schema)
        for failure in result.failures:
            self.record(base, outcome="failed", error=failure.reason, latency_ms=failure.latency_ms,
                         output_mode=failure.mode)
        if result.answer is None:
            last = result.failures[-1].reason if result.failures else "no answer"
            raise PolicyAbstained(f"the model could not be reached after {len(result.failures)} attempt(s): {last}")
        return result.answer

    def _remembered_mode(self) -> str | None:
        if self.modes is None or self.client.output_mode != AUTO or self.client.negotiated is not None:
            return None
        return self.modes.negotiated_mode(self.client.endpoint_host, self.client.model)

    def _check_budget(self, messages: Messages, base: LlmCall) -> None:
        if self.budget_usd is None:
            return
        spent = self.log.month_spend(self.clock().date())
        estimate = self.prices.cost(estimate_prompt_tokens(messages), self.client.max_tokens)
        if spent + estimate > self.budget_usd:
            reason = (f"the monthly LLM budget of ${self.budget_usd} would be exceeded "
                      f"(spent ${spent:.4f} this month, this call up to ${estimate:.4f})")
            self.record(base, outcome="over_budget", error=reason)
            raise PolicyAbstained(reason)

    def _judge(self, answer: ModelAnswer, base: LlmCall, context: PolicyContext, listed: Shortlist,
               from_cache: bool) -> _Judged:
        seen = self.answered(answer, from_cache)
        stop = stopped(answer)
        if stop is not None:
            outcome, reason = stop
            self.record(base, outcome=outcome, error=answer.refusal or reason, **seen)
            raise PolicyAbstained(reason)
        document, error = parse_content(answer.content)
        result = GateResult(None, [error]) if error else screen(
            document, frozenset(context.instruments), {s: h.weight for s, h in context.holdings.items()},
            context.min_cash_weight, frozenset(listed.shown))
        parsed = result.decision.model_dump(mode="json") if result.decision else (
            document if isinstance(document, dict) and not error else None)
        errors = result.errors or [f"{d.symbol}: {d.code}: {d.detail}" for d in result.dropped]
        self.record(base, outcome="ok" if result.decision else "invalid", parsed=_jsonable(parsed),
                     validation_errors=errors, error=answer.note, **seen)
        return _Judged(result.decision, result.errors, answer.content)

    def record(self, base: LlmCall, **fields: object) -> None:
        """Store one audit record: ``base`` with ``fields``, timed now."""
        call = LlmCall(**{**base.__dict__, "at": self.clock(), **fields})
        self.log.record(call)
        log.info("llm_call", outcome=call.outcome, model=call.model, from_cache=call.from_cache,
                 prompt_tokens=call.prompt_tokens, completion_tokens=call.completion_tokens,
                 cost_usd=str(call.cost_usd), latency_ms=call.latency_ms, errors=len(call.validation_errors),
                 error=call.error, output_mode=call.output_mode)


def request_messages(context: PolicyContext, max_instruments: int = DEFAULT_MAX_INSTRUMENTS,
                     memories: Sequence[str] = ()) -> tuple[Messages, Shortlist]:
    """The chat messages ``decide`` sends for ``context`` (before any output mode's change) and their shortlist."""
    listed = shortlist(context, max_instruments)
    return build_messages(context, memories, listed), listed


@dataclass(frozen=True)
class _Judged:
    """The gate's verdict on one answer."""

    decision: ScreenedDecision | None
    errors: list[str]
    content: str | None


def stopped(answer: ModelAnswer) -> tuple[str, str] | None:
    """An answer that ends the cycle at once: a refusal or a truncated document."""
    if answer.refusal:
        return "refused", f"the model refused: {' '.join(answer.refusal.split())[:200]}"
    if answer.finish_reason == "content_filter":
        return "refused", "the answer was withheld by the endpoint's content filter"
    if answer.finish_reason == "length":
        return "truncated", "the answer was cut off at the token limit (finish_reason=length)"
    return None


def _from_stored(stored: StoredAnswer) -> ModelAnswer:
    return ModelAnswer(content=stored.content, refusal=stored.refusal, finish_reason=stored.finish_reason,
                       prompt_tokens=stored.prompt_tokens, completion_tokens=stored.completion_tokens, latency_ms=0.0)


def _jsonable(value: object) -> dict[str, object] | None:
    """A parsed document safe for a JSON column (huge integers and NaN are not)."""
    if not isinstance(value, dict):
        return None
    try:
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError):
        return None
    return value
