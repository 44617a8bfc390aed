"""A seeded synthetic market: offline, deterministic, clearly labelled ``synthetic``.

Model (daily log returns on business days Mon–Fri from ``start``): a two-state Markov regime
(calm / stressed; spells are geometric with means of 150 and 20 business days, so stress
episodes last weeks), a global market factor, one factor per asset class and idiosyncratic noise.
In the stressed state volatility is 2.5× the calm one, market loadings are 1.35× larger (higher
correlation) and drifts turn negative (bonds rally). Long-run volatilities: bonds ~12%, broad
equity ~16%, small caps ~22%, single stocks ~25%, commodities 20–35% (oil ~40%). Start prices are
40–450; volumes give average traded values of tens of millions to billions (US ETFs) and tens to
hundreds of millions (Paris stocks). EURUSD (USD per EUR) is a mean-reverting walk around 1.12
with ~7% volatility; other currencies revert around 1 USD.

Determinism: every series is drawn from its own stream seeded by (seed, series name) from the
fixed ``start``, so a (symbol, date) value depends on neither ``end``, ``lookback_days`` nor the
other instruments: a later ``end`` extends the same path. The price modelled is the traded
instrument's own price (``price_scale`` and ``data_symbol`` do not apply).
Failure contract: ``end`` before ``start`` raises ``MarketDataError``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from agent.market.assemble import finish_history, foreign_currencies, resolve_base
from agent.market.base import MarketDataError, PriceHistory
from broker.models import AssetClass, Instrument

SQRT252 = np.sqrt(252.0)
CALM_MEAN_DAYS, STRESS_MEAN_DAYS = 150.0, 20.0
STRESS_VOL_MULTIPLIER, STRESS_LOADING_MULTIPLIER = 2.5, 1.35
CALM_VOL_SCALE = 0.79  # calm vol so that the long-run average (stress included) matches the target
BLOCK_DAYS = 256  # generation horizon granularity (cache reuse); never changes any value


@dataclass(frozen=True)
class _ClassModel:
    vol: float
    market_loading: float
    class_loading: float
    calm_drift: float
    stress_drift: float
    adv_range: tuple[float, float]


_CLASSES = {
    AssetClass.US_EQUITY: _ClassModel(0.16, 0.75, 0.35, 0.15, -0.45, (3e8, 5e9)),
    AssetClass.INTL_EQUITY: _ClassModel(0.17, 0.65, 0.40, 0.12, -0.45, (1e7, 1.5e8)),
    AssetClass.SMALL_CAP: _ClassModel(0.22, 0.65, 0.50, 0.14, -0.55, (1e8, 3e9)),
    AssetClass.EU_EQUITY: _ClassModel(0.25, 0.50, 0.45, 0.13, -0.45, (2e7, 3e8)),
    AssetClass.BOND: _ClassModel(0.12, -0.20, 0.80, 0.02, 0.08, (5e8, 2e9)),
    AssetClass.COMMODITY: _ClassModel(0.27, 0.25, 0.45, 0.05, -0.25, (2e7, 1.5e9)),
    AssetClass.OTHER: _ClassModel(0.20, 0.40, 0.40, 0.05, -0.20, (1e7, 1e8)),
}
_SECTOR_VOL = {
    (AssetClass.COMMODITY, "energy"): 0.40,
    (AssetClass.COMMODITY, "precious_metals"): 0.20,
    (AssetClass.COMMODITY, "industrial_metals"): 0.33,
    (AssetClass.COMMODITY, "agriculture"): 0.20,
    (AssetClass.COMMODITY, "broad_commodities"): 0.22,
    (AssetClass.EU_EQUITY, "france_large_cap"): 0.17,
}
_SYMBOL_VOL = {"QQQ": 0.21, "SLV": 0.30}


def _stream(seed: int, key: str) -> np.random.Generator:
    """An independent generator for one named series (crc32: stable across processes)."""
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def _ar1(shocks: np.ndarray, phi: float) -> np.ndarray:
    """x_t = phi·x_{t-1} + shock_t from x = 0, vectorised in blocks (phi^-k stays bounded)."""
    out = np.empty_like(shocks)
    state = 0.0
    for start in range(0, len(shocks), BLOCK_DAYS):
        block = shocks[start : start + BLOCK_DAYS]
        powers = phi ** np.arange(1, len(block) + 1)
        out[start : start + len(block)] = powers * (state + np.cumsum(block / powers))
        state = float(out[start + len(block) - 1])
    return out


def _base_vol(instrument: Instrument) -> float:
    """Long-run volatility: symbol override, else (class, sector), else the class default."""
    by_sector = _SECTOR_VOL.get((instrument.asset_class, instrument.sector))
    return _SYMBOL_VOL.get(instrument.symbol) or by_sector or _CLASSES[instrument.asset_class].vol


class SyntheticMarketData:
    """Seeded factor-model prices, volumes and EURUSD; ``synthetic`` is always True."""

    name = "synthetic"
    synthetic = True

    def __init__(self, seed: int = 42, start: date = date(2019, 1, 1), *, base_currency: str | None = None) -> None:
        self.seed = seed
        self.start = start
        self.base_currency = base_currency
        self._cache: tuple[tuple[object, ...], pd.DataFrame, pd.DataFrame, dict[str, pd.Series]] | None = None

    def history(self, instruments: Sequence[Instrument], end: date, lookback_days: int) -> PriceHistory:
        """At most ``lookback_days`` business days ending on ``end`` (or the business day before)."""
        if end < self.start:
            raise MarketDataError(f"synthetic market starts on {self.start.isoformat()}, asked for {end.isoformat()}")
        base = resolve_base(self.base_currency, instruments)
        close, volume, fx = self._frames(tuple(instruments), end, base)
        return finish_history(
            close, volume, fx, instruments=instruments, base_currency=base,
            source=f"synthetic(seed={self.seed})", synthetic=True, end=end, lookback_days=lookback_days,
        )

    def regime(self, end: date) -> pd.Series:
        """True on the business days the model spends in the stressed state, up to ``end``."""
        days = pd.bdate_range(self.start, end)
        return pd.Series(self._states(len(days)), index=days, name="stressed")

    def _frames(
        self, instruments: tuple[Instrument, ...], end: date, base: str
    ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.Series]]:
        """Generate (or reuse) the whole path up to a horizon past ``end``; values never depend on it."""
        needed = len(pd.bdate_range(self.start, end))
        horizon = -(-needed // BLOCK_DAYS) * BLOCK_DAYS
        key = (instruments, base)
        if self._cache is None or self._cache[0] != key or len(self._cache[1]) < needed:
            days = pd.bdate_range(self.start, periods=horizon)
            close, volume = self._prices(instruments, days)
            self._cache = (key, close, volume, self._fx(instruments, days, base))
        return self._cache[1], self._cache[2], self._cache[3]

    def _states(self, n_days: int) -> np.ndarray:
        means = [1 / CALM_MEAN_DAYS, 1 / STRESS_MEAN_DAYS]
        spells = _stream(self.seed, "regime").geometric(means, (n_days // 2 + 1, 2))
        labels = np.tile([False, True], len(spells))
        return np.repeat(labels, spells.ravel())[:n_days]

    def _prices(self, instruments: tuple[Instrument, ...], days: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame]:
        n = len(days)
        stressed = self._states(n)[:, None]
        classes = sorted({i.asset_class for i in instruments})
        factor = {c: _stream(self.seed, f"class:{c.value}").standard_normal(n) for c in classes}
        market = _stream(self.seed, "market").standard_normal(n)[:, None]
        params = _Params.build(self.seed, instruments, n)
        class_shock = np.column_stack([factor[i.asset_class] for i in instruments])
        sigma = np.where(stressed, params.vol * STRESS_VOL_MULTIPLIER, params.vol) * CALM_VOL_SCALE / SQRT252
        loading = np.where(stressed, np.clip(params.loading * STRESS_LOADING_MULTIPLIER, -0.9, 0.9), params.loading)
        idio_weight = np.sqrt(np.clip(1 - loading**2 - params.class_loading**2, 0.05, None))
        shock = loading * market + params.class_loading * class_shock + idio_weight * params.idio
        drift = np.where(stressed, params.stress_drift, params.calm_drift) / 252
        log_returns = drift - sigma**2 / 2 + sigma * shock
        log_returns[0] = 0.0
        prices = params.start_price * np.exp(np.cumsum(log_returns, axis=0))
        traded = params.adv * np.exp(0.35 * params.volume_noise - 0.35**2 / 2) * np.where(stressed, 1.6, 1.0)
        symbols = [i.symbol for i in instruments]
        close = pd.DataFrame(prices, index=days, columns=symbols)
        volume = pd.DataFrame(np.round(traded / prices), index=days, columns=symbols)
        return close, volume

    def _fx(self, instruments: Sequence[Instrument], days: pd.DatetimeIndex, base: str) -> dict[str, pd.Series]:
        """Base units per unit of each foreign currency, from per-currency USD rates."""
        currencies = foreign_currencies(instruments, base)
        usd_per = {code: self._usd_per(code, len(days)) for code in {*currencies, base}}
        return {code: pd.Series(usd_per[code] / usd_per[base], index=days, name=code) for code in currencies}

    def _usd_per(self, currency: str, n_days: int) -> np.ndarray:
        if currency == "USD":
            return np.ones(n_days)
        daily_vol, phi = 0.07 / SQRT252, 0.985
        level, anchor = (1.14, 1.12) if currency == "EUR" else (1.0, 1.0)
        shocks = _stream(self.seed, f"fx:{currency}").standard_normal(n_days) * daily_vol
        shocks[0] = np.log(level / anchor)
        rates: np.ndarray = anchor * np.exp(_ar1(shocks, phi))
        return rates


@dataclass(frozen=True)
class _Params:
    """Per-instrument parameters (row vectors) and noise (one column per instrument)."""

    vol: np.ndarray
    loading: np.ndarray
    class_loading: np.ndarray
    calm_drift: np.ndarray
    stress_drift: np.ndarray
    start_price: np.ndarray
    adv: np.ndarray
    idio: np.ndarray
    volume_noise: np.ndarray

    @classmethod
    def build(cls, seed: int, instruments: Sequence[Instrument], n_days: int) -> _Params:
        """Draw each instrument's parameters, then its noise, from its own stream."""
        rows, idio, volume_noise = [], [], []
        for instrument in instruments:
            rng = _stream(seed, f"symbol:{instrument.symbol}")
            u = rng.random(5)
            model = _CLASSES[instrument.asset_class]
            low, high = model.adv_range
            rows.append((
                _base_vol(instrument) * (0.92 + 0.16 * u[0]),
                model.market_loading * (0.85 + 0.3 * u[1]),
                model.class_loading,
                model.calm_drift + 0.06 * (u[2] - 0.5),
                model.stress_drift,
                float(np.exp(np.log(40) + u[3] * np.log(450 / 40))),
                float(np.exp(np.log(low) + u[4] * np.log(high / low))),
            ))
            noise = rng.standard_normal((n_days, 2))
            idio.append(noise[:, 0])
            volume_noise.append(noise[:, 1])
        vol, loading, class_loading, calm_drift, stress_drift, start_price, adv = np.array(rows).T
        return cls(
            vol=vol, loading=loading, class_loading=class_loading, calm_drift=calm_drift,
            stress_drift=stress_drift, start_price=start_price, adv=adv,
            idio=np.column_stack(idio), volume_noise=np.column_stack(volume_noise),
        )
