"""The common case of a buy in the ordered pass, written out as plain arithmetic.

Policy: a buy no rule offers a size to, with no large holding about, is decided here with the
same comparisons ``risk.batch_evaluate`` makes; anything else returns None and goes there.
"""

from __future__ import annotations

from risk.batch import BIT, BORDERLINE, EXCEEDS, TOLERANCE, UNSAFE, Undecided
from risk.batch_pass import Pass


def quick(run: Pass, k: int, bits: int, level: int) -> tuple[int, int] | None:
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


def _quick_weights(run: Pass, k: int, notional: float) -> int | None:
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
