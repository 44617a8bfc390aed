"""The inputs ``backtest_speed.py`` gives both tools: the shared data, a seed price panel, an S&P 500 universe.

Policy: paperdesk reads the per-symbol CSVs itself (that is part of what is timed); backtrader
reads one wide panel of the same base-currency adjusted closes: for the seed universe the panel is
built here, untimed, by paperdesk's own CSV provider (``base_prices``: adjusted closes, scaled,
FX-converted to EUR, forward-filled), so both tools trade on the same numbers; for the S&P 500 it
is the shared panel file itself. The S&P 500 universe file gives every ticker the asset class
``us_equity`` and one sector (the panel carries no sectors), so the default 40% asset-class and
sector limits bind, as they would for any user with that file.

``llm_answers`` are the daily documents the fake OpenAI-compatible server answers with.

Failure contract: ``SystemExit`` with a one-line message when the shared data is missing.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
UNIVERSE_HEADER = "symbol,name,asset_class,sector,currency,exchange,fractional,data_symbol,price_scale"


def shared_dir() -> Path:
    """The repository's sibling ``shared`` or ``/work/shared``, whichever holds the data."""
    for candidate in (ROOT.parent / "shared", Path("/work/shared")):
        if (candidate / "data" / "universe").is_dir() and (candidate / "data" / "sp500").is_dir():
            return candidate
    raise SystemExit(f"shared data not found: expected data/universe and data/sp500 under {ROOT.parent / 'shared'} "
                     f"or /work/shared")


def seed_panel(data_dir: Path, start: date, end: date, target: Path) -> int:
    """Write the seed universe's base-currency closes over [start, end] as a wide CSV; return the days."""
    from agent.market import make_market_data
    from agent.universe import load_universe
    from bot.backtest.run import ALL_ROWS
    from bot.evaluation.benchmarks import base_prices

    universe = load_universe("seed")
    provider = make_market_data(f"csv:{data_dir}", base_currency=universe.base_currency)
    prices = base_prices(provider.history(universe.instruments, end, ALL_ROWS))
    prices = prices.loc[str(start):str(end)]
    prices.to_csv(target, index_label="date")
    return len(prices)


def sp500_universe(panel: Path, target: Path) -> tuple[Path, Path, int]:
    """Write a universe file and a ``date,close`` CSV per ticker of the panel; return both paths and the count."""
    data_dir = target / "sp500_csv"
    data_dir.mkdir(parents=True, exist_ok=True)
    with panel.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    tickers = header[1:]
    for k, ticker in enumerate(tickers, start=1):
        lines = ["date,close", *(f"{row[0]},{row[k]}" for row in body if row[k])]
        (data_dir / f"{ticker}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    universe = target / "sp500_universe.csv"
    entries = [f"{t},{t},us_equity,us_large_cap,USD,NYSE,true,,1" for t in tickers]
    universe.write_text("\n".join(["# base_currency: USD", UNIVERSE_HEADER, *entries]) + "\n", encoding="utf-8")
    return universe, data_dir, len(tickers)


def llm_answers(count: int) -> list[dict[str, Any]]:
    """``count`` daily policy documents for the fake LLM, varied so that the replay has trades to reproduce."""
    from tests.fakes.llm_answers import decision, idea

    return [decision(idea("SPY", round(0.05 + 0.01 * (k % 10), 2)),
                     idea("TLT", 0.10 if k % 2 else 0.15, action="BUY" if k % 2 == 0 else "SELL"),
                     idea("GLD", 0.05))
            for k in range(count)]
