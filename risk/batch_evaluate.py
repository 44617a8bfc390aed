"""One buy of the ordered pass against the running sums: its findings and the sizes offered.

Policy: the rules that depend on earlier orders, in rule order, on the running sums of
``risk.batch_pass``; at a clamped size (``screened=False``) the exposure, cash and ADV rules are
decided in the rules' own Decimal arithmetic, since such a size sits on its limit by construction.
A finding whose level depends on the offer (EXCEEDS) gets the offer from the rule's own helper
(``offer``); none fitting makes it UNSAFE.
"""

from __future__ import annotations

import math
from decimal import Decimal

from risk.batch import BIT, BORDERLINE, EXCEEDS, SAFE, UNSAFE, IntArray
from risk.batch_pass import Pass, beyond
from risk.batch_sells import Running
from risk.facts import FRACTIONAL_STEP, WHOLE_SHARE, to_decimal
from risk.rules_exposure import cash_clamp, weight_clamp
from risk.rules_market import adv_clamp

ZERO = Decimal(0)
CODE_OF = {bit: code for code, bit in BIT.items()}


def evaluate(run: Pass, k: int, quantity: Decimal, bits: int, level: int, *,
              screened: bool) -> tuple[int, int, list[Decimal]]:
    """Bits, level and exact size offers of buy ``k`` at ``quantity`` against the running sums."""
    orders = run.orders
    symbol = int(orders.symbol[k])
    if screened:
        notional = orders.quantity_f[k] * orders.price_base_f[k]
        exposure = _exposure(run, symbol, notional)
    else:
        # A clamped size sits on a limit by construction: decide it in Decimal, as the rules do.
        exact = quantity * orders.price_base[k]
        notional = float(exact)
        exposure = _exposure_exact(run, symbol, exact)
    exceeding: list[str] = []
    for bit, finding in (*exposure, *_activity(run, symbol, notional, None if screened else exact),
                         run.cvar.bits(k, notional, screened, run.limits)):
        bits |= bit
        if finding == EXCEEDS:
            exceeding.append(CODE_OF[bit])
        else:
            level = max(level, finding)
    offers: list[Decimal] = []
    if exceeding and level < UNSAFE:
        offers = [offer(run, k, quantity, code) for code in exceeding]
        level = UNSAFE if min(offers) <= 0 else max(level, BORDERLINE)
    elif exceeding:
        level = UNSAFE
    return bits, level, offers if level == BORDERLINE else []


def _exposure(run: Pass, symbol: int, notional: float) -> list[tuple[int, int]]:
    """Position, asset-class and sector weights, and the cash floor: (bit, level or EXCEEDS)."""
    book, limits, state = run.book, run.limits, run.state
    found = [
        run.weight_bits(state.value_f[symbol], notional, limits.max_position_weight, "POSITION_WEIGHT_EXCEEDS_MAX",
                        "POSITION_WEIGHT_NEAR_MAX"),
        run.weight_bits(run.classes[book.asset_class[symbol]], notional, limits.max_asset_class_weight,
                        "ASSET_CLASS_WEIGHT_EXCEEDS_MAX", "ASSET_CLASS_WEIGHT_NEAR_MAX"),
        run.weight_bits(run.sectors[book.sector[symbol]], notional, limits.max_sector_weight,
                        "SECTOR_WEIGHT_EXCEEDS_MAX", "SECTOR_WEIGHT_NEAR_MAX"),
    ]
    if beyond(run.floor_f, run.cash_f - notional, run.equity_f):
        found.append((BIT["CASH_BELOW_FLOOR"], EXCEEDS))
    return found


