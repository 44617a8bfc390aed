"""Risk limits: the ``[risk]`` table of the config file (environment ``PAPERDESK_RISK__<KEY>``).

Defaults follow DESIGN.md. Every limit is validated: a negative or out-of-range value is refused
with a message naming the key, so a typo can never silently disable a rule.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RiskLimits(BaseModel):
    """The limits the engine enforces; fractions are of equity unless stated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_position_weight: float = Field(0.25, gt=0, le=1)
    max_asset_class_weight: float = Field(0.40, gt=0, le=1)
    max_sector_weight: float = Field(0.40, gt=0, le=1)
    min_cash_weight: float = Field(0.10, ge=0, lt=1)
    max_drawdown: float = Field(0.15, gt=0, le=1)
    intraday_drop_halt: float = Field(0.03, gt=0, le=1)
    max_volatility: float = Field(0.60, gt=0)
    max_correlation: float = Field(0.85, gt=0, le=1)
    large_holding_weight: float = Field(0.05, ge=0, le=1)
    max_adv_fraction: float = Field(0.01, gt=0, le=1)
    max_trades_per_day: int = Field(10, ge=0)
    max_trades_per_week: int = Field(30, ge=0)
    min_holding_days: int = Field(5, ge=0)
    reentry_cooldown_days: int = Field(10, ge=0)
    max_cvar_95: float = Field(0.03, gt=0, le=1)
    min_confidence: float = Field(0.55, ge=0, le=1)
    borderline_fraction: float = Field(0.8, gt=0, le=1)
    max_price_age_days: int = Field(5, ge=0)
    approval_ttl_hours: float = Field(12, gt=0)
    approval_max_drift: float = Field(0.01, ge=0)
