"""A CSV's ``low`` column reaches the replay: read on the prices' scale, it triggers the stop-losses.

End to end through ``paperdesk backtest --policy llm``: the model asks for a stop, a day's low
falls through it, and the summary (JSON, summary.txt) counts the stop-loss sell.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agent.market.csv_dir import CsvMarketData
from agent.universe import load_universe
from tests.backtest.test_cli_backtest import run
from tests.fakes.llm_answers import decision, idea
from tests.fakes.openai_server import FakeOpenAI, answer

DAYS = 120
DIP = 100  # the row whose low falls 12% below the open


def write_bars(directory: Path) -> Path:
    """SPY and TLT with opens and lows (adjusted closes at half the close: a 2:1 adjustment)."""
    directory.mkdir(parents=True, exist_ok=True)
    dates = pd.bdate_range("2024-01-01", periods=DAYS)
    rng = np.random.default_rng(7)
    for symbol in ("SPY", "TLT"):
        close = np.round(200 * np.cumprod(1 + rng.normal(0, 0.004, DAYS)), 4)
        low = np.round(close * 0.995, 4)
        if symbol == "SPY":
            low[DIP] = round(close[DIP] * 0.88, 4)
        frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "open": close, "low": low, "close": close,
                              "adj_close": close / 2, "volume": 5_000_000})
        frame.to_csv(directory / f"{symbol}.csv", index=False)
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": 1.1}).to_csv(directory / "EURUSD=X.csv", index=False)
    return directory


def test_lows_are_read_on_the_adjusted_scale(tmp_path: Path) -> None:
    data = write_bars(tmp_path / "data")
    spy = [i for i in load_universe("seed").instruments if i.symbol == "SPY"]
    history = CsvMarketData(data, base_currency="EUR").history(spy, date(2024, 12, 31), 1000)
    raw = pd.read_csv(data / "SPY.csv")
    assert history.low is not None
    np.testing.assert_allclose(history.low["SPY"].to_numpy(), (raw["low"] / 2).to_numpy())
    assert history.low["SPY"].iloc[DIP] < 0.9 * history.close["SPY"].iloc[DIP]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    yield fake
    fake.stop()


def test_a_low_through_the_models_stop_is_a_counted_stop_loss_sell(tmp_path: Path, server: FakeOpenAI) -> None:
    data = write_bars(tmp_path / "data")
    server.default = answer(decision(idea("SPY", 0.2, stop_loss_pct=0.08)))
    dip = pd.bdate_range("2024-01-01", periods=DAYS)[DIP].date()
    assert date(2024, 5, 1) < dip < date(2024, 6, 14)
    out = tmp_path / "out"
    code, stdout, stderr = run("backtest", "--start", "2024-05-01", "--end", "2024-06-14", "--data", f"csv:{data}",
                               "--policy", "llm", "--out", str(out), "--json", "--breaker-days", "3",
                               "--skip-missing")
    assert code == 0, stderr
    document = json.loads(stdout)
    assert document["counts"]["stop_loss_sells"] == 1
    assert (document["counts"]["breaker_days"], document["breaker_days"]) == (0, 3)
    summary = (out / "summary.txt").read_text()
    assert "stop-loss sells 1, circuit-breaker days 0 (0 trip(s), REDUCING 3 day(s) each)" in summary
