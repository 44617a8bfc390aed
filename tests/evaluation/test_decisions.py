"""Decision quality from stored proposals: outcomes, calibration, regret, the human, behaviour."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from bot.evaluation import decisions
from storage.evaluation_store import ProposalFacts


def _facts(pid: str, side: str, status: str, confidence: float, *, day: date = date(2024, 1, 2), human: bool = False,
           symbol: str = "AAA") -> ProposalFacts:
    idea = {"time_horizon_days": 2, "expected_upside_pct": 0.05, "worst_case_loss_pct": 0.08}
    return ProposalFacts(id=pid, as_of=day, symbol=symbol, side=side, quantity=10.0, price=100.0, fx_rate=1.0,
                         confidence=confidence, status=status, verdict_level=None, idea=idea, decided_by=None,
                         awaited_human=human)


CLOSES = pd.DataFrame({"AAA": [100.0, 104.0, 110.0, 90.0]}, index=pd.bdate_range("2024-01-02", periods=4))


def test_realised_returns_are_signed_by_side_and_need_the_horizon_to_pass() -> None:
    buy, sell = _facts("b", "buy", "FILLED", 0.9), _facts("s", "sell", "FILLED", 0.6)
    late = _facts("late", "buy", "FILLED", 0.7, day=date(2024, 1, 4))
    due, pending = decisions.outcomes([buy, sell, late], CLOSES)
    assert [o.facts.id for o in due] == ["b", "s"] and pending == 1
    assert due[0].realised == pytest.approx(0.10) and due[1].realised == pytest.approx(-0.10)
    assert due[0].pnl == pytest.approx(100.0)
    thesis = decisions.thesis_vs_outcome(due)
    assert thesis["reached_upside"] == 1 and thesis["worse_than_worst_case"] == 1


def test_brier_score_and_reliability_table() -> None:
    due, _ = decisions.outcomes([_facts("b", "buy", "FILLED", 0.9), _facts("s", "sell", "FILLED", 0.6)], CLOSES)
    result = decisions.calibration(due)
    assert result["brier"] == pytest.approx(((0.9 - 1) ** 2 + (0.6 - 0) ** 2) / 2)
    assert [row["bucket"] for row in result["table"]] == ["0.6-0.7", "0.9-1.0"]
    assert [row["hit_rate"] for row in result["table"]] == [0.0, 1.0]


def test_regret_and_the_value_of_the_human() -> None:
    proposals = [_facts("r", "buy", "REJECTED_BY_RISK", 0.7), _facts("h", "sell", "REJECTED_BY_HUMAN", 0.6, human=True),
                 _facts("a", "buy", "FILLED", 0.8, human=True)]
    due, _ = decisions.outcomes(proposals, CLOSES)
    regret = decisions.regret(due)
    assert regret["REJECTED_BY_RISK"] == {"count": 1, "counterfactual_pnl": 100.0}
    human = decisions.human_value(due)
    assert human["approved_pnl"] == 100.0 and human["stopped_counterfactual_pnl"] == -100.0
    assert human["human_value"] == 100.0  # stopping a losing sell saved 100


def test_behaviour_counts_trades_holding_periods_codes_and_overrides() -> None:
    fills = [(date(2024, 1, 2), "AAA", "buy"), (date(2024, 1, 12), "AAA", "sell"), (date(2024, 1, 3), "BBB", "buy")]
    proposals = [_facts("a", "buy", "FILLED", 0.8, human=True), _facts("h", "buy", "EXPIRED", 0.6, human=True)]
    result = decisions.behaviour(proposals, fills, {"LOW_CONFIDENCE": 2}, days=14)
    assert result["trades"] == 3 and result["trades_per_week"] == 1.5
    assert result["holding_days_mean"] == 10 and result["closed_positions"] == 1
    assert result["override_rate"] == 0.5 and result["risk_codes"] == {"LOW_CONFIDENCE": 2}
