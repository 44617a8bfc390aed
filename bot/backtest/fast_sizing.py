"""``bot.desk.sizing.size_decision`` for a baseline's plan, on arrays.

Policy: the same orders as ``size_decision`` on the ideas the plan stands for (sells first, then
buys, each in universe order): ``(target − weight) × equity`` at the close and FX rate, floored to
whole shares (4 decimals for fractional instruments), a sell capped at the holding, orders of
nothing skipped. The shares are computed in float and kept only when the floor is certain (the
float is further than 1e-6 of a share step from a multiple of it); otherwise, and for a weight
near the plan's 1e-9 hold band, the Decimal formula of ``size_decision`` decides. An idea without
a quote or FX rate becomes an order of nothing without a price, as ``size_decision`` makes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from bot.desk.sizing import shares, target_delta, weight_of

ZERO = Decimal(0)
MARGIN = 1e-6


@dataclass(frozen=True)
class Sized:
    """The day's orders in classification order: symbol positions, sides, sizes and prices."""

    symbol: list[int]
    buy: list[bool]
    quantity: list[Decimal]
    price: list[Decimal | None]
    fx: list[Decimal | None]


def size_plan(*, plan: np.ndarray, target: float, equity: Decimal, values: Mapping[int, Decimal],
              quantities: Mapping[int, Decimal], weights: np.ndarray, prices: list[Decimal | None],
              fx: list[Decimal | None], close_f: np.ndarray, fx_f: np.ndarray, fractional: np.ndarray) -> Sized:
    """The orders of a plan (``plan[i]``: 1 buy, -1 sell, 0 nothing) against the account.

    ``close_f`` and ``fx_f`` are each symbol's close and FX rate as floats before the quotes'
    rounding to 6 and 8 decimals, which moves their product by at most ``5e-7 / close + 5e-9 / fx``
    of itself: the margin a float size must clear grows by that.
    """
    out = Sized(symbol=[], buy=[], quantity=[], price=[], fx=[])
    sells, buys = np.flatnonzero(plan < 0), np.flatnonzero(plan > 0)
    ideas = np.concatenate([sells, buys])
    scale = np.where(fractional[ideas], 10_000.0, 1.0)
    close, rate = close_f[ideas], fx_f[ideas]
    raw = np.abs(target - weights[ideas]) * float(equity) / (close * rate) * scale
    whole = np.floor(raw)
    margin = MARGIN * np.maximum(1.0, raw) + raw * (1e-6 / close + 1e-8 / rate)
    certain = np.minimum(raw - whole, whole + 1 - raw) > margin  # NaN (no price) compares False
    for n, (symbol, steps, sure) in enumerate(zip(ideas.tolist(), whole.tolist(), certain.tolist(), strict=True)):
        side = -1 if n < len(sells) else 1
        price, rate = prices[symbol], fx[symbol]
        if price is None or rate is None:
            _add(out, symbol, side, ZERO, None, None)
            continue
        if sure:
            quantity = Decimal(int(steps)).scaleb(-4) if fractional[symbol] else Decimal(int(steps))
        else:
            quantity = _exact(symbol, side, target, equity, values, price * rate, bool(fractional[symbol]))
        if side < 0:
            held = quantities.get(symbol, ZERO)
            quantity = held if target == 0 else min(quantity, held)
        if quantity > 0:
            _add(out, symbol, side, quantity, price, rate)
    return out


def _add(out: Sized, symbol: int, side: int, quantity: Decimal, price: Decimal | None, fx: Decimal | None) -> None:
    out.symbol.append(symbol)
    out.buy.append(side > 0)
    out.quantity.append(quantity)
    out.price.append(price)
    out.fx.append(fx)


def _exact(symbol: int, side: int, target: float, equity: Decimal, values: Mapping[int, Decimal],
           price_base: Decimal, fractional: bool) -> Decimal:
    """``size_decision``'s own Decimal formula, for a size the floats could not decide."""
    weight = weight_of(values[symbol], equity) if symbol in values else 0.0
    delta = target_delta(target, weight, equity)
    if (delta > 0) != (side > 0) or delta == 0:
        return ZERO
    return shares(abs(delta), price_base, fractional)
