"""Risk limits: the ``[risk]`` table of the config file (environment ``PAPERDESK_RISK__<KEY>``).

Defaults follow DESIGN.md. Every limit is validated: a negative, non-finite (``inf``, ``nan``) or
out-of-range value is refused with a message naming the key, so a typo can never silently disable a
rule and no limit can overflow the arithmetic of a cycle (an expiry ``now + approval_ttl_hours``,
a day count). Fractions of equity are within [0, 1]; counts and day spans are bounded integers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_DAYS = 3650  # ten years: a longer period or cooldown is a typo


class RiskLimits(BaseModel):
    """The limits the engine enforces; fractions are of equity unless stated."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    max_position_weight: float = Field(0.25, gt=0, le=1)
    max_asset_class_weight: float = Field(0.40, gt=0, le=1)
    max_sector_weight: float = Field(0.40, gt=0, le=1)
    min_cash_weight: float = Field(0.10, ge=0, lt=1)
    max_drawdown: float = Field(0.15, gt=0, le=1)
    intraday_drop_halt: float = Field(0.03, gt=0, le=1)
    max_volatility: float = Field(0.60, gt=0, le=10)
    max_correlation: float = Field(0.85, gt=0, le=1)
    large_holding_weight: float = Field(0.05, ge=0, le=1)
    max_adv_fraction: float = Field(0.01, gt=0, le=1)
    max_trades_per_day: int = Field(10, ge=0, le=1_000_000)
    max_trades_per_week: int = Field(30, ge=0, le=10_000_000)
    min_holding_days: int = Field(5, ge=0, le=MAX_DAYS)
    reentry_cooldown_days: int = Field(10, ge=0, le=MAX_DAYS)
    max_cvar_95: float = Field(0.03, gt=0, le=1)
    min_confidence: float = Field(0.55, ge=0, le=1)
    borderline_fraction: float = Field(0.8, gt=0, le=1)
    max_price_age_days: int = Field(5, ge=0, le=MAX_DAYS)
    approval_ttl_hours: float = Field(12, gt=0, le=8760)
    approval_max_drift: float = Field(0.01, ge=0, le=1)

    def tightened(self, overrides: Mapping[str, Any], owner: str) -> RiskLimits:
        """These limits with ``overrides`` that may only tighten them (a sleeve's ``[risk]``).

        ``ValueError`` (one line naming ``owner`` and the key) for an unknown key, a limit of the whole
        desk (the circuit breaker, approvals) or a value looser than the desk's.
        """
        for key in overrides:
            if key in DESK_ONLY:
                raise ValueError(f"{owner}: {key} applies to the whole desk, not to one part of it")
            if key not in type(self).model_fields:
                raise ValueError(f"{owner}: unknown risk limit {key!r}")
        merged = self.model_validate({**self.model_dump(), **overrides})
        for key in overrides:
            mine, desk = getattr(merged, key), getattr(self, key)
            looser = mine < desk if key in RAISED_TO_TIGHTEN else mine > desk
            if looser:
                raise ValueError(f"{owner}: {key} = {mine} is looser than the desk's {desk}; "
                                 "a sleeve's limits may only tighten")
        return merged


# Limits that tighten when raised (the rest tighten when lowered).
RAISED_TO_TIGHTEN = frozenset({"min_cash_weight", "min_holding_days", "reentry_cooldown_days", "min_confidence"})
# Limits of the desk as a whole: the circuit breaker and the approval window.
DESK_ONLY = frozenset({"intraday_drop_halt", "approval_ttl_hours", "approval_max_drift"})


@functools.lru_cache(maxsize=32)
def limit_values(limits: RiskLimits) -> tuple[tuple[str, float], ...]:
    """Every limit as a float, as a policy reads them (frozen limits: dumped once, not every replayed day)."""
    return tuple((name, float(value)) for name, value in limits.model_dump().items())
