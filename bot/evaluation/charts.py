"""PNG charts of an equity curve: equity vs benchmarks, drawdown, and a calibration plot.

Policy: matplotlib with the Agg backend, imported inside each function (nothing is built at
import time and no display is needed). Each function writes one file and returns its path.
Failure contract: OS errors from writing propagate; empty inputs still produce a labelled chart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from bot.evaluation.metrics import drawdown_curve


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def equity_chart(path: Path, equity: pd.Series, benchmarks: dict[str, pd.Series], title: str) -> Path:
    """Equity and the benchmark curves on one chart."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.plot(equity.index, equity.to_numpy(dtype=float), label="strategy", linewidth=2)
    for name, series in benchmarks.items():
        ax.plot(series.index, series.to_numpy(dtype=float), label=name, linewidth=1)
    ax.set_title(title)
    ax.set_ylabel("equity (base currency)")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def drawdown_chart(path: Path, equity: pd.Series, title: str) -> Path:
    """Drawdown from the running peak, in percent."""
    plt = _pyplot()
    drawdown = -drawdown_curve(equity) * 100
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.fill_between(drawdown.index, drawdown.to_numpy(), 0, color="tab:red", alpha=0.4)
    ax.set_title(title)
    ax.set_ylabel("drawdown %")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def calibration_chart(path: Path, table: list[dict[str, float]], title: str) -> Path:
    """Stated confidence vs observed hit rate per bucket (the diagonal is perfect calibration)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    if table:
        ax.plot([row["confidence"] for row in table], [row["hit_rate"] for row in table], marker="o",
                label="observed")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("stated confidence")
    ax.set_ylabel("share that went the right way")
    ax.set_title(title)
    ax.legend(loc="best")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
