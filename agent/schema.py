"""The policy output schema (DESIGN.md): one decision per cycle, validated before use.

``target_weight`` is the desired final weight of the symbol, so re-running a decision never
doubles a position. The same model is the strict JSON schema the LLM policy asks for; its field
descriptions state the units (the ``_pct`` fields hold fractions: their names are the public
interface of DESIGN.md, so the descriptions, not new names, tell a model so).
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
    target_weight: float = Field(ge=0, le=1, description="final weight as a fraction of equity, 0..1 (0.25 = 25%)")
    confidence: float = Field(ge=0, le=1, description="0..1")
    thesis: str
    expected_upside_pct: float = Field(description="a fraction, not a percentage number (0.05 = 5%)")
    worst_case_loss_pct: float = Field(description="a positive fraction (0.04 = a 4% loss)")
    time_horizon_days: int = Field(ge=1)
    stop_loss_pct: float | None = Field(description="a fraction below the entry (0.06 = 6%), or null")
    risk_factors: list[str]
    catalysts: list[str]
    exit_triggers: list[str]


class PolicyDecision(BaseModel):
    """A whole cycle's decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    market_view: str
    proposals: list[ProposalIdea]
