"""Daily prices from Alpaca's market data API (``PAPERDESK_DATA=alpaca``) through an injected bar source.

agent/ never imports the SDK: the composition root passes ``bars``, a callable taking (symbols,
start, end) and returning daily bars per symbol (``broker.alpaca.AlpacaBars`` in production, a
plain function in unit tests). Alpaca serves US-listed instruments priced in USD and no FX rates,
so every instrument must be in USD and the base currency must be USD (the ``us`` universe). The
request starts ``lookback_days × 1.5 + 10`` calendar days before ``end``; bars are split- and
dividend-adjusted closes times ``price_scale``; volumes are shares.

Failure contract: ``MarketDataError`` naming the instruments Alpaca cannot price (non-USD, or a
non-USD base), the symbols it returned no bars for, or the failure of the bar source itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

import pandas as pd

from agent.market.assemble import data_symbol, finish_history, resolve_base
from agent.market.base import MarketDataError, PriceHistory
from broker.models import Instrument

USD = "USD"


class Bar(Protocol):
    """One daily bar as the source gives it."""

    @property
    def day(self) -> date:
        """The session date."""
        ...

    @property
    def close(self) -> Decimal:
        """Adjusted close in USD."""
        ...

    @property
    def volume(self) -> Decimal:
        """Shares traded."""
        ...


BarSource = Callable[[Sequence[str], date, date], Mapping[str, Sequence[Bar]]]


class AlpacaMarketData:
    """Alpaca daily bars for a USD universe; ``synthetic`` is False."""

    name = "alpaca"
    synthetic = False

    def __init__(self, bars: BarSource, *, base_currency: str | None = None) -> None:
        self._bars = bars
        self.base_currency = base_currency

    def history(self, instruments: Sequence[Instrument], end: date, lookback_days: int) -> PriceHistory:
        """At most ``lookback_days`` rows ending on or before ``end``."""
        base = resolve_base(self.base_currency, instruments)
        _check_usd(instruments, base)
        tickers = sorted({data_symbol(i) for i in instruments})
        start = end - timedelta(days=int(lookback_days * 1.5) + 10)
        try:
            fetched = self._bars(tickers, start, end)
        except Exception as exc:  # any SDK or network failure becomes a data error
            raise MarketDataError(f"Alpaca bars failed for {', '.join(tickers)}: {exc}") from exc
        close, volume = _frames(fetched, instruments)
        return finish_history(close, volume, {}, instruments=instruments, base_currency=base, source=self.name,
                              synthetic=False, end=end, lookback_days=lookback_days)


def _check_usd(instruments: Sequence[Instrument], base: str) -> None:
    foreign = [i.symbol for i in instruments if i.currency != USD]
    if foreign:
        raise MarketDataError(f"market data 'alpaca' serves US-listed USD instruments only; not available: "
                              f"{', '.join(foreign)}; use PAPERDESK_UNIVERSE=us or another PAPERDESK_DATA")
    if base != USD:
        raise MarketDataError(f"market data 'alpaca' has no FX rates for base currency {base}; "
                              "use a USD universe (PAPERDESK_UNIVERSE=us)")


def _frames(fetched: Mapping[str, Sequence[Bar]],
            instruments: Sequence[Instrument]) -> tuple[pd.DataFrame, pd.DataFrame]:
    closes: dict[str, pd.Series] = {}
    volumes: dict[str, pd.Series] = {}
    for instrument in instruments:
        rows = fetched.get(data_symbol(instrument), ())
        if not rows:
            raise MarketDataError(f"no data for {instrument.symbol} from Alpaca (ticker {data_symbol(instrument)})")
        index = pd.DatetimeIndex([pd.Timestamp(bar.day) for bar in rows])
        closes[instrument.symbol] = pd.Series([float(bar.close * instrument.price_scale) for bar in rows], index=index)
        volumes[instrument.symbol] = pd.Series([float(bar.volume) for bar in rows], index=index)
    return pd.DataFrame(closes).sort_index(), pd.DataFrame(volumes).sort_index()
