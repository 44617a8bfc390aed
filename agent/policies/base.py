"""The policy port: a context in, a ``PolicyDecision`` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from agent.indicators import IndicatorSet
from agent.schema import PolicyDecision
from broker.models import Instrument


@dataclass(frozen=True)
class HoldingView:
    """What a policy knows about one position."""

    symbol: str
    weight: float
    unrealized_pnl_pct: float
    held_days: int | None = None


@dataclass(frozen=True)
class PolicyContext:
    """Everything a policy may look at; built by the desk, read-only."""

    as_of: date
    instruments: dict[str, Instrument]
    indicators: IndicatorSet
    equity: float
    cash_weight: float
    holdings: dict[str, HoldingView] = field(default_factory=dict)
    drawdown: float = 0.0
    max_position_weight: float = 0.25
    min_cash_weight: float = 0.10
    memories: list[str] = field(default_factory=list)


class Policy(Protocol):
    """Decides target weights."""

    name: str

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """One decision for the cycle."""
        ...
