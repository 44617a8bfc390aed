"""A backtest's sleeves: the per-sleeve table, the allocations, ``sleeves.csv`` and the allocation chart.

Policy: the figures come from ``bot.evaluation.attribution`` over the replay's sleeve days, with the
replay's equity for P&L; the allocation history is every allocation the master allocator made, with
its reasons. A run without sleeves has no sleeve document and writes none of these files.

Failure contract: ``OSError`` from writing the files propagates (the CLI reports it in one line).
"""

from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from bot.backtest.engine import ReplayResult
from bot.evaluation import charts
from bot.evaluation.attribution import attribution

COLUMNS = ("sleeve", "base_weight", "average_budget", "budget", "total_return", "sharpe", "max_drawdown",
           "contribution", "allocation_effect", "selection_effect", "pnl_base")


def sleeve_document(result: ReplayResult) -> dict[str, Any] | None:
    """The per-sleeve figures and the allocation history of one fold (None without sleeves)."""
    log = result.sleeves
    days = log.days() if log is not None else []
    if log is None or not days:
        return None
    equity = {d: float(e) for d, e in zip(result.dates, result.equity, strict=True)}
    figures = attribution(days, equity)
    allocations = [{"as_of": str(a.as_of), "method": a.method, "regime": a.allocation.regime,
                    "cash": round(a.allocation.cash, 6), "budgets": {k: round(v, 6) for k, v in
                                                                     a.allocation.budgets.items()},
                    "reasons": a.allocation.reasons} for a in log.allocations()]
    return {"figures": [_rounded(asdict(f)) for f in figures], "allocations": allocations}


def sleeve_lines(document: dict[str, Any]) -> list[str]:
    """The per-sleeve table as plain text lines."""
    head = (f"{'sleeve':<16}{'base':>7}{'avg':>7}{'last':>7}{'return':>9}{'sharpe':>8}{'max dd':>8}"
            f"{'contrib':>9}{'alloc':>8}{'select':>8}{'P&L':>14}")
    lines = ["per sleeve (budgets as % of equity; contribution, allocation and selection effects as % of the "
             "desk's return):", head]
    for f in document["figures"]:
        pnl = "" if f["pnl_base"] is None else f"{f['pnl_base']:,.0f}"
        lines.append(f"{f['sleeve'][:15]:<16}{f['base_weight']:>7.0%}{f['average_budget']:>7.0%}{f['budget']:>7.0%}"
                     f"{f['total_return']:>9.1%}{_num(f['sharpe']):>8}{_pct(f['max_drawdown']):>8}"
                     f"{f['contribution']:>9.1%}{f['allocation_effect']:>8.1%}{f['selection_effect']:>8.1%}"
                     f"{pnl:>14}")
    last = document["allocations"][-1] if document["allocations"] else None
    if last is not None:
        lines.append(f"{len(document['allocations'])} allocation(s); the last, on {last['as_of']} ({last['regime']}): "
                     + "; ".join(f"{name} {reason}" for name, reason in last["reasons"].items()))
    return lines


def write_sleeve_files(target: Path, result: ReplayResult, suffix: str, title: str) -> list[Path]:
    """``sleeves{suffix}.csv`` (one row per sleeve and day) and ``allocation{suffix}.png``; the paths."""
    days = result.sleeves.days() if result.sleeves is not None else []
    if not days:
        return []
    path = target / f"sleeves{suffix}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "sleeve", "budget", "base_weight", "weight", "day_return", "benchmark_return",
                         "contribution"])
        for d in days:
            writer.writerow([d.as_of.isoformat(), d.sleeve, f"{d.budget:.6f}", f"{d.base_weight:.6f}",
                             f"{d.weight:.6f}", f"{d.day_return:.8f}", f"{d.benchmark_return:.8f}",
                             f"{d.contribution:.8f}"])
    budgets = pd.DataFrame([(pd.Timestamp(d.as_of), d.sleeve, d.budget) for d in days],
                           columns=["date", "sleeve", "budget"]).pivot(index="date", columns="sleeve", values="budget")
    order = list(dict.fromkeys(d.sleeve for d in days))
    chart = charts.allocation_chart(target / f"allocation{suffix}.png", budgets[order], title)
    return [path, chart]


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in values.items()}


def _num(value: float) -> str:
    return "n/a" if value != value else f"{value:.2f}"  # NaN: too few days


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{value:.1%}"
