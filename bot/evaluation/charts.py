"""PNG charts of an equity curve: equity vs benchmarks, drawdown, and a calibration plot.

Policy: matplotlib's object API on an Agg canvas, imported inside each function (nothing is built at
import time, no display is needed, and pyplot's global figure manager is never loaded: a backtest
spends less starting matplotlib than drawing). Margins are fixed in inches rather than measured by
``bbox_inches="tight"``, which draws every figure twice. Each ``*_chart`` function writes one file
and returns its path.
Equity is drawn by ``equity_figure`` (also behind the Telegram P&L chart): the axis names the base
currency and separates thousands, and turns logarithmic by itself when the curves span more than
``LOG_SCALE_RANGE`` times (a long backtest's early years would otherwise be a flat line).
Failure contract: OS errors from writing propagate; empty inputs still produce a labelled chart.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from bot.evaluation.metrics import drawdown_curve

LOG_SCALE_RANGE = 4.0


# Margins in inches around the axes: the left one holds tick labels up to "10,000,000" and the axis
# name, the bottom one dates turned by ``autofmt_xdate``.
MARGINS = {"left": 1.05, "right": 0.15, "top": 0.4, "bottom": 0.75}


def _figure(size: tuple[float, float], margins: dict[str, float] = MARGINS) -> Any:
    """A figure on its own Agg canvas with one axes, placed ``margins`` inches from the edges."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = size
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=margins["left"] / width, right=1 - margins["right"] / width,
                        top=1 - margins["top"] / height, bottom=margins["bottom"] / height)
    return fig


def equity_chart(path: Path, equity: pd.Series, benchmarks: dict[str, pd.Series], title: str,
                 currency: str) -> Path:
    """Equity and the benchmark curves on one chart."""
    path.write_bytes(backtest_equity_png(equity, benchmarks, title, currency))
    return path


def backtest_equity_png(equity: pd.Series, benchmarks: dict[str, pd.Series], title: str, currency: str) -> bytes:
    """``equity_chart`` as PNG bytes (a sweep's worker renders them, its client writes them)."""
    return png(equity_figure(equity, benchmarks, title, currency))


def equity_png(equity: pd.Series, benchmarks: dict[str, pd.Series], title: str, currency: str) -> bytes:
    """The portfolio's equity snapshots (held between them) and the benchmarks as PNG bytes, for a message."""
    return png(equity_figure(equity, benchmarks, title, currency, label="portfolio", steps=True, size=(8, 4.5)))


def png(fig: Any) -> bytes:
    """A figure as PNG bytes (100 dpi)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def equity_figure(equity: pd.Series, benchmarks: dict[str, pd.Series], title: str, currency: str, *,
                  label: str = "strategy", steps: bool = False, size: tuple[float, float] = (10, 5)) -> Any:
    """The equity figure (the caller saves and closes it); ``steps`` draws sparse snapshots as held levels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig = _figure(size)
    ax = fig.subplots()
    style: dict[str, Any] = {"drawstyle": "steps-post", "marker": "o"} if steps else {}
    ax.plot(equity.index, equity.to_numpy(dtype=float), label=label, linewidth=2, **style)
    for name, series in benchmarks.items():
        ax.plot(series.index, series.to_numpy(dtype=float), label=name, linewidth=1)
    log = _wide_range([equity, *benchmarks.values()])
    if log:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 100,000 200,000 500,000 1,000,000 ...
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_title(title)
    ax.set_ylabel(f"equity ({currency}{', log scale' if log else ''})")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate(bottom=fig.subplotpars.bottom)
    return fig


def _wide_range(curves: list[pd.Series]) -> bool:
    """Whether the curves' highest value is more than ``LOG_SCALE_RANGE`` times their lowest (all positive)."""
    values = pd.concat([c.astype(float) for c in curves]) if curves else pd.Series(dtype=float)
    values = values[values.notna()]
    if values.empty or float(values.min()) <= 0:
        return False
    return float(values.max()) / float(values.min()) > LOG_SCALE_RANGE


def _thousands(value: float, _position: object) -> str:
    return f"{value:,.0f}"


def drawdown_chart(path: Path, equity: pd.Series, title: str) -> Path:
    """Drawdown from the running peak, in percent."""
    path.write_bytes(drawdown_png(equity, title))
    return path


def drawdown_png(equity: pd.Series, title: str) -> bytes:
    """``drawdown_chart`` as PNG bytes."""
    drawdown = -drawdown_curve(equity) * 100
    fig = _figure((10, 3), {**MARGINS, "left": 0.75})
    ax = fig.subplots()
    ax.fill_between(drawdown.index, drawdown.to_numpy(), 0, color="tab:red", alpha=0.4)
    ax.set_title(title)
    ax.set_ylabel("drawdown %")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate(bottom=fig.subplotpars.bottom)
    return png(fig)


def calibration_chart(path: Path, table: list[dict[str, float]], title: str) -> Path:
    """Stated confidence vs observed hit rate per bucket (the diagonal is perfect calibration)."""
    fig = _figure((5, 5), {**MARGINS, "left": 0.75, "bottom": 0.6, "right": 0.3})
    ax = fig.subplots()
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
    fig.savefig(path, dpi=100)
    return path


def allocation_chart(path: Path, budgets: pd.DataFrame, title: str) -> Path:
    """The sleeves' budgets over time, stacked (in percent of equity), cash on top."""
    shares = budgets.clip(lower=0) * 100
    fig = _figure((10, 3.5), {**MARGINS, "left": 0.75, "right": 1.6})
    ax = fig.subplots()
    columns = [shares[c].to_numpy() for c in shares.columns]
    cash = (100 - shares.sum(axis=1)).clip(lower=0).to_numpy()
    ax.stackplot(shares.index, *columns, cash, labels=[*shares.columns, "cash"], alpha=0.8)
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.set_ylabel("% of equity")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate(bottom=fig.subplotpars.bottom)
    fig.savefig(path, dpi=100)
    return path
