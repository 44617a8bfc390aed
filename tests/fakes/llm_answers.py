"""Policy documents a fake model can answer with (valid and otherwise)."""

from __future__ import annotations

from typing import Any


def idea(symbol: str, weight: float, action: str = "BUY", confidence: float = 0.8, **extra: Any) -> dict[str, Any]:
    """One complete proposal."""
    return {"symbol": symbol, "action": action, "target_weight": weight, "confidence": confidence,
            "thesis": f"{symbol}: trend intact, CVaR small for the upside", "expected_upside_pct": 0.05,
            "worst_case_loss_pct": 0.04, "time_horizon_days": 20, "stop_loss_pct": 0.06,
            "risk_factors": ["rates"], "catalysts": ["earnings"], "exit_triggers": ["close below SMA200"], **extra}


def decision(*ideas: dict[str, Any], view: str = "Calm markets; modest risk.") -> dict[str, Any]:
    """A whole answer."""
    return {"market_view": view, "proposals": list(ideas)}


def good() -> dict[str, Any]:
    """Two buys the risk engine accepts on the scenario day."""
    return decision(idea("SPY", 0.10), idea("GLD", 0.05))
