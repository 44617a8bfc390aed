"""Stored rows turned into the parts of a story (``bot/desk/explain_views.py``); pure functions.

Policy: every value is shown as it was stored; JSON columns written by older versions (or by
hand) that lack a key or hold the wrong type are read as empty, never raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bot.desk.explain_views import (
    ClampStory,
    CycleHeader,
    FillStory,
    HitStory,
    LlmCallStory,
    OrderStory,
    Reasoning,
    Sizing,
    VerdictStory,
)
from bot.desk.lines import clamp_text
from broker.redaction import host_of
from storage.tables import CycleRow, FillRow, OrderRow, ProposalRow, RiskHitRow, VerdictRow
from storage.tables_llm import LlmCallRow


def cycle_header(cycle: CycleRow) -> CycleHeader:
    """The cycle a decision came from."""
    return CycleHeader(id=cycle.id, status=cycle.status, started_at=cycle.started_at, finished_at=cycle.finished_at,
                       as_of=cycle.as_of, data_source=cycle.data_source, synthetic=cycle.synthetic,
                       policy=cycle.policy, regime=cycle.regime, market_view=cycle.market_view, error=cycle.error,
                       equity_before=cycle.equity_before, equity_after=cycle.equity_after)


def call_story(row: LlmCallRow) -> LlmCallStory:
    """One LLM call with its prompt and answer."""
    messages = [m for m in row.messages if isinstance(m, dict)] if isinstance(row.messages, list) else []
    errors = [str(e) for e in row.validation_errors] if isinstance(row.validation_errors, list) else []
    return LlmCallStory(
        id=row.id, at=row.at, purpose=row.purpose, model=row.model, endpoint_host=host_of(row.endpoint_host),
        outcome=row.outcome, finish_reason=row.finish_reason, error=row.error, from_cache=row.from_cache,
        messages=messages, raw_answer=row.raw_answer, parsed=row.parsed if isinstance(row.parsed, dict) else None,
        validation_errors=errors, prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens,
        cost_usd=row.cost_usd, latency_ms=row.latency_ms)


def reasoning(row: ProposalRow) -> Reasoning:
    """The idea stored with the proposal: the model's thesis, or the rules policy's reasons."""
    idea: dict[str, Any] = row.idea or {}
    horizon = _number(idea, "time_horizon_days")
    return Reasoning(
        action=str(idea["action"]) if "action" in idea else None, thesis=row.thesis, confidence=row.confidence,
        expected_upside_pct=_number(idea, "expected_upside_pct"),
        worst_case_loss_pct=_number(idea, "worst_case_loss_pct"),
        time_horizon_days=int(horizon) if horizon is not None else None, stop_loss_pct=_number(idea, "stop_loss_pct"),
        risk_factors=_texts(idea, "risk_factors"), catalysts=_texts(idea, "catalysts"),
        exit_triggers=_texts(idea, "exit_triggers"))


def sizing(row: ProposalRow, base_currency: str) -> Sizing:
    """Weight now and target, and the order they became."""
    notional = None
    if row.price is not None:
        notional = (row.quantity * row.price * (row.fx_rate or Decimal(1))).quantize(Decimal("0.01"))
    return Sizing(side=row.side, weight_before=row.weight_before, target_weight=row.target_weight,
                  quantity=row.quantity, price=row.price, currency=row.currency, fx_rate=row.fx_rate,
                  notional_base=notional, base_currency=base_currency)


def verdict_story(verdict: VerdictRow, hits: Sequence[RiskHitRow]) -> VerdictStory:
    """A verdict with every hit and its clamp."""
    clamp = None
    if verdict.quantity_after is not None or verdict.weight_after is not None:
        clamp = ClampStory(quantity_before=verdict.quantity_before, quantity_after=verdict.quantity_after,
                           weight_before=verdict.weight_before, weight_after=verdict.weight_after,
                           text=clamp_text(verdict.weight_before, verdict.weight_after, verdict.quantity_after))
    return VerdictStory(stage=verdict.stage, level=verdict.level, at=verdict.created_at, clamp=clamp,
                        hits=[HitStory(code=h.code, level=h.level, detail=dict(h.detail or {})) for h in hits])


def order_stories(orders: Sequence[OrderRow], fills: Sequence[FillRow]) -> list[OrderStory]:
    """Each order with its own fills."""
    return [OrderStory(
        id=o.id, broker=o.broker, side=o.side, quantity=o.quantity, status=o.status,
        filled_quantity=o.filled_quantity, filled_avg_price=o.filled_avg_price, submitted_at=o.submitted_at,
        reject_reason=o.reject_reason,
        fills=[FillStory(at=f.at, quantity=f.quantity, price=f.price, currency=f.currency, fx_rate=f.fx_rate,
                         commission_base=f.commission_base) for f in fills if f.order_id == o.id])
        for o in orders]


def hit_text(hit: HitStory) -> str:
    """``CODE: key=value, ...``."""
    return hit.code + (": " + ", ".join(f"{k}={v}" for k, v in hit.detail.items()) if hit.detail else "")


def _number(idea: dict[str, Any], key: str) -> float | None:
    value = idea.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _texts(idea: dict[str, Any], key: str) -> list[str]:
    value = idea.get(key)
    return [str(v) for v in value] if isinstance(value, list) else []
