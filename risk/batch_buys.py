"""The buys of a day's batch: vector rules first, then one ordered pass over running sums.

Policy: see ``risk.batch``. The rules a buy's own data decides (tradability, stale price, the
trading state, drawdown, circuit breaker, volatility, re-entry cooldown, confidence and the
unknown-data notes) are computed for every buy at once. The pass then adds, buy by buy, the rules
that depend on the buys before it, in float with every comparison checked against ``TOLERANCE``;
each SAFE buy moves the running sums as ``risk.engine.project`` moves the context. A buy with a size
offer gets the offers from the Decimal helpers of the rules and is classified again at the smallest.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from risk.batch import (
    BIT,
    BORDERLINE,
    EXCEEDS,
    SAFE,
    TOLERANCE,
    UNSAFE,
    Book,
    BoolArray,
    FloatArray,
    IntArray,
    Orders,
    Undecided,
)
from risk.batch_cvar import CvarScreen
from risk.batch_screen import Findings, Screen, count_rule, exclusive_group_sums
from risk.batch_sells import Running
from risk.facts import FRACTIONAL_STEP, WHOLE_SHARE, to_decimal
from risk.limits import RiskLimits
from risk.models import TradingState
from risk.rules_exposure import cash_clamp, weight_clamp
from risk.rules_market import adv_clamp

ZERO = Decimal(0)
SCREEN_FROM = 48
SCREEN_ROUNDS = 4
CODE_OF = {bit: code for code, bit in BIT.items()}


def _beyond(value: float, limit: float, scale: float = 1.0) -> bool:
    """``value > limit``, refusing to guess when the two are closer than the tolerance."""
    if abs(value - limit) <= TOLERANCE * scale:
        raise Undecided(f"{value} is within tolerance of {limit}")
    return value > limit


def _static(book: Book, orders: Orders, limits: RiskLimits, state: Running, rows: slice) -> tuple[IntArray, IntArray]:
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


class _Pass:
    """The running sums of the buy pass and the rules that read them."""

    def __init__(self, book: Book, orders: Orders, limits: RiskLimits, state: Running, first: int) -> None:
        self.book, self.orders, self.limits, self.state = book, orders, limits, state
        self.equity_f = float(state.equity)
        self.cash_f = float(state.cash)
        self.floor = to_decimal(limits.min_cash_weight) * state.equity
        self.floor_f = float(self.floor)
        held = np.asarray(state.holdings, dtype=np.int64)
        weights = state.value_f[held] / self.equity_f
        self.classes = np.bincount(book.asset_class[held], weights=state.value_f[held],
                                   minlength=int(book.asset_class.max(initial=0)) + 1).tolist()
        self.sectors = np.bincount(book.sector[held], weights=state.value_f[held],
                                   minlength=int(book.sector.max(initial=0)) + 1).tolist()
        self.large = [int(s) for s, w in zip(held.tolist(), weights.tolist(), strict=True)
                      if not _below(w, limits.large_holding_weight)]
        self.correlations: dict[tuple[int, int], float] = {}
        self.cvar = CvarScreen(book, orders, state, first, held, weights)
        # Per order, as Python values for the ordered pass (indexed by order row; sells are unused).
        self.symbols = orders.symbol.tolist()
        self.notionals = (orders.quantity_f * orders.price_base_f).tolist()
        self.class_of = book.asset_class[orders.symbol].tolist()
        self.sector_of = book.sector[orders.symbol].tolist()
        self.caps = (book.adv_f[orders.symbol] * limits.max_adv_fraction).tolist()

    def weight_bits(self, current: float, notional: float, limit: float, exceeds: str, near: str) -> tuple[int, int]:
        """The exceeds/near bit for a group worth ``current``, with EXCEEDS (a clamp is due) or its level."""
        after = (current + notional) / self.equity_f
        if _beyond(after, limit):
            return BIT[exceeds], EXCEEDS
        if _beyond(after, self.limits.borderline_fraction * limit):
            return BIT[near], BORDERLINE
        return 0, SAFE

    def correlated(self, symbol: int) -> bool:
        """True when the buy moves with a large holding beyond ``max_correlation``."""
        for other in self.large:
            if other == symbol:
                continue
            key = (symbol, other)
            if key not in self.correlations:
                self.correlations[key] = self.book.correlation(symbol, other)
            corr = self.correlations[key]
            if math.isfinite(corr) and _beyond(corr, self.limits.max_correlation):
                return True
        return False

    def count_bits(self, count: int, limit: int, exceeds: str, near: str) -> tuple[int, int]:
        """The exceeds/near bit of a trade budget once this trade is counted, with its level."""
        if count > limit:
            return BIT[exceeds], UNSAFE
        if count > self.limits.borderline_fraction * limit:
            return BIT[near], BORDERLINE
        return 0, SAFE


def _below(weight: float, threshold: float) -> bool:
    if abs(weight - threshold) <= TOLERANCE:
        raise Undecided("a weight within tolerance of the large-holding threshold")
    return weight < threshold


def classify_buys(book: Book, orders: Orders, limits: RiskLimits, state: Running, first: int, level: IntArray,
                  mask: IntArray) -> dict[int, Decimal]:
    """Fill ``level`` and ``mask`` for the buys (orders ``first..``); the clamps offered, by row."""
    if first == len(orders.symbol):
        return {}
    bits, static_level = _static(book, orders, limits, state, slice(first, None))
    run = _Pass(book, orders, limits, state, first)
    if len(orders.symbol) - first >= SCREEN_FROM:
        screen = _screen(run, first, bits, static_level)
    else:  # a few buys: the ordered pass costs less than the vectors that would spare it
        screen = Screen(decided=np.zeros(len(bits), dtype=bool), bits=bits, level=static_level)
    level[first:], mask[first:] = screen.level, screen.bits
    safe = (screen.decided & (screen.level == SAFE)).tolist()
    clamps: dict[int, Decimal] = {}
    applied = first
    for offset in np.flatnonzero(~screen.decided).tolist():
        k = first + offset
        for j in range(applied, k):  # the decided SAFE buys before this one
            if safe[j - first]:
                _apply(run, j)
        applied = k + 1
        row_bits, row_level = _quick(run, k, int(bits[offset]), int(static_level[offset])) or \
            _with_clamp(run, k, int(bits[offset]), int(static_level[offset]), clamps)
        level[k], mask[k] = row_level, row_bits
        if row_level == SAFE:
            _apply(run, k)
    return clamps


def _with_clamp(run: _Pass, k: int, bits: int, level: int, clamps: dict[int, Decimal]) -> tuple[int, int]:
    """``classify`` for a buy some rule offers a size to: the offer is checked again at its size."""
    row_bits, row_level, offers = _evaluate(run, k, run.orders.quantity[k], bits, level, screened=True)
    if offers and row_level == BORDERLINE:
        smallest = min(offers)
        _, again, _ = _evaluate(run, k, smallest, bits, level, screened=False)
        if again == UNSAFE:
            return row_bits | BIT["CLAMP_NOT_SAFE"], UNSAFE
        clamps[k] = smallest
    return row_bits, row_level


def _screen(run: _Pass, first: int, bits: IntArray, level: IntArray) -> Screen:
    """``risk.batch_screen`` over the buys: the ones the earlier orders cannot change, decided."""
    notional = run.orders.quantity_f[first:] * run.orders.price_base_f[first:]
    possible = np.ones(len(notional), dtype=bool)
    for _ in range(SCREEN_ROUNDS):
        found = _screen_once(run, first, bits, level, notional, possible)
        narrower = ~found.not_safe
        if (narrower == possible).all():
            break
        possible = narrower
    return found.result()


def _screen_once(run: _Pass, first: int, bits: IntArray, level: IntArray, notional: FloatArray,
                 possible: BoolArray) -> Findings:
    """One screen, counting only the earlier buys that may be SAFE (``possible``)."""
    book, orders, limits, state = run.book, run.orders, run.limits, run.state
    symbols = orders.symbol[first:]
    moving = np.where(possible, notional, 0.0)
    equity, fraction = run.equity_f, limits.borderline_fraction
    earlier = np.cumsum(moving) - moving
    found = Findings(bits, level)
    position = (state.value_f[symbols] + notional) / equity
    found.range_rule(position, position, limits.max_position_weight, fraction * limits.max_position_weight,
                     "POSITION_WEIGHT_EXCEEDS_MAX", "POSITION_WEIGHT_NEAR_MAX")
    for groups, sums, limit, kind in ((book.asset_class, run.classes, limits.max_asset_class_weight, "ASSET_CLASS"),
                                      (book.sector, run.sectors, limits.max_sector_weight, "SECTOR")):
        group = groups[symbols]
        low = np.asarray(sums)[group] + notional
        found.range_rule(low / equity, (low + exclusive_group_sums(group, moving)) / equity, limit,
                         fraction * limit, f"{kind}_WEIGHT_EXCEEDS_MAX", f"{kind}_WEIGHT_NEAR_MAX")
    short = run.floor_f - run.cash_f + notional  # above 0: the cash floor is breached
    found.range_rule(short, short + earlier, 0.0, None, "CASH_BELOW_FLOOR", None, equity)
    cap = book.adv_f[symbols] * limits.max_adv_fraction
    over = np.where(np.isfinite(cap), notional - cap, -1.0)
    found.range_rule(over, over, 0.0, None, "ADV_EXCEEDS_MAX", None, np.maximum(np.nan_to_num(cap), 1.0))
    if run.large or (position >= limits.large_holding_weight - TOLERANCE).any():
        found.decided[:] = False
    count: IntArray = np.cumsum(possible) - possible
    count_rule(found, state.trades_today + 1, count, limits.max_trades_per_day, fraction, "TRADES_PER_DAY_EXCEEDED",
               "TRADES_PER_DAY_NEAR_MAX")
    count_rule(found, state.trades_this_week + 1, count, limits.max_trades_per_week, fraction,
               "TRADES_PER_WEEK_EXCEEDED", "TRADES_PER_WEEK_NEAR_MAX")
    cvar, moved = run.cvar.screened, run.cvar.bounds(moving)
    found.range_rule(cvar - moved, cvar + moved, limits.max_cvar_95, fraction * limits.max_cvar_95,
                     "CVAR_EXCEEDS_MAX", "CVAR_NEAR_MAX")
    return found


def _quick(run: _Pass, k: int, bits: int, level: int) -> tuple[int, int] | None:
    """``_evaluate`` (screened) written out for a buy no rule offers a size to; None when one does.

    The common case of a replay, so it is plain local arithmetic: the same comparisons as
    ``_exposure`` and ``_activity``; a large holding or an exceeded limit hands the buy to
    ``_evaluate``.
    """
    if run.large:
        return None
    limits, state = run.limits, run.state
    notional = run.notionals[k]
    weights = _quick_weights(run, k, notional)
    short = run.floor_f - (run.cash_f - notional)
    cap = run.caps[k]
    if weights is None or _quick_over(short, 0.0, run.equity_f) or (cap == cap and _quick_over(notional, cap, cap)):
        return None
    bits |= weights
    level = max(level, BORDERLINE) if weights else level
    fraction = limits.borderline_fraction
    for count, limit, exceeds_bit, near_bit in ((state.trades_today + 1, limits.max_trades_per_day, _DAY_EXCEEDED,
                                                 _DAY_NEAR),
                                                (state.trades_this_week + 1, limits.max_trades_per_week,
                                                 _WEEK_EXCEEDED, _WEEK_NEAR)):
        if count > limit:
            bits, level = bits | exceeds_bit, UNSAFE
        elif count > fraction * limit:
            bits, level = bits | near_bit, max(level, BORDERLINE)
    cvar_bit, cvar_level = run.cvar.bits(k, notional, True, limits)
    if cvar_level == EXCEEDS:
        return None
    return bits | cvar_bit, max(level, cvar_level)


def _quick_over(value: float, limit: float, scale: float) -> bool:
    if abs(value - limit) <= TOLERANCE * max(scale, 1.0):
        raise Undecided("a value within tolerance of its limit")
    return value > limit


def _quick_weights(run: _Pass, k: int, notional: float) -> int | None:
    """The near bits of the position, asset-class and sector weights; None when one exceeds."""
    limits, fraction, equity = run.limits, run.limits.borderline_fraction, run.equity_f
    bits = 0
    for current, limit, near_bit in ((run.state.value_f[run.symbols[k]], limits.max_position_weight, _POSITION_NEAR),
                                     (run.classes[run.class_of[k]], limits.max_asset_class_weight, _CLASS_NEAR),
                                     (run.sectors[run.sector_of[k]], limits.max_sector_weight, _SECTOR_NEAR)):
        after = (current + notional) / equity
        near = fraction * limit
        if abs(after - limit) <= TOLERANCE or abs(after - near) <= TOLERANCE:
            raise Undecided("a weight within tolerance of its limit")
        if after > limit:
            return None
        if after > near:
            bits |= near_bit
    return bits


_POSITION_NEAR, _CLASS_NEAR, _SECTOR_NEAR = (BIT[f"{kind}_WEIGHT_NEAR_MAX"] for kind in ("POSITION", "ASSET_CLASS",
                                                                                       "SECTOR"))
_DAY_EXCEEDED, _DAY_NEAR = BIT["TRADES_PER_DAY_EXCEEDED"], BIT["TRADES_PER_DAY_NEAR_MAX"]
_WEEK_EXCEEDED, _WEEK_NEAR = BIT["TRADES_PER_WEEK_EXCEEDED"], BIT["TRADES_PER_WEEK_NEAR_MAX"]


def _evaluate(run: _Pass, k: int, quantity: Decimal, bits: int, level: int, *,
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
        offers = [_offer(run, k, quantity, code) for code in exceeding]
        level = UNSAFE if min(offers) <= 0 else max(level, BORDERLINE)
    elif exceeding:
        level = UNSAFE
    return bits, level, offers if level == BORDERLINE else []


def _exposure(run: _Pass, symbol: int, notional: float) -> list[tuple[int, int]]:
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
    if _beyond(run.floor_f, run.cash_f - notional, run.equity_f):
        found.append((BIT["CASH_BELOW_FLOOR"], EXCEEDS))
    return found


def _exposure_exact(run: _Pass, symbol: int, notional: Decimal) -> list[tuple[int, int]]:
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


def _activity(run: _Pass, symbol: int, notional: float, exact: Decimal | None) -> list[tuple[int, int]]:
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
            over = _beyond(notional, cap, max(cap, 1.0))
        if over:
            found.append((BIT["ADV_EXCEEDS_MAX"], EXCEEDS))
    found.append(run.count_bits(state.trades_today + 1, limits.max_trades_per_day, "TRADES_PER_DAY_EXCEEDED",
                                "TRADES_PER_DAY_NEAR_MAX"))
    found.append(run.count_bits(state.trades_this_week + 1, limits.max_trades_per_week, "TRADES_PER_WEEK_EXCEEDED",
                                "TRADES_PER_WEEK_NEAR_MAX"))
    return found


def _offer(run: _Pass, k: int, quantity: Decimal, code: str) -> Decimal:
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


def _apply(run: _Pass, k: int) -> None:
    """Move the running sums by SAFE buy ``k`` (``risk.engine.project`` for a buy)."""
    book, orders, state = run.book, run.orders, run.state
    symbol = int(orders.symbol[k])
    price_base = orders.price_base[k]
    notional_f = orders.quantity_f[k] * orders.price_base_f[k]
    notional = orders.quantity[k] * price_base
    if state.quantity[symbol] <= 0 and symbol not in state.holdings:
        state.holdings.append(symbol)
    state.quantity[symbol] = state.quantity[symbol] + orders.quantity[k]
    state.value[symbol] = state.value[symbol] + notional
    state.value_f[symbol] += notional_f
    state.cash = state.cash - notional
    state.trades_today += 1
    state.trades_this_week += 1
    run.cash_f -= notional_f
    run.classes[book.asset_class[symbol]] += notional_f
    run.sectors[book.sector[symbol]] += notional_f
    if symbol not in run.large and not _below(state.value_f[symbol] / run.equity_f, run.limits.large_holding_weight):
        run.large.append(symbol)
    run.cvar.applied(k, notional_f / run.equity_f)
