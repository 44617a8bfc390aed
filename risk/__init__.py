"""Deterministic risk engine: limits, rules, ``classify`` and portfolio risk measures.

Pure and synchronous: no I/O, no clock reads, no logging. Importing this package only defines
names; the caller builds a ``RiskContext`` and persists the ``RiskVerdict``.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {"RULES": "rules", "Rule": "rules", "RiskLimits": "limits",
          **dict.fromkeys(("classify", "classify_batch", "project"), "engine"),
          **dict.fromkeys(("drawdown", "historical_cvar", "max_drawdown", "portfolio_cvar", "portfolio_returns"),
                          "measures"),
          **dict.fromkeys(("Clamp", "Hit", "Holding", "Level", "MarketFacts", "RiskContext", "RiskVerdict",
                           "TradeProposal", "TradingState"), "models")}


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use: ``import risk.limits`` must not load numpy and pandas."""
    if name not in _HOMES:
        raise AttributeError(f"module 'risk' has no attribute {name!r}")
    return getattr(import_module(f"risk.{_HOMES[name]}"), name)
