"""Per-sleeve attribution: each sleeve's return, risk and share of the desk's, allocation vs selection.

Policy: computed from the sleeves' decision days (``bot.sleeves.log.SleeveDay``, read from a
replay's log or the database), so the replay and the live desk are measured by one function.
For each sleeve:

- return: its holdings' P&L over its budget's capital, compounded day by day; Sharpe (annualised,
  ``metrics.sharpe``) and maximum drawdown (``metrics.max_drawdown``) of those day returns;
- contribution: the sum of its daily P&L over desk equity (its part of the desk's return);
- P&L in base currency, when the desk's equity by day is given (contribution × the day's equity);
- Brinson–Fachler effects against the base weights and each sleeve's equal-weight benchmark, cash
  at zero return: allocation Σ (budget − base)·(benchmark_s − benchmark_desk), selection
  Σ budget·(return_s − benchmark_s), with benchmark_desk = Σ base·benchmark_s. Arithmetic sums of
  daily effects, so they add up with the contribution, not with the compounded return.

Failure contract: none; a sleeve with no days has zeros.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from bot.evaluation.metrics import max_drawdown, sharpe, wealth
from bot.sleeves.log import SleeveDay


@dataclass(frozen=True)
class SleeveFigures:
    """One sleeve's attribution over the period."""

    sleeve: str
    days: int
    base_weight: float
    budget: float  # the last budget
    average_budget: float
    total_return: float
    sharpe: float
    max_drawdown: float
    contribution: float
    allocation_effect: float
    selection_effect: float
    pnl_base: float | None


def attribution(days: Iterable[SleeveDay], equity: Mapping[date, float] | None = None) -> list[SleeveFigures]:
    """Every sleeve's figures, in the order the sleeves first appear."""
    by_day: dict[date, list[SleeveDay]] = defaultdict(list)
    for day in days:
        by_day[day.as_of].append(day)
    allocation: dict[str, float] = defaultdict(float)
    selection: dict[str, float] = defaultdict(float)
    by_sleeve: dict[str, list[SleeveDay]] = {}
    for as_of in sorted(by_day):
        records = by_day[as_of]
        desk_benchmark = sum(r.base_weight * r.benchmark_return for r in records)
        for r in records:
            allocation[r.sleeve] += (r.budget - r.base_weight) * (r.benchmark_return - desk_benchmark)
            selection[r.sleeve] += r.budget * (r.day_return - r.benchmark_return)
            by_sleeve.setdefault(r.sleeve, []).append(r)
    return [_figures(name, records, allocation[name], selection[name], equity) for name, records in by_sleeve.items()]


def _figures(name: str, records: Sequence[SleeveDay], allocation: float, selection: float,
             equity: Mapping[date, float] | None) -> SleeveFigures:
    returns = pd.Series([r.day_return for r in records], index=pd.DatetimeIndex([r.as_of for r in records]))
    pnl = None
    if equity is not None:
        dates = sorted(equity)
        before = {d: equity[p] for p, d in itertools.pairwise(dates)}  # the previous day's equity
        pnl = sum(r.contribution * before[r.as_of] for r in records if r.as_of in before)
    return SleeveFigures(
        sleeve=name, days=len(records), base_weight=records[0].base_weight, budget=records[-1].budget,
        average_budget=sum(r.budget for r in records) / len(records),
        total_return=float(wealth(returns)[-1] - 1), sharpe=sharpe(returns),
        max_drawdown=max_drawdown(returns),
        contribution=sum(r.contribution for r in records), allocation_effect=allocation,
        selection_effect=selection, pnl_base=pnl)
