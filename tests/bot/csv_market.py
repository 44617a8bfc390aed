"""A small historical market on disk for CLI tests: four Paris stocks and SPY (with EUR/USD), 2023-2024.

The files end on 2024-12-31, long before the tests' wall clock, so a desk on them is a "historical"
CSV desk, like one on ``../shared/data/universe`` (which the tests never read).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LAST_DAY = "2024-12-31"
UNIVERSE = """# base_currency: EUR
symbol,name,asset_class,sector,currency,exchange,fractional,data_symbol,price_scale
SPY,S&P 500 ETF,us_equity,us_large_cap,USD,ARCA,true,,1
AAA.PA,A,eu_equity,industrials,EUR,XPAR,false,,1
BBB.PA,B,eu_equity,financials,EUR,XPAR,false,,1
CCC.PA,C,eu_equity,luxury,EUR,XPAR,false,,1
DDD.PA,D,eu_equity,energy,EUR,XPAR,false,,1
"""


def write_market(root: Path) -> dict[str, str]:
    """Write the universe and one price file per series under ``root``; the environment that selects them."""
    data = root / "prices"
    data.mkdir(parents=True)
    rng = np.random.default_rng(11)
    days = pd.bdate_range("2023-01-02", LAST_DAY)
    for k, symbol in enumerate(("SPY", "AAA.PA", "BBB.PA", "CCC.PA", "DDD.PA")):
        close = (40 + 20 * k) * np.cumprod(1 + rng.normal(0.0008, 0.009, len(days)))
        frame = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "open": (close * 0.998).round(4),
                              "close": close.round(4), "volume": 3_000_000})
        frame.to_csv(data / f"{symbol}.csv", index=False)
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": 1.08}).to_csv(data / "EURUSD=X.csv", index=False)
    universe = root / "universe.csv"
    universe.write_text(UNIVERSE, encoding="utf-8")
    return {"PAPERDESK_DATA": f"csv:{data}", "PAPERDESK_UNIVERSE": str(universe)}


def close_on(env: dict[str, str], symbol: str, day: str) -> float:
    """The close of ``symbol`` on ``day`` as written in its file."""
    frame = pd.read_csv(Path(env["PAPERDESK_DATA"].removeprefix("csv:")) / f"{symbol}.csv")
    return float(frame.loc[frame["date"] == day, "close"].iloc[0])
