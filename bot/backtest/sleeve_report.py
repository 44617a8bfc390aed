"""A backtest fold's sleeves: their document (``bot.evaluation.attribution``), ``sleeves.csv`` and the chart.

Policy: the figures use the replay's equity for P&L; a fold without sleeves has no document and
writes none of these files.

Failure contract: ``OSError`` from writing the files propagates (the CLI reports it in one line).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bot.backtest.engine import ReplayResult
from bot.evaluation import charts
from bot.evaluation.attribution import budget_frame, sleeve_document


def fold_sleeves(result: ReplayResult) -> dict[str, Any] | None:
    """The per-sleeve figures and the allocation history of one fold (None without sleeves)."""
    days = result.sleeves.days() if result.sleeves is not None else []
    if result.sleeves is None or not days:
        return None
    equity = {d: float(e) for d, e in zip(result.dates, result.equity, strict=True)}
    return sleeve_document(days, result.sleeves.allocations(), equity)


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
    return [path, charts.allocation_chart(target / f"allocation{suffix}.png", budget_frame(days), title)]
