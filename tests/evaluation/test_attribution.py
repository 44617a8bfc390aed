"""Per-sleeve attribution against hand computations: return, contribution, P&L, allocation and selection."""

from __future__ import annotations

from datetime import date

import pytest

from bot.evaluation.attribution import attribution, sleeve_document, sleeve_lines
from bot.sleeves.bounds import Allocation
from bot.sleeves.log import SleeveDay, StoredAllocation

D1, D2 = date(2024, 1, 2), date(2024, 1, 3)


def day(as_of: date, sleeve: str, budget: float, base: float, ret: float, bench: float, contrib: float) -> SleeveDay:
    return SleeveDay(as_of=as_of, sleeve=sleeve, budget=budget, base_weight=base, weight=budget, day_return=ret,
                     benchmark_return=bench, contribution=contrib)


DAYS = [day(D1, "a", 0.6, 0.5, 0.02, 0.01, 0.012), day(D1, "b", 0.3, 0.4, -0.01, 0.00, -0.003),
        day(D2, "a", 0.6, 0.5, -0.01, -0.02, -0.006), day(D2, "b", 0.3, 0.4, 0.03, 0.01, 0.009)]


def test_the_figures_are_the_hand_computed_ones() -> None:
    a, b = attribution(DAYS, {date(2024, 1, 1): 100_000.0, D1: 101_000.0, D2: 101_500.0})
    # Desk benchmark = Σ base × benchmark: day 1 0.5·0.01 + 0.4·0 = 0.005; day 2 0.5·(−0.02) + 0.4·0.01 = −0.006.
    assert a.allocation_effect == pytest.approx(0.1 * (0.01 - 0.005) + 0.1 * (-0.02 + 0.006))
    assert b.allocation_effect == pytest.approx(-0.1 * (0.0 - 0.005) - 0.1 * (0.01 + 0.006))
    assert a.selection_effect == pytest.approx(0.6 * (0.02 - 0.01) + 0.6 * (-0.01 + 0.02))
    assert b.selection_effect == pytest.approx(0.3 * (-0.01 - 0.0) + 0.3 * (0.03 - 0.01))
    assert a.total_return == pytest.approx(1.02 * 0.99 - 1) and b.total_return == pytest.approx(0.99 * 1.03 - 1)
    assert a.contribution == pytest.approx(0.006) and b.contribution == pytest.approx(0.006)
    # P&L: each day's contribution × the equity of the day before.
    assert a.pnl_base == pytest.approx(0.012 * 100_000 - 0.006 * 101_000)
    assert (a.days, a.budget, a.base_weight) == (2, 0.6, 0.5)
    assert a.average_budget == pytest.approx(0.6)


def test_a_sleeve_without_equity_has_no_pnl_and_the_table_lists_each_sleeve() -> None:
    document = sleeve_document(DAYS, [])
    assert [f["sleeve"] for f in document["figures"]] == ["a", "b"] and document["figures"][0]["pnl_base"] is None
    lines = sleeve_lines(document)
    assert lines[1].split()[:3] == ["sleeve", "base", "avg"] and lines[2].startswith("a ") and lines[3].startswith("b ")


def test_the_table_and_the_reasons_read_at_80_columns() -> None:
    reason = "raised 40.0% → 45.0%: Sharpe 1.41 vs mean 0.13, momentum -1.1% vs mean +0.2%; capped by the 5.0% step"
    allocation = StoredAllocation(as_of=D2, method="rules", allocation=Allocation(
        budgets={"a_very_long_sleeve_name": 0.45}, cash=0.55, regime="balanced", inputs={},
        reasons={"a_very_long_sleeve_name": reason}))
    lines = sleeve_lines(sleeve_document(DAYS, [allocation], {D1: 1e9, D2: 1.2e9}))
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert lines[-3].startswith("1 allocation(s); the last, on 2024-01-03 (balanced, cash 55%)")
    assert " ".join(line.strip() for line in lines[-2:]) == f"a_very_long_sleeve_name: {reason}"
