"""Daily prices from Yahoo Finance through yfinance (the only yfinance importer, imported lazily).

One ``yfinance.download`` call fetches every instrument's data series (``data_symbol`` or
``symbol``) and the FX tickers (``EURUSD=X``: USD per 1 EUR, inverted for a EUR base), with
``auto_adjust=False`` and ``group_by="column"``, so the frame has ``(field, ticker)`` columns.
The price is ``Adj Close`` where present, else ``Close``, times ``price_scale``; volumes are
shares. FX is forward-filled without limit over the price dates. The request starts
``lookback_days × 1.5 + 10`` calendar days before ``end`` (weekends and holidays) and ends the
day after ``end`` (yfinance's end is exclusive).

yfinance logs every failure (offline: about a hundred lines) and pandas warnings of its own: its
logger is silenced during the download and its errors are kept, so a failure is one line.

Failure contract: ``MarketDataError`` when the download fails (every ticker empty, with yfinance's
first error), or naming every ticker that came back empty; ``MarketDataError`` when yfinance is
not installed (install the ``yfinance`` extra).
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta

import pandas as pd

from agent.market.assemble import (
    data_symbol,
    finish_history,
    foreign_currencies,
    fx_ticker,
    invert_if,
    resolve_base,
)
from agent.market.base import MarketDataError, PriceHistory
from broker.models import Instrument

Download = Callable[..., pd.DataFrame]
FIELDS = ("Adj Close", "Close", "High", "Low", "Open", "Volume")
EARLIEST = date(1970, 1, 2)  # Yahoo has nothing before; a backtest asks for "all rows" (a huge lookback)


def yfinance_download(tickers: list[str], start: date, end: date) -> pd.DataFrame:
    """Call ``yfinance.download`` (imported here, never at module import); ``end`` is exclusive."""
    try:
        import yfinance
    except ImportError as exc:
        raise MarketDataError("yfinance is not installed: pip install 'paperdesk[yfinance]'") from exc
    with _kept_errors("yfinance") as errors:
        frame: pd.DataFrame = yfinance.download(
            tickers, start=start.isoformat(), end=end.isoformat(), auto_adjust=False, progress=False,
            group_by="column",
        )
    if errors and (frame is None or frame.dropna(how="all").empty):
        reason = _TICKERS.sub("", next((e for e in errors if e.startswith("[")), errors[-1]))
        raise MarketDataError(f"yfinance download failed for {', '.join(tickers)}: {reason}")
    return frame


class _Keep(logging.Handler):
    """Keeps the messages of error records, one line each, without the links yfinance appends."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = " ".join(record.getMessage().split())
        if text and not text.endswith("Failed downloads:") and "Failed download" not in text[:20]:
            self.messages.append(_LINK.sub("", text))


_LINK = re.compile(r"\s*See https?://\S+ first for more details\.?")
_TICKERS = re.compile(r"^\[[^\]]*\]:\s*")  # yfinance's "['SPY', 'GLD']: " before a shared error


@contextlib.contextmanager
def _kept_errors(name: str) -> Iterator[list[str]]:
    """Silence logger ``name`` (and warnings) for the block; yield the error messages it logged."""
    logger = logging.getLogger(name)
    saved = logger.handlers[:], logger.propagate
    keep = _Keep()
    logger.handlers, logger.propagate = [keep], False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield keep.messages
    finally:
        logger.handlers, logger.propagate = saved


class YFinanceMarketData:
    """Yahoo Finance daily bars; ``download`` is injectable for recorded frames in tests."""

    name = "yfinance"
    synthetic = False

    def __init__(self, download: Download | None = None, *, base_currency: str | None = None) -> None:
        self._download = download or yfinance_download
        self.base_currency = base_currency

    def history(self, instruments: Sequence[Instrument], end: date, lookback_days: int) -> PriceHistory:
        """At most ``lookback_days`` rows ending on or before ``end``."""
        base = resolve_base(self.base_currency, instruments)
        tickers = sorted({data_symbol(i) for i in instruments})
        tickers += [fx_ticker(c, base)[0] for c in foreign_currencies(instruments, base)]
        start = max(EARLIEST, end - timedelta(days=min(int(lookback_days * 1.5) + 10, (end - EARLIEST).days)))
        try:
            frame = self._download(sorted(set(tickers)), start=start, end=end + timedelta(days=1))
        except MarketDataError:
            raise
        except Exception as exc:  # any SDK or network failure becomes a data error
            raise MarketDataError(f"yfinance download failed for {', '.join(tickers)}: {exc}") from exc
        history = frame_to_history(frame, instruments, base)
        return finish_history(
            history.close, history.volume, history.fx, instruments=instruments,
            base_currency=base, source=self.name, synthetic=False, end=end,
            lookback_days=lookback_days,
        )


def frame_to_history(frame: pd.DataFrame | None, instruments: Sequence[Instrument], base_currency: str) -> PriceHistory:
    """Convert yfinance's ``(field, ticker)`` column frame into a ``PriceHistory`` (all its rows)."""
    fields = _by_field(frame)
    series = {i.symbol: data_symbol(i) for i in instruments}
    fx_pairs = {c: fx_ticker(c, base_currency) for c in foreign_currencies(instruments, base_currency)}
    labels = {**{f"{s} (ticker {t})": t for s, t in series.items()},
              **{f"FX {c}->{base_currency} (ticker {t})": t for c, (t, _) in fx_pairs.items()}}
    prices = {t: p for t in set(labels.values()) if (p := _price(fields, t)) is not None}
    empty = [label for label, ticker in labels.items() if ticker not in prices]
    if empty:
        raise MarketDataError(f"no data for {', '.join(empty)} from yfinance")
    close = pd.DataFrame({i.symbol: prices[series[i.symbol]] * float(i.price_scale) for i in instruments})
    close = close.dropna(how="all")
    shares = fields.get("Volume", pd.DataFrame(index=close.index)).reindex(close.index)
    volume = pd.DataFrame({s: shares[t] if t in shares else float("nan") for s, t in series.items()}, index=close.index)
    return PriceHistory(
        close=close.astype(float),
        volume=volume.astype(float),
        fx={c: invert_if(prices[t], invert).rename(c) for c, (t, invert) in fx_pairs.items()},
        source="yfinance",
        synthetic=False,
        base_currency=base_currency,
        currencies={i.symbol: i.currency for i in instruments},
    )


def _by_field(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """Split the frame into one ticker-column frame per field, whatever the level order."""
    if frame is None or frame.empty or not isinstance(frame.columns, pd.MultiIndex):
        return {}
    level = 0 if set(frame.columns.get_level_values(0)) & set(FIELDS) else 1
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    frame = frame.set_axis(index.normalize(), axis=0)
    return {str(name): pd.DataFrame(frame.xs(name, axis=1, level=level)) for name in frame.columns.unique(level=level)}


def _price(fields: dict[str, pd.DataFrame], ticker: str) -> pd.Series | None:
    """``Adj Close`` where present, else ``Close``; None when the ticker has no price at all."""
    close = fields.get("Close", pd.DataFrame()).get(ticker)
    adjusted = fields.get("Adj Close", pd.DataFrame()).get(ticker)
    price = close if adjusted is None else (adjusted if close is None else adjusted.fillna(close))
    if price is None or price.dropna().empty:
        return None
    return price.astype(float)
