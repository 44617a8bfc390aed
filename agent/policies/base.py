"""The policy port: a context in, a ``PolicyDecision`` out, or ``PolicyAbstained`` with a reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Protocol

from pydantic import Field

from agent.indicators import IndicatorSet
from agent.schema import PolicyDecision
from broker.models import Instrument


class PolicyAbstained(Exception):
    """The policy gives no decision this cycle; the desk records the reason as an alert."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DroppedIdea:
    """A proposal screened out before the risk engine, with a stable code."""

    symbol: str
    code: str
    detail: str


class ScreenedDecision(PolicyDecision):
    """A decision whose ideas passed a validation gate; ``dropped`` lists those that did not."""

    dropped: list[DroppedIdea] = Field(default_factory=list)


@dataclass(frozen=True)
class HoldingView:
    """What a policy knows about one position."""

    symbol: str
    weight: float
    unrealized_pnl_pct: float
    held_days: int | None = None


@dataclass(frozen=True)
class TailRisk:
    """The day's tail-risk figures, measured by the desk (which may read ``risk/``) for the prompt."""

    instrument_cvar: dict[str, float] = field(default_factory=dict)  # 1-day historical CVaR 95%, a positive loss
    portfolio_cvar: float | None = None  # of the current holdings; None without a returns history
    holding_max_correlation: dict[str, tuple[str, float]] = field(default_factory=dict)  # holding -> (other, corr)


@dataclass(frozen=True)
class PolicyContext:
    """Everything a policy may look at; built by the desk, read-only.

    ``tail_risk`` is measured on first read (``tail_risk_source``), so a policy that never reads it
    (the rules policy, in every replayed day) never pays for it.
    """

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
    recent_decisions: list[str] = field(default_factory=list)
    limits: dict[str, float] = field(default_factory=dict)
    cycle_id: str | None = None
    sleeve: str | None = None  # the sleeve deciding (``bot.sleeves.policy``); None for the whole desk
    instructions: str = ""  # the sleeve's addendum to the system prompt (its mandate), from the config
    tail_risk_source: Callable[[], TailRisk] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def tail_risk(self) -> TailRisk:
        """CVaR per instrument, the portfolio's CVaR and each holding's closest holding (empty when unmeasured)."""
        return self.tail_risk_source() if self.tail_risk_source is not None else TailRisk()


class Policy(Protocol):
    """Decides target weights."""

    name: str

    async def decide(self, context: PolicyContext) -> PolicyDecision:
        """One decision for the cycle."""
        ...
