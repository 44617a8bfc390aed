"""What ``explain`` returns: one decision's whole story as plain frozen models (see ``bot/desk/explain.py``).

A ``ProposalStory`` or a ``CycleStory``, told by ``kind``; both serialise to one JSON document as
they are (``--json`` prints ``model_dump``) and validate back from it (``parse_story``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcTime = Annotated[datetime, AfterValidator(_aware)]


class CycleHeader(_View):
    """Where a decision came from: the cycle, its data and the policy's view of the market."""

    id: str
    status: str
    started_at: UtcTime
    finished_at: UtcTime | None
    as_of: date | None
    data_source: str
    synthetic: bool
    policy: str
    regime: str | None
    market_view: str | None
    error: str | None
    equity_before: Decimal | None
    equity_after: Decimal | None


class LlmCallStory(_View):
    """One request to the model: what was asked and what came back."""

    id: int | None
    at: UtcTime
    purpose: str
    model: str
    endpoint_host: str
    outcome: str
    finish_reason: str | None
    error: str | None
    from_cache: bool
    messages: list[dict[str, Any]]
    raw_answer: str | None
    parsed: dict[str, Any] | None
    validation_errors: list[str]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    latency_ms: float


class Reasoning(_View):
    """The policy's idea behind a proposal (the model's, or the rules policy's reasons)."""

    action: str | None
    thesis: str
    confidence: float
    expected_upside_pct: float | None
    worst_case_loss_pct: float | None
    time_horizon_days: int | None
    stop_loss_pct: float | None
    risk_factors: list[str]
    catalysts: list[str]
    exit_triggers: list[str]


class Sizing(_View):
    """The order the target weight became."""

    side: str
    weight_before: float
    target_weight: float
    quantity: Decimal
    price: Decimal | None
    currency: str | None
    fx_rate: Decimal | None
    notional_base: Decimal | None
    base_currency: str


class HitStory(_View):
    """One rule finding."""

    code: str
    level: str
    detail: dict[str, Any]


class ClampStory(_View):
    """A size the engine offered instead of the one asked."""

    quantity_before: Decimal | None
    quantity_after: Decimal | None
    weight_before: float | None
    weight_after: float | None
    text: str | None


class VerdictStory(_View):
    """A risk verdict at one stage (``cycle`` or ``approval``)."""

    stage: str
    level: str
    at: UtcTime
    hits: list[HitStory]
    clamp: ClampStory | None


class TransitionStory(_View):
    """One lifecycle move."""

    at: UtcTime
    actor: str
    from_status: str | None
    to_status: str
    note: str | None


class FillStory(_View):
    """One execution."""

    at: UtcTime
    quantity: Decimal
    price: Decimal
    currency: str
    fx_rate: Decimal
    commission_base: Decimal


class OrderStory(_View):
    """A broker order and its fills."""

    id: str
    broker: str
    side: str
    quantity: Decimal
    status: str
    filled_quantity: Decimal
    filled_avg_price: Decimal | None
    submitted_at: UtcTime
    reject_reason: str | None
    fills: list[FillStory]


class OutcomeStory(_View):
    """The thesis against what the price did over its horizon (``due`` once the horizon has passed)."""

    due: bool
    horizon_days: int | None
    due_on: date | None
    realised_return: float | None = None
    expected_upside_pct: float | None = None
    worst_case_loss_pct: float | None = None
    reached_upside: bool | None = None
    worse_than_worst_case: bool | None = None
    note: str = ""


class ProposalStory(_View):
    """A proposal from the cycle that made it to its outcome."""

    kind: Literal["proposal"] = "proposal"
    id: str
    symbol: str
    status: str
    cycle: CycleHeader
    llm_calls: list[LlmCallStory]
    reasoning: Reasoning
    sizing: Sizing
    verdicts: list[VerdictStory]
    transitions: list[TransitionStory]
    decided_by: str | None
    decision_reason: str | None
    orders: list[OrderStory]
    outcome: OutcomeStory


class ProposalBrief(_View):
    """One proposal of a cycle, in a line."""

    id: str
    symbol: str
    side: str
    level: str | None
    status: str


class CycleStory(_View):
    """A cycle: its header, the model's calls and one line per proposal."""

    kind: Literal["cycle"] = "cycle"
    cycle: CycleHeader
    llm_calls: list[LlmCallStory]
    proposals: list[ProposalBrief]


Story = Annotated[ProposalStory | CycleStory, Field(discriminator="kind")]


def parse_story(text: str) -> ProposalStory | CycleStory:
    """A story back from its JSON document."""
    adapter: TypeAdapter[ProposalStory | CycleStory] = TypeAdapter(Story)
    return adapter.validate_json(text)
