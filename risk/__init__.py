"""Deterministic risk engine: limits, rules, ``classify`` and portfolio risk measures.

Pure and synchronous: no I/O, no clock reads, no logging. Importing this package only defines
names; the caller builds a ``RiskContext`` and persists the ``RiskVerdict``.
"""

from risk.engine import classify, classify_batch, project
from risk.limits import RiskLimits
from risk.measures import drawdown, historical_cvar, max_drawdown, portfolio_cvar, portfolio_returns
from risk.models import (
    Clamp,
    Hit,
    Holding,
    Level,
    MarketFacts,
    RiskContext,
    RiskVerdict,
    TradeProposal,
    TradingState,
)
from risk.rules import RULES, Rule

__all__ = [
    "RULES",
    "Clamp",
    "Hit",
    "Holding",
    "Level",
    "MarketFacts",
    "RiskContext",
    "RiskLimits",
    "RiskVerdict",
    "Rule",
    "TradeProposal",
    "TradingState",
    "classify",
    "classify_batch",
    "drawdown",
    "historical_cvar",
    "max_drawdown",
    "portfolio_cvar",
    "portfolio_returns",
    "project",
]
