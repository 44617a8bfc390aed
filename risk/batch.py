"""``classify_batch`` for one day's sized orders, on arrays: the same levels, codes and clamps.

Policy: the caller describes the portfolio per symbol position (``Book``) and the orders in
classification order (``Orders``: every sell before every buy, each symbol once).
``classify_day`` returns what ``classify_batch`` returns for them: for each order its level, its
codes in rule order and, for a BORDERLINE order with a size offer, the clamped quantity (after the
same second classification, so CLAMP_NOT_SAFE appears where it would). It returns None when the
day is one it does not decide, and the caller classifies it with ``classify_batch``: a HALTED desk,
an unknown or unpriced symbol, an order for nothing or for more than is held, a symbol twice, an
equity that cannot size a buy, or a float comparison within ``TOLERANCE`` of its limit (then Decimal
rounding could decide it).

How it stays equal: no sell rule depends on another order, so sells are classified as vectors and
the SAFE ones applied with the Decimal arithmetic of ``risk.engine.project`` (``risk.batch_sells``).
The buys' rules that do not depend on earlier orders are vectors too; the ones that do (cash, asset
class and sector sums, trade counts, large holdings, CVaR) run in one pass, in order, over running
sums (``risk.batch_buys`` and the modules it names). Each buy's CVaR is screened against the day's
starting portfolio and computed again only when the SAFE buys before it could have moved it across
a limit (a historical CVaR moves by at most the largest change of its return series,
``risk.batch_cvar``). Sizes offered as clamps use the rules' own Decimal helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from risk.limits import RiskLimits
from risk.models import TradingState

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

TOLERANCE = 1e-12
SAFE, BORDERLINE, UNSAFE = 0, 1, 2
# A finding whose level depends on the size its rule can offer (UNSAFE when none fits).
EXCEEDS = 3

# Every code a rule of ``risk.rules.RULES`` or ``classify`` can give, in rule order (so a mask lists
# codes as ``RiskVerdict.codes`` does). ``classify_day`` declines the days that would need the ones
# it never gives itself (unknown symbols, no price, halts, ...); they are here so that the verdicts
# ``classify_batch`` gives on those days fit the same masks.
CODES = (
    "UNKNOWN_SYMBOL", "NOT_TRADABLE_AT_BROKER", "NO_PRICE", "STALE_PRICE", "ZERO_QUANTITY", "SELL_EXCEEDS_POSITION",
    "NON_FINITE_EQUITY", "NO_EQUITY", "TRADING_HALTED", "TRADING_REDUCING", "MIN_HOLDING_PERIOD",
    "POSITION_WEIGHT_EXCEEDS_MAX", "POSITION_WEIGHT_NEAR_MAX", "ASSET_CLASS_WEIGHT_EXCEEDS_MAX",
    "ASSET_CLASS_WEIGHT_NEAR_MAX", "SECTOR_WEIGHT_EXCEEDS_MAX", "SECTOR_WEIGHT_NEAR_MAX", "CASH_BELOW_FLOOR",
    "DRAWDOWN_HALTS_BUYS", "DRAWDOWN_NEAR_MAX", "CIRCUIT_BREAKER", "VOLATILITY_UNKNOWN", "VOLATILITY_EXCEEDS_MAX",
    "VOLATILITY_NEAR_MAX", "CORRELATION_UNKNOWN", "CORRELATED_WITH_HOLDING", "ADV_UNKNOWN", "ADV_EXCEEDS_MAX",
    "TRADES_PER_DAY_EXCEEDED", "TRADES_PER_DAY_NEAR_MAX", "TRADES_PER_WEEK_EXCEEDED", "TRADES_PER_WEEK_NEAR_MAX",
    "REENTRY_COOLDOWN", "CVAR_UNKNOWN", "CVAR_EXCEEDS_MAX", "CVAR_NEAR_MAX", "LOW_CONFIDENCE", "CLAMP_NOT_SAFE",
)
BIT = {code: 1 << i for i, code in enumerate(CODES)}
# The notes: SAFE-level hits, listed in the codes but never counted as findings.
NOTES = BIT["VOLATILITY_UNKNOWN"] | BIT["ADV_UNKNOWN"] | BIT["CORRELATION_UNKNOWN"] | BIT["CVAR_UNKNOWN"]

# The rules this module implements, by name: a rule added to ``risk.rules.RULES`` without a
# counterpart here fails a test (and ``classify_day`` would silently skip it).
COVERED_RULES = frozenset({
    "unknown_symbol", "not_tradable", "no_price", "stale_price", "zero_quantity", "sell_exceeds_position",
    "no_equity", "trading_halted", "trading_reducing", "min_holding_period", "position_weight",
    "asset_class_weight", "sector_weight", "cash_floor", "drawdown_limit", "circuit_breaker", "volatility_limit",
    "correlation_limit", "adv_limit", "trades_per_day", "trades_per_week", "reentry_cooldown", "cvar_limit",
    "low_confidence",
})


class Undecided(Exception):
    """This day needs ``classify_batch``: the reason says why (raised inside, returned as None)."""


@dataclass(frozen=True)
class Book:
    """The portfolio and market of one decision day, by symbol position ``0..n-1``.

    ``value``/``quantity``/``cost`` are the exact holdings (ZERO when not held), ``value_f`` their
    float mirror; ``holdings`` lists the held positions in the context's holdings order. Dates are
    ordinals. ``returns`` is the CVaR window (days × symbols, NaN as 0); ``correlation(a, b)`` is
    the correlation the context's matrix holds (NaN when it holds none). ``adv`` is the ADV in
    base (None when unknown) and ``adv_f`` its float (NaN when unknown); ``volatility`` is NaN
    when unknown; ``price_age`` is the days since the symbol's last price.
    """

    as_of: int
    equity: Decimal
    cash: Decimal
    quantity: Sequence[Decimal]
    value: Sequence[Decimal]
    cost: Sequence[Decimal]
    value_f: FloatArray
    opened: list[int | None]
    holdings: list[int]
    last_exit: dict[int, int]
    asset_class: IntArray
    sector: IntArray
    fractional: BoolArray
    tradable: BoolArray
    has_market: BoolArray
    volatility: FloatArray
    adv: Sequence[Decimal | None]
    adv_f: FloatArray
    price_age: IntArray
    returns: FloatArray
    correlation: Callable[[int, int], float]
    trading_state: TradingState
    peak: Decimal | None
    day_return: float
    trades_today: int
    trades_this_week: int


@dataclass(frozen=True)
class Orders:
    """The sized orders of the day, in classification order (sells first)."""

    symbol: IntArray
    buy: BoolArray
    quantity: list[Decimal]
    price_base: list[Decimal]
    quantity_f: FloatArray
    price_base_f: FloatArray
    confidence: FloatArray


@dataclass
class DayVerdicts:
    """Per order: level (SAFE 0, BORDERLINE 1, UNSAFE 2), a bit per code, and offered clamps by row."""

    level: IntArray
    mask: IntArray
    clamp: dict[int, Decimal] = field(default_factory=dict)

    def codes(self, row: int) -> tuple[str, ...]:
        """The codes of one order, in rule order."""
        return codes_of(int(self.mask[row]))


_CODES_CACHE: dict[int, tuple[str, ...]] = {}


def codes_of(mask: int) -> tuple[str, ...]:
    """The codes a bit mask stands for, in rule order."""
    codes = _CODES_CACHE.get(mask)
    if codes is None:
        codes = _CODES_CACHE[mask] = tuple(code for code in CODES if mask & BIT[code])
    return codes


def classify_day(book: Book, orders: Orders, limits: RiskLimits) -> DayVerdicts | None:
    """The verdicts ``classify_batch`` gives these orders, or None when the day is not one decided here."""
    from risk.batch_buys import classify_buys
    from risk.batch_sells import apply_safe_sells, classify_sells

    try:
        _check(book, orders)
        n = len(orders.symbol)
        level = np.zeros(n, dtype=np.int64)
        mask = np.zeros(n, dtype=np.int64)
        sells = int(np.count_nonzero(~orders.buy))
        classify_sells(book, orders, limits, level[:sells], mask[:sells])
        state = apply_safe_sells(book, orders, level[:sells])
        clamps = classify_buys(book, orders, limits, state, sells, level, mask)
    except Undecided:
        return None
    return DayVerdicts(level=level, mask=mask, clamp=clamps)


def _check(book: Book, orders: Orders) -> None:
    symbols = orders.symbol
    if book.trading_state is TradingState.HALTED:
        raise Undecided("halted")
    listed = symbols.tolist()
    if len(set(listed)) != len(listed) or (symbols < 0).any():
        raise Undecided("a symbol twice, or unknown")
    buys = orders.buy
    if buys.any() and (not book.equity.is_finite() or book.equity <= 0):
        raise Undecided("no equity")
    if len(buys) and (np.diff(buys.astype(np.int64)) < 0).any():
        raise Undecided("a sell after a buy")
    if not book.has_market[symbols].all() or not all(pb > 0 for pb in orders.price_base):
        raise Undecided("unpriced")
    if not all(q > 0 for q in orders.quantity):
        raise Undecided("an order for nothing")
    sells = int(np.count_nonzero(~buys))
    if any(orders.quantity[row] > book.quantity[s] for row, s in enumerate(listed[:sells])):
        raise Undecided("a sell of more than is held")
