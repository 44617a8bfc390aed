"""Shared steps of the providers: FX pair naming, trimming to ``end``/lookback, FX alignment.

Policy: prices are never forward-filled here (a holiday stays NaN); FX series are forward-filled
without limit over the price dates, because FX feeds often end before the equity feeds. The date
of the last real FX observation is kept in ``series.attrs["last_observed"]``.
When a provider is built without a base currency it is inferred per request: the instruments'
single currency, else EUR (the composition root should pass the universe's base currency).
Failure contract: symbols with no price on or before ``end`` raise ``NoPriceBeforeEnd`` (a
``MarketDataError`` naming them all, in ``symbols``): their series exist but start later, which a
backtest treats as "not priced in the period", unlike a missing or broken file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd

from agent.market.base import MarketDataError, PriceHistory
from broker.models import Instrument

EURUSD = "EURUSD=X"
DEFAULT_BASE = "EUR"


class NoPriceBeforeEnd(MarketDataError):
    """Every symbol in ``symbols`` has no price on or before ``end``."""

    def __init__(self, symbols: Sequence[str], end: date) -> None:
        self.symbols = tuple(symbols)
        super().__init__(f"no data for {', '.join(self.symbols)} on or before {end.isoformat()}")


def fx_ticker(currency: str, base_currency: str) -> tuple[str, bool]:
    """The Yahoo-style FX ticker giving base units per ``currency`` unit, and whether to invert it."""
    if {currency, base_currency} == {"EUR", "USD"}:
        return EURUSD, currency == "USD"
    return f"{currency}{base_currency}=X", False


def resolve_base(base_currency: str | None, instruments: Sequence[Instrument]) -> str:
    """``base_currency``, or when None the single currency of ``instruments`` (EUR when mixed)."""
    if base_currency is not None:
        return base_currency
    currencies = {i.currency for i in instruments}
    return currencies.pop() if len(currencies) == 1 else DEFAULT_BASE


def foreign_currencies(instruments: Sequence[Instrument], base_currency: str) -> list[str]:
    """Currencies of ``instruments`` other than the base, sorted."""
    return sorted({i.currency for i in instruments} - {base_currency})


def data_symbol(instrument: Instrument) -> str:
    """The name of the series that prices ``instrument``."""
    return instrument.data_symbol or instrument.symbol


def finish_history(
    close: pd.DataFrame,
    volume: pd.DataFrame,
    fx: Mapping[str, pd.Series],
    *,
    instruments: Sequence[Instrument],
    base_currency: str,
    source: str,
    synthetic: bool,
    end: date,
    lookback_days: int,
    opens: pd.DataFrame | None = None,
    lows: pd.DataFrame | None = None,
) -> PriceHistory:
    """Cut to dates on or before ``end``, keep the last ``lookback_days`` rows, align FX."""
    if lookback_days < 1:
        raise MarketDataError(f"lookback_days must be at least 1, got {lookback_days}")
    symbols = [i.symbol for i in instruments]
    if not symbols:
        raise MarketDataError("no instruments requested")
    close = close.reindex(columns=symbols).sort_index()
    close = close.loc[close.index <= pd.Timestamp(end)].dropna(how="all")
    _check_coverage(close, end)
    close = close.iloc[-lookback_days:]
    volume = volume.reindex(index=close.index, columns=symbols)
    if opens is not None:
        opens = opens.reindex(index=close.index, columns=symbols).astype(float)
    if lows is not None:
        lows = lows.reindex(index=close.index, columns=symbols).astype(float)
    aligned = {currency: align_fx(series, close.index) for currency, series in fx.items()}
    return PriceHistory(
        close=close.astype(float),
        volume=volume.astype(float),
        fx=aligned,
        source=source,
        synthetic=synthetic,
        base_currency=base_currency,
        currencies={i.symbol: i.currency for i in instruments},
        open=opens,
        low=lows,
    )


def _check_coverage(close: pd.DataFrame, end: date) -> None:
    empty = [str(symbol) for symbol in close.columns[close.notna().sum() == 0]]
    if empty:
        raise NoPriceBeforeEnd(empty, end)


def align_fx(series: pd.Series, index: pd.Index) -> pd.Series:
    """Forward-fill an FX series (no limit) onto ``index``; ``attrs['last_observed']`` is its last date."""
    clean = series.dropna()
    clean = clean.loc[clean.index <= index[-1]]
    union = clean.index.union(index)
    aligned: pd.Series = clean.reindex(union).ffill().reindex(index).astype(float)
    aligned.name = series.name
    aligned.attrs["last_observed"] = clean.index[-1].date() if len(clean) else None
    return aligned


def invert_if(series: pd.Series, invert: bool) -> pd.Series:
    """``1 / series`` when ``invert``, else the series itself."""
    result: pd.Series = 1.0 / series if invert else series
    return result
