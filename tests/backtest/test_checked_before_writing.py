"""One line, before any work or any write: a bad ``--out``, Alpaca without keys, yfinance offline."""

from __future__ import annotations

import logging
import warnings
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from agent.market.base import MarketDataError
from agent.market.yfinance_provider import yfinance_download
from bot.cli.app import app

runner = CliRunner()
BACKTEST = ("backtest", "--start", "2023-01-03", "--end", "2023-03-01", "--data", "synthetic")


@pytest.mark.parametrize("where", ["file", "below-a-file", "proc"])
def test_an_unwritable_out_is_refused_before_the_run_and_writes_nothing(
        where: str, tmp_path: Path, isolated_env: Path) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("not a directory")
    target = {"file": a_file, "below-a-file": a_file / "sub", "proc": Path("/proc/paperdesk-out")}[where]
    if where == "proc" and not Path("/proc").is_dir():
        pytest.skip("no /proc on this system")

    result = runner.invoke(app, [*BACKTEST, "--out", str(target)])

    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: cannot write the output directory {target}: ")
    assert result.stderr.endswith("choose another --out\n") and result.stderr.count("\n") == 1
    assert not isolated_env.exists()  # no database, no backtests folder: refused before anything was written


def test_alpaca_without_keys_is_refused_before_the_database_is_created(
        isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERDESK_BROKER", "alpaca")

    result = runner.invoke(app, ["cycle"])

    assert result.exit_code == 1
    assert result.stderr == ("error: PAPERDESK_BROKER=alpaca needs ALPACA_API_KEY and ALPACA_SECRET_KEY "
                             "(paper keys from the Alpaca dashboard)\n")
    assert not (isolated_env / "paperdesk.db").exists()


class _Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_yfinance_failing_offline_is_one_error_and_no_log_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    yfinance = pytest.importorskip("yfinance")

    def offline(tickers: list[str], **_: object) -> pd.DataFrame:
        """What yfinance does without a network: log every ticker's failure, warn, return nothing."""
        log = logging.getLogger("yfinance")
        for ticker in tickers * 30:
            log.warning("Cookie/crumb fetch failed (DNSError), continuing without crumb")
            log.error(f"Failed to get ticker '{ticker}' reason: curl: (6) Could not resolve host")
        log.error("\n2 Failed downloads:")
        log.error(f"{tickers}: DNSError('curl: (6) Could not resolve host: query2.finance.yahoo.com. See "
                  "https://curl.se/libcurl/c/libcurl-errors.html first for more details.')")
        warnings.warn("The inplace keyword is deprecated", FutureWarning, stacklevel=1)
        return pd.DataFrame()

    monkeypatch.setattr(yfinance, "download", offline)
    seen = _Seen()
    logging.getLogger().addHandler(seen)
    try:
        with warnings.catch_warnings(record=True) as warned, pytest.raises(MarketDataError) as caught:
            warnings.simplefilter("always")
            yfinance_download(["GLD", "SPY"], date(2024, 1, 1), date(2024, 2, 1))
    finally:
        logging.getLogger().removeHandler(seen)

    assert str(caught.value) == ("yfinance download failed for GLD, SPY: DNSError('curl: (6) Could not resolve "
                                 "host: query2.finance.yahoo.com.')")
    assert seen.records == [] and warned == []
    assert logging.getLogger("yfinance").propagate  # restored after the download
