"""The market data provider a command reads, without the desk: ``paperdesk backtest`` and ``dataset`` need only it.

``bot.wiring`` builds the whole desk (its store, every table, the memory) around the same provider;
a replay that imported it for the provider alone loaded all of that for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.market import MarketData, make_market_data
from agent.universe import Universe
from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from broker.alpaca import AlpacaConfig


def make_provider(settings: Settings, universe: Universe, spec: str | None = None) -> MarketData:
    """The market data provider named by ``spec`` (default ``PAPERDESK_DATA``); ``alpaca`` gets the bar reader."""
    spec = spec or settings.data
    bars = None
    if spec.strip().lower() == "alpaca":
        from broker.alpaca import AlpacaBars  # imported on use: the SDK is only loaded when Alpaca is chosen

        bars = AlpacaBars(alpaca_config(settings, "PAPERDESK_DATA=alpaca"))
    return make_market_data(spec, seed=settings.synthetic_seed, base_currency=universe.base_currency, bars=bars)


def alpaca_config(settings: Settings, why: str, **tuning: Any) -> AlpacaConfig:
    """Keys and endpoints of the Alpaca adapter; missing keys are a one-line SettingsError."""
    from broker.alpaca import AlpacaConfig

    missing = [name for name, value in (("ALPACA_API_KEY", settings.alpaca_api_key),
                                        ("ALPACA_SECRET_KEY", settings.alpaca_secret_key)) if not value]
    if missing:
        raise SettingsError(f"{why} needs {' and '.join(missing)} (paper keys from the Alpaca dashboard)")
    for name, url in (("PAPERDESK_ALPACA_URL", settings.alpaca_url), ("PAPERDESK_ALPACA_DATA_URL",
                                                                     settings.alpaca_data_url)):
        if url is not None and not url.startswith(("http://", "https://")):
            raise SettingsError(f"{name}={url!r} is not an http(s) URL, e.g. https://paper-api.alpaca.markets")
    return AlpacaConfig(api_key=settings.alpaca_api_key, secret_key=settings.alpaca_secret_key,
                        url=settings.alpaca_url, data_url=settings.alpaca_data_url, **tuning)
