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

``sleeve_document`` is the figures and the allocation history as one JSON-ready document (a backtest
fold's, the live report's, the CLI's and Telegram's), ``sleeve_lines`` its plain-text table, and
``budget_frame`` the budgets by day for the stacked allocation chart.

Failure contract: none; a sleeve with no days is not listed.
"""

from __future__ import annotations

import itertools
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import pandas as pd

from bot.evaluation.metrics import max_drawdown, sharpe, wealth
from bot.sleeves.log import SleeveDay, StoredAllocation

WIDTH = 80  # the terminal the tables are written for


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


def sleeve_document(days: Sequence[SleeveDay], allocations: Sequence[StoredAllocation],
                    equity: Mapping[date, float] | None = None) -> dict[str, Any]:
    """The per-sleeve figures and the allocation history, JSON-ready."""
    figures = attribution(days, equity)
    history = [{"as_of": str(a.as_of), "method": a.method, "regime": a.allocation.regime,
                "cash": round(a.allocation.cash, 6),
                "budgets": {k: round(v, 6) for k, v in a.allocation.budgets.items()},
                "reasons": a.allocation.reasons} for a in allocations]
    return {"figures": [_rounded(asdict(f)) for f in figures], "allocations": history}


def sleeve_lines(document: Mapping[str, Any]) -> list[str]:
    """The per-sleeve table as plain text lines of at most 80 columns, then the last allocation's reasons."""
    head = (f"{'sleeve':<12}{'base':>5}{'avg':>5}{'last':>5}{'return':>8}{'sharpe':>7}{'max dd':>7}"
            f"{'contrib':>8}{'alloc':>7}{'select':>7}{'P&L':>9}")
    lines = ["per sleeve (budgets: % of equity; contrib/alloc/select: % of the desk's return):", head]
    for f in document["figures"]:
        pnl = "" if f["pnl_base"] is None else _money(f["pnl_base"])
        lines.append(f"{f['sleeve'][:11]:<12}{f['base_weight']:>5.0%}{f['average_budget']:>5.0%}{f['budget']:>5.0%}"
                     f"{f['total_return']:>8.1%}{_shown(f['sharpe'], '.2f'):>7}{_shown(f['max_drawdown'], '.1%'):>7}"
                     f"{f['contribution']:>8.1%}{f['allocation_effect']:>7.1%}{f['selection_effect']:>7.1%}"
                     f"{pnl:>9}")
    last = document["allocations"][-1] if document["allocations"] else None
    if last is not None:
        lines.append(f"{len(document['allocations'])} allocation(s); the last, on {last['as_of']} ({last['regime']}, "
                     f"cash {last['cash']:.0%}):")
        for name, reason in last["reasons"].items():
            lines += textwrap.wrap(f"{name}: {reason}", WIDTH, initial_indent="  ", subsequent_indent="    ")
    return lines


def budget_frame(days: Sequence[SleeveDay]) -> pd.DataFrame:
    """Each sleeve's budget by day (columns in the sleeves' order), for ``charts.allocation_chart``."""
    frame = pd.DataFrame([(pd.Timestamp(d.as_of), d.sleeve, d.budget) for d in days],
                         columns=["date", "sleeve", "budget"]).pivot(index="date", columns="sleeve", values="budget")
    return frame[list(dict.fromkeys(d.sleeve for d in days))]


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in values.items()}


def _money(value: float) -> str:
    """A P&L in at most 8 characters: whole units below a million, else millions with one decimal."""
    return f"{value:,.0f}" if abs(value) < 1e6 else f"{value / 1e6:,.1f}M"


def _shown(value: float, pattern: str) -> str:
    return "n/a" if value != value else format(value, pattern)  # NaN: too few days