def _exposure_exact(run: Pass, symbol: int, notional: Decimal) -> list[tuple[int, int]]:
    """``_exposure`` in the rules' own Decimal arithmetic (for a clamped size)."""
    book, limits, state = run.book, run.limits, run.state
    fraction = limits.borderline_fraction
    found = []
    for current, limit, exceeds, near in (
        (state.value[symbol], limits.max_position_weight, "POSITION_WEIGHT_EXCEEDS_MAX", "POSITION_WEIGHT_NEAR_MAX"),
        (_group_value(state, book.asset_class, symbol), limits.max_asset_class_weight,
         "ASSET_CLASS_WEIGHT_EXCEEDS_MAX", "ASSET_CLASS_WEIGHT_NEAR_MAX"),
        (_group_value(state, book.sector, symbol), limits.max_sector_weight, "SECTOR_WEIGHT_EXCEEDS_MAX",
         "SECTOR_WEIGHT_NEAR_MAX"),
    ):
        after = float((current + notional) / state.equity)
        found.append((BIT[exceeds], EXCEEDS) if after > limit else
                     (BIT[near], BORDERLINE) if after > fraction * limit else (0, SAFE))
    if state.cash - notional < run.floor:
        found.append((BIT["CASH_BELOW_FLOOR"], EXCEEDS))
    return found


def _group_value(state: Running, group: IntArray, symbol: int) -> Decimal:
    """``risk.derived.group_value``: the holdings of the symbol's group, summed in holdings order."""
    return sum((state.value[s] for s in state.holdings if group[s] == group[symbol]), ZERO)


def _activity(run: Pass, symbol: int, notional: float, exact: Decimal | None) -> list[tuple[int, int]]:
    """Correlation with a large holding, ADV and the trade budgets: (bit, level or EXCEEDS)."""
    book, limits, state = run.book, run.limits, run.state
    found = []
    if run.large and run.correlated(symbol):
        found.append((BIT["CORRELATED_WITH_HOLDING"], BORDERLINE))
    adv_f = float(book.adv_f[symbol])
    if math.isfinite(adv_f):
        adv = book.adv[symbol] if exact is not None else None
        if exact is not None and adv is not None:
            over = exact > to_decimal(limits.max_adv_fraction) * adv
        else:
            cap = adv_f * limits.max_adv_fraction
            over = beyond(notional, cap, max(cap, 1.0))
        if over:
            found.append((BIT["ADV_EXCEEDS_MAX"], EXCEEDS))
    found.append(run.count_bits(state.trades_today + 1, limits.max_trades_per_day, "TRADES_PER_DAY_EXCEEDED",
                                "TRADES_PER_DAY_NEAR_MAX"))
    found.append(run.count_bits(state.trades_this_week + 1, limits.max_trades_per_week, "TRADES_PER_WEEK_EXCEEDED",
                                "TRADES_PER_WEEK_NEAR_MAX"))
    return found


def offer(run: Pass, k: int, quantity: Decimal, code: str) -> Decimal:
    """The size the rule behind ``code`` offers, from that rule's own Decimal helper."""
    book, orders, limits, state = run.book, run.orders, run.limits, run.state
    symbol = int(orders.symbol[k])
    price_base = orders.price_base[k]
    step = FRACTIONAL_STEP if book.fractional[symbol] else WHOLE_SHARE
    if code == "POSITION_WEIGHT_EXCEEDS_MAX":
        return weight_clamp(quantity, step, price_base, state.equity, state.value[symbol], limits.max_position_weight)
    if code == "ASSET_CLASS_WEIGHT_EXCEEDS_MAX":
        current = _group_value(state, book.asset_class, symbol)
        return weight_clamp(quantity, step, price_base, state.equity, current, limits.max_asset_class_weight)
    if code == "SECTOR_WEIGHT_EXCEEDS_MAX":
        current = _group_value(state, book.sector, symbol)
        return weight_clamp(quantity, step, price_base, state.equity, current, limits.max_sector_weight)
    if code == "CASH_BELOW_FLOOR":
        return cash_clamp(quantity, step, price_base, state.cash, run.floor)
    adv = book.adv[symbol]
    if code == "ADV_EXCEEDS_MAX" and adv is not None:
        return adv_clamp(quantity, step, price_base, to_decimal(limits.max_adv_fraction) * adv)
    return run.cvar.clamp(k, quantity, step, limits)
