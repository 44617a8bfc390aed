"""The equity chart: its axis names the base currency, separates thousands, and turns logarithmic by itself
when the curves span more than four times (a long backtest); the Telegram P&L chart is drawn by the same code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.evaluation import charts

DAYS = pd.bdate_range("2016-01-04", periods=300)


def _curve(start: float, end: float) -> pd.Series:
    return pd.Series(np.geomspace(start, end, len(DAYS)), index=DAYS)


def _axis(figure: Any) -> Any:
    figure.canvas.draw()  # ticks are placed and labelled when drawn
    return figure.axes[0]


def test_the_axis_names_the_currency_and_separates_thousands() -> None:
    figure = charts.equity_figure(_curve(100_000, 130_000), {"SPY": _curve(100_000, 120_000)}, "t", "EUR")
    axis = _axis(figure)
    labels = [tick.get_text() for tick in axis.get_yticklabels() if tick.get_text()]
    assert axis.get_ylabel() == "equity (EUR)" and axis.get_yscale() == "linear"
    assert labels and all("," in label for label in labels), labels


def test_a_curve_that_grows_more_than_four_times_is_drawn_on_a_log_scale() -> None:
    figure = charts.equity_figure(_curve(100_000, 100_000), {"SPY": _curve(100_000, 900_000)}, "t", "USD")
    axis = _axis(figure)
    labels = [tick.get_text() for tick in axis.get_yticklabels() if tick.get_text()]
    assert axis.get_yscale() == "log" and axis.get_ylabel() == "equity (USD, log scale)"
    assert "200,000" in labels and "500,000" in labels, labels


def test_the_files_and_the_message_chart_are_pngs(tmp_path: Path) -> None:
    path = charts.equity_chart(tmp_path / "equity.png", _curve(100_000, 110_000), {}, "t", "EUR")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert charts.equity_png(_curve(100_000, 110_000), {}, "t", "EUR")[:8] == b"\x89PNG\r\n\x1a\n"


def test_charts_never_load_pyplot(tmp_path: Path) -> None:
    """pyplot's global figure manager costs a backtest more to import than its charts take to draw."""
    import subprocess
    import sys

    script = ("import sys, numpy as np, pandas as pd\n"
              "from pathlib import Path\n"
              "from bot.evaluation import charts\n"
              "days = pd.bdate_range('2016-01-04', periods=50)\n"
              "curve = pd.Series(np.linspace(100_000, 120_000, 50), index=days)\n"
              f"charts.equity_chart(Path({str(tmp_path / 'e.png')!r}), curve, {{'SPY': curve}}, 't', 'EUR')\n"
              f"charts.drawdown_chart(Path({str(tmp_path / 'd.png')!r}), curve, 't')\n"
              "charts.equity_png(curve, {}, 't', 'EUR')\n"
              "print('matplotlib.pyplot' in sys.modules)\n")
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "False"
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"
