"""The llm master allocator (``allocator = "llm"``): the model proposes the budgets, the bounds hold them.

Policy: the rules allocation is computed first (its figures are the prompt's inputs, and it is the
fallback); the model is asked once per allocation through the desk's LLM endpoint with its cache,
budget and audit (``LlmPolicy.answer``; an ``llm_call`` row with purpose ``allocation``), for an
``AllocationAnswer``; the answer is validated and bounded by ``bot.sleeves.allocator_llm`` (the same
``settle`` as the rules). When the model cannot be reached, refuses, is over budget, has no recorded
answer in replay mode or answers invalidly, the rules allocation is used, recorded with method
``rules-fallback`` and each reason saying why.

Failure contract: never raises for the model's failures (the fallback); a configuration error is
``check_bounds``'s ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import structlog
from pydantic import BaseModel, ConfigDict

from agent.llm.audit import LlmCall, cache_key
from agent.llm.client import response_format_text
from agent.llm.policy import LlmPolicy, stopped
from agent.policies.base import PolicyAbstained, PolicyContext
from bot.sleeves.allocator import allocate
from bot.sleeves.allocator_llm import allocation_messages, parse_allocation
from bot.sleeves.bounds import Allocation, AllocatorParams, SleeveBounds

log = structlog.get_logger("paperdesk.sleeves")
FALLBACK = "rules-fallback"


class AllocationAnswer(BaseModel):
    """The answer's schema: each sleeve's budget and one sentence why."""

    model_config = ConfigDict(extra="forbid")

    budgets: dict[str, float]
    reasons: dict[str, str]


class LlmAllocator:
    """The model proposes, the bounds dispose; the rules when the model fails."""

    def __init__(self, llm: LlmPolicy) -> None:
        self.llm = llm

    async def __call__(self, sleeves: Sequence[SleeveBounds], returns: Mapping[str, Sequence[float]], regime: str,
                       params: AllocatorParams, current: Mapping[str, float] | None,
                       context: PolicyContext) -> tuple[Allocation, str]:
        rules = allocate(sleeves, returns, regime, params, current)
        messages = allocation_messages(sleeves, rules.inputs, regime, params)
        client = self.llm.client
        base = LlmCall(at=self.llm.clock(), model=client.model, endpoint_host=client.endpoint_host,
                       cache_key=cache_key(client.model, messages, response_format_text(AllocationAnswer)),
                       messages=messages, outcome="pending", cycle_id=context.cycle_id, purpose="allocation")
        try:
            answer, from_cache = await self.llm.answer(messages, base, context.as_of, AllocationAnswer)
        except PolicyAbstained as exc:  # unreachable, over budget, or not recorded (replay mode)
            return _fallback(rules, exc.reason), FALLBACK
        seen = self.llm.answered(answer, from_cache)
        stop = stopped(answer)
        if stop is not None:
            self.llm.record(base, outcome=stop[0], error=answer.refusal or stop[1], **seen)
            return _fallback(rules, stop[1]), FALLBACK
        try:
            allocation = parse_allocation(answer.content, sleeves, params, current, regime, rules.inputs)
        except ValueError as exc:
            self.llm.record(base, outcome="invalid", validation_errors=[str(exc)], **seen)
            return _fallback(rules, f"its answer was invalid: {exc}"), FALLBACK
        self.llm.record(base, outcome="ok", parsed={"budgets": allocation.budgets, "reasons": allocation.reasons},
                        **seen)
        log.info("llm_allocation", budgets=allocation.budgets, from_cache=from_cache)
        return allocation, "llm"


def _fallback(rules: Allocation, why: str) -> Allocation:
    log.warning("llm_allocation_failed", reason=why)
    note = f"the LLM's allocation was not used ({why}); by the rules: "
    return replace(rules, reasons={name: note + reason for name, reason in rules.reasons.items()})
