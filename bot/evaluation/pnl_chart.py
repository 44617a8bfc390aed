"""The Telegram P&L chart as PNG bytes, drawn by ``bot.evaluation.charts`` (matplotlib loads only then).

The P&L chart shows the portfolio's equity against buy-and-hold of SPY and of the CAC 40 (the
seed universe's CAC.PA, priced from ^FCHI), both converted to the base currency and scaled to the
portfolio's starting equity on its first day. Synthetic data is labelled SYNTHETIC in the title.
Returns None when there is nothing to draw (no equity history or no market data yet).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from bot.desk.desk import Desk
from bot.desk.results import PnlView
from bot.evaluation.charts import equity_png

BENCHMARKS = {"SPY": "SPY buy-and-hold", "CAC.PA": "CAC 40 buy-and-hold"}


def benchmark_curves(desk: Desk, start: date, start_equity: float) -> dict[str, pd.Series]:
    """Base-currency buy-and-hold curves from ``start``, scaled to ``start_equity``."""
    snapshot = desk.market.snapshot or desk.snapshot()
    history = snapshot.history
    in_base = history.close * history.fx_by_symbol()
    curves: dict[str, pd.Series] = {}
    for symbol, label in BENCHMARKS.items():
        if symbol not in in_base.columns:
            continue
        series = in_base[symbol].dropna()
        series = series[series.index >= pd.Timestamp(start)]
        if len(series) >= 1 and float(series.iloc[0]) > 0:
            curves[label] = series / float(series.iloc[0]) * start_equity
    return curves


def equity_chart(desk: Desk, view: PnlView) -> bytes | None:
    """PNG of equity against SPY and CAC 40 buy-and-hold, or None when there is no history."""
    if not view.series:
        return None
    equity = pd.Series([float(p.equity) for p in view.series],
                       index=pd.to_datetime([p.as_of for p in view.series])).groupby(level=0).last()
    start_equity = float(view.start_equity)
    curves = benchmark_curves(desk, equity.index[0].date(), start_equity)
    synthetic = desk.market.snapshot is not None and desk.market.snapshot.history.synthetic
    return _draw(equity, curves, view.base_currency, synthetic)


def _draw(equity: pd.Series, curves: dict[str, pd.Series], currency: str, synthetic: bool) -> bytes:
    title = "Equity vs buy-and-hold" + (" — SYNTHETIC DATA, not real prices" if synthetic else "")
    return equity_png(equity, curves, title, currency)
