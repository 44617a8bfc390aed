"""Decision quality: thesis vs outcome, calibration, regret, the value of the human, behaviour.

Definitions (prices are the instrument's own closes, forward-filled; a "day" is a row of data):

- a proposal is *due* when ``time_horizon_days`` rows of data exist after its cycle's as-of date;
  its *realised return* is close(as_of + horizon) / close(as_of) − 1, signed by side (a SELL is
  right when the price fell), so "positive" always means the proposal was right.
- *thesis vs outcome*: realised vs ``expected_upside_pct`` and ``worst_case_loss_pct``: how many
  reached the upside, how many lost more than the stated worst case.
- *calibration*: outcome = 1 when the realised return is positive; Brier score = mean((confidence −
  outcome)²); a reliability table by confidence bucket (width 0.1) with the mean confidence, the
  hit rate and the count. Per-position hit rate = share of due executed proposals that were right.
- *regret*: the counterfactual P&L (realised return × notional in base currency) of the proposals
  that were not executed, per final status (REJECTED_BY_RISK, REJECTED_BY_HUMAN, EXPIRED,
  REJECTED_AT_APPROVAL). Positive regret = money left on the table.
- *value of the human*: among proposals that awaited a human, the realised P&L of those approved vs
  the counterfactual P&L of those rejected or left to expire; human value = −(rejected P&L)
  (a rejection of a loser is worth its avoided loss).
- *behaviour*: trades per week, holding periods (days from a symbol's first buy to the sell that
  closed it), how often each risk code fired, and the override rate (share of proposals that
  awaited a human which the human approved).

Failure contract: pure functions; proposals without price, idea or as-of date are skipped (and
counted); never raises on empty inputs.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from storage.evaluation_store import ProposalFacts

EXECUTED = {"FILLED", "PARTIALLY_FILLED", "SUBMITTED"}
NOT_EXECUTED = ("REJECTED_BY_RISK", "REJECTED_BY_HUMAN", "EXPIRED", "REJECTED_AT_APPROVAL")


@dataclass(frozen=True)
class Outcome:
    """A due proposal and its realised return."""

    facts: ProposalFacts
    realised: float
    horizon: int

    @property
    def notional(self) -> float:
        """Order value in base currency."""
        return self.facts.quantity * (self.facts.price or 0.0) * (self.facts.fx_rate or 1.0)

    @property
    def pnl(self) -> float:
        """Realised (or counterfactual) P&L in base currency."""
        return self.realised * self.notional


def outcomes(proposals: Sequence[ProposalFacts], closes: pd.DataFrame) -> tuple[list[Outcome], int]:
    """Realised returns of the due proposals, and how many are not due (or not measurable) yet."""
    prices = closes.astype(float).ffill()
    dates = [d.date() for d in prices.index]
    out, pending = [], 0
    for p in proposals:
        horizon = int(idea_number(p, "time_horizon_days"))
        start = _row_on_or_before(dates, p.as_of)
        if start is None or horizon <= 0 or p.symbol not in prices.columns or start + horizon >= len(dates):
            pending += 1
            continue
        first, last = prices[p.symbol].iloc[start], prices[p.symbol].iloc[start + horizon]
        if not (math.isfinite(first) and math.isfinite(last)) or first <= 0:
            pending += 1
            continue
        move = last / first - 1
        out.append(Outcome(facts=p, realised=move if p.side.lower() == "buy" else -move, horizon=horizon))
    return out, pending


def _row_on_or_before(dates: list[date], day: date | None) -> int | None:
    if day is None:
        return None
    rows = [i for i, d in enumerate(dates) if d <= day]
    return rows[-1] if rows else None


def idea_number(facts: ProposalFacts, key: str) -> float:
    """A numeric field of the stored idea (0 when absent or not a number)."""
    value = facts.idea.get(key)
    return float(value) if isinstance(value, int | float) else 0.0


def thesis_vs_outcome(due: Sequence[Outcome]) -> dict[str, Any]:
    """How the realised returns compare with the stated upside and worst case."""
    upside = sum(1 for o in due if o.realised >= idea_number(o.facts, "expected_upside_pct"))
    breached = sum(1 for o in due if o.realised < -idea_number(o.facts, "worst_case_loss_pct"))
    return {"due": len(due), "reached_upside": upside, "worse_than_worst_case": breached,
            "mean_realised": mean([o.realised for o in due]),
            "mean_expected_upside": mean([idea_number(o.facts, "expected_upside_pct") for o in due])}


def calibration(due: Sequence[Outcome]) -> dict[str, Any]:
    """Brier score and a reliability table by confidence bucket."""
    if not due:
        return {"brier": None, "table": []}
    hits = [1.0 if o.realised > 0 else 0.0 for o in due]
    brier = sum((o.facts.confidence - h) ** 2 for o, h in zip(due, hits, strict=True)) / len(due)
    buckets: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for o, h in zip(due, hits, strict=True):
        buckets[min(int(o.facts.confidence * 10), 9)].append((o.facts.confidence, h))
    table = [{"bucket": f"{b / 10:.1f}-{(b + 1) / 10:.1f}", "confidence": mean([c for c, _ in rows]),
              "hit_rate": mean([h for _, h in rows]), "count": len(rows)} for b, rows in sorted(buckets.items())]
    return {"brier": brier, "table": table}


def regret(due: Sequence[Outcome]) -> dict[str, Any]:
    """Counterfactual P&L of the proposals not executed, per final status."""
    out: dict[str, Any] = {}
    for status in NOT_EXECUTED:
        rows = [o for o in due if o.facts.status == status]
        out[status] = {"count": len(rows), "counterfactual_pnl": round(sum(o.pnl for o in rows), 2)}
    return out


def human_value(due: Sequence[Outcome]) -> dict[str, Any]:
    """What the human let through vs what the human stopped."""
    asked = [o for o in due if o.facts.awaited_human]
    approved = [o for o in asked if o.facts.status in EXECUTED]
    stopped = [o for o in asked if o.facts.status in {"REJECTED_BY_HUMAN", "EXPIRED"}]
    return {"asked": len(asked), "approved": len(approved), "stopped": len(stopped),
            "approved_pnl": round(sum(o.pnl for o in approved), 2),
            "stopped_counterfactual_pnl": round(sum(o.pnl for o in stopped), 2),
            "human_value": round(-sum(o.pnl for o in stopped), 2),
            "approved_hit_rate": mean([1.0 if o.realised > 0 else 0.0 for o in approved]),
            "stopped_hit_rate": mean([1.0 if o.realised > 0 else 0.0 for o in stopped])}


def behaviour(proposals: Sequence[ProposalFacts], fills: Sequence[tuple[date, str, str]], codes: dict[str, int],
              days: int) -> dict[str, Any]:
    """Trades per week, holding periods, risk codes and the override rate (fills: day, symbol, side)."""
    asked = [p for p in proposals if p.awaited_human]
    approved = [p for p in asked if p.status in EXECUTED or p.status == "APPROVED"]
    holding = holding_periods(fills)
    return {"trades": len(fills), "trades_per_week": round(len(fills) / max(days / 7, 1), 3),
            "holding_days_mean": mean([float(h) for h in holding]), "closed_positions": len(holding),
            "risk_codes": dict(Counter(codes).most_common()),
            "override_rate": len(approved) / len(asked) if asked else None,
            "statuses": dict(Counter(p.status for p in proposals))}


def holding_periods(fills: Sequence[tuple[date, str, str]]) -> list[int]:
    """Days from a symbol's first buy to the sell after it (one period per round trip)."""
    opened: dict[str, date] = {}
    periods = []
    for day, symbol, side in sorted(fills):
        if side.lower() == "buy":
            opened.setdefault(symbol, day)
        elif symbol in opened:
            periods.append((day - opened.pop(symbol)).days)
    return periods


def mean(values: Sequence[float]) -> float | None:
    """The average, None when there is nothing to average."""
    return sum(values) / len(values) if values else None
