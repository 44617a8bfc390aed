"""Market data providers and the factory that picks one from ``PAPERDESK_DATA``.

Specs: ``synthetic`` (seeded, offline), ``yfinance`` (network), ``csv:DIR`` (a directory of
``<SYMBOL>.csv`` files), ``alpaca`` (Alpaca's daily bars through the ``bars`` source the
composition root passes). Providers are built on call only.
Failure contract: an unknown spec, ``alpaca`` without a bar source, or a missing directory raises
``MarketDataError`` whose message lists the valid choices.
"""

from __future__ import annotations

from pathlib import Path

from agent.market.alpaca_bars import AlpacaMarketData, BarSource
from agent.market.base import MarketData, MarketDataError, PriceHistory
from agent.market.csv_dir import CsvMarketData
from agent.market.synthetic import SyntheticMarketData
from agent.market.yfinance_provider import YFinanceMarketData

__all__ = [
    "AlpacaMarketData",
    "CsvMarketData",
    "MarketData",
    "MarketDataError",
    "PriceHistory",
    "SyntheticMarketData",
    "YFinanceMarketData",
    "make_market_data",
]

CHOICES = "synthetic, yfinance, alpaca or csv:DIR"


def make_market_data(spec: str, *, seed: int = 42, base_currency: str | None = None,
                     bars: BarSource | None = None) -> MarketData:
    """Build the provider named by ``spec``; ``base_currency`` None infers it per request."""
    kind, _, argument = spec.strip().partition(":")
    kind = kind.lower()
    if kind == "synthetic" and not argument:
        return SyntheticMarketData(seed=seed, base_currency=base_currency)
    if kind == "yfinance" and not argument:
        return YFinanceMarketData(base_currency=base_currency)
    if kind == "csv":
        return _csv(argument, base_currency)
    if kind == "alpaca" and not argument:
        if bars is None:
            raise MarketDataError("market data 'alpaca' needs Alpaca keys: set ALPACA_API_KEY and ALPACA_SECRET_KEY")
        return AlpacaMarketData(bars, base_currency=base_currency)
    raise MarketDataError(f"unknown market data {spec!r}; use {CHOICES}")


def _csv(argument: str, base_currency: str | None) -> MarketData:
    if not argument:
        raise MarketDataError(f"market data 'csv:' needs a directory, e.g. csv:/data/prices; use {CHOICES}")
    directory = Path(argument).expanduser()
    if not directory.is_dir():
        raise MarketDataError(f"market data directory {directory} not found; use {CHOICES} with an existing DIR")
    return CsvMarketData(directory, base_currency=base_currency)
