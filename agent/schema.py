"""The policy output schema (DESIGN.md): one decision per cycle, validated before use.

``target_weight`` is the desired final weight of the symbol, so re-running a decision never
doubles a position. The same model is the strict JSON schema the LLM policy asks for.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Action(StrEnum):
    """What the policy wants for a symbol."""

    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


class ProposalIdea(BaseModel):
    """One symbol's target and the reasoning behind it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    action: Action
    target_weight: float = Field(ge=0, le=1)
    confidence: float = Field(ge=0, le=1)
    thesis: str
    expected_upside_pct: float
    worst_case_loss_pct: float
    time_horizon_days: int = Field(ge=1)
    stop_loss_pct: float | None
    risk_factors: list[str]
    catalysts: list[str]
    exit_triggers: list[str]


class PolicyDecision(BaseModel):
    """A whole cycle's decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    market_view: str
    proposals: list[ProposalIdea]
