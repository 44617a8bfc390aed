"""The rules a buy's own data decides, for every buy of a day at once.

Policy: tradability, a stale price, the trading state (REDUCING forbids buys), the drawdown and
the circuit breaker (one value for the day), volatility, the re-entry cooldown, confidence and
the unknown-volatility and unknown-ADV notes, exactly as the rules decide them; none depends on
another order, so they are vectors.
"""

from __future__ import annotations

import numpy as np

from risk.batch import BIT, BORDERLINE, SAFE, UNSAFE, Book, IntArray, Orders
from risk.batch_sells import Running
from risk.limits import RiskLimits
from risk.models import TradingState


def static_findings(book: Book, orders: Orders, limits: RiskLimits, state: Running,
                    rows: slice) -> tuple[IntArray, IntArray]:
    """Bits and level of the rules that only look at the buy's own data."""
    symbols = orders.symbol[rows]
    count = len(symbols)
    bits = np.zeros(count, dtype=np.int64)
    unsafe = np.zeros(count, dtype=bool)
    border = np.zeros(count, dtype=bool)

    def flag(code: str, where: np.ndarray, into: np.ndarray | None) -> None:
        bits[where] |= BIT[code]
        if into is not None:
            into |= where

    flag("NOT_TRADABLE_AT_BROKER", ~book.tradable[symbols], unsafe)
    flag("STALE_PRICE", book.price_age[symbols] > limits.max_price_age_days, unsafe)
    if book.trading_state is TradingState.REDUCING:
        flag("TRADING_REDUCING", np.ones(count, dtype=bool), unsafe)
    everyone = np.ones(count, dtype=bool)
    drawdown = 0.0 if book.peak is None or book.peak <= 0 else max(0.0, float(1 - state.equity / book.peak))
    if drawdown > limits.max_drawdown:
        flag("DRAWDOWN_HALTS_BUYS", everyone, unsafe)
    elif drawdown > limits.borderline_fraction * limits.max_drawdown:
        flag("DRAWDOWN_NEAR_MAX", everyone, border)
    if book.day_return <= -limits.intraday_drop_halt:
        flag("CIRCUIT_BREAKER", everyone, unsafe)
    vol = book.volatility[symbols]
    known = np.isfinite(vol)
    flag("VOLATILITY_UNKNOWN", ~known, None)
    exceeds = known & (vol > limits.max_volatility)
    flag("VOLATILITY_EXCEEDS_MAX", exceeds, unsafe)
    flag("VOLATILITY_NEAR_MAX", known & ~exceeds & (vol > limits.borderline_fraction * limits.max_volatility), border)
    flag("ADV_UNKNOWN", ~np.isfinite(book.adv_f[symbols]), None)
    if book.last_exit:
        recent = {s for s, day in book.last_exit.items() if book.as_of - day < limits.reentry_cooldown_days}
        cooling = np.array([s in recent and state.quantity[s] <= 0 for s in symbols.tolist()], dtype=bool)
        flag("REENTRY_COOLDOWN", cooling, border)
    flag("LOW_CONFIDENCE", orders.confidence[rows] < limits.min_confidence, border)
    level = np.where(unsafe, UNSAFE, np.where(border, BORDERLINE, SAFE)).astype(np.int64)
    return bits, level
