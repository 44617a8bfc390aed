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

import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

import numpy as np

from bot.desk.sizing import FRACTION, WHOLE
from broker.models import Instrument

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


def exact_weight(value: Decimal, equity: Decimal) -> float:
    """The weight ``size_decision`` and the policy context measure (0 without equity)."""
    return float(value / equity) if equity > 0 else 0.0


def size_plan(*, plan: np.ndarray, target: float, equity: Decimal, values: dict[int, Decimal],
              quantities: dict[int, Decimal], weights: np.ndarray, prices: list[Decimal | None],
              fx: list[Decimal | None], instruments: list[Instrument]) -> Sized:
    """The orders of a plan (``plan[i]``: 1 buy, -1 sell, 0 nothing) against the account."""
    out = Sized(symbol=[], buy=[], quantity=[], price=[], fx=[])
    equity_f = float(equity)
    target_d = Decimal(str(target))
    for side in (-1, 1):
        for symbol in np.flatnonzero(plan == side).tolist():
            price, rate = prices[symbol], fx[symbol]
            if price is None or rate is None:
                _add(out, symbol, side, ZERO, None, None)
                continue
            quantity = _quantity(symbol, side, target, target_d, equity, equity_f, values, weights, price * rate,
                                 instruments[symbol].fractional)
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


def _quantity(symbol: int, side: int, target: float, target_d: Decimal, equity: Decimal, equity_f: float,
              values: dict[int, Decimal], weights: np.ndarray, price_base: Decimal, fractional: bool) -> Decimal:
    steps_per_unit = 10_000 if fractional else 1
    raw = abs(target - float(weights[symbol])) * equity_f / float(price_base) * steps_per_unit
    whole = math.floor(raw)
    if min(raw - whole, whole + 1 - raw) > MARGIN * max(1.0, raw):
        return Decimal(whole).scaleb(-4) if fractional else Decimal(whole)
    weight = exact_weight(values[symbol], equity) if symbol in values else 0.0
    delta = (target_d - Decimal(str(weight))) * equity
    if (delta > 0) != (side > 0) or delta == 0:
        return ZERO
    return (abs(delta) / price_base).quantize(FRACTION if fractional else WHOLE, rounding=ROUND_DOWN)
