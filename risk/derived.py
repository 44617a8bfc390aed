"""Values derived from a ``RiskContext``: computed once per context, carried through ``project``.

Policy: every value here is a function of the context's fields, computed on first use and kept in
``ctx.memo`` (a context is never mutated, so a memo cannot go stale; ``dataclasses.replace`` starts
a new one empty). ``carry(before, after, symbol)`` hands a projected context (one trade of
``symbol``) the values that trade cannot change, and the ones it changes updated in place of a full
recomputation: weights and group members exactly (same values, same order as a fresh context), the
portfolio return vector as ``P + Δw · column`` (equal up to float rounding, ~1e-16). Values that
need an unchanged equity (weights, the portfolio vector) are not carried when equity moved.
Nothing here raises on incomplete data: missing returns give None, unusable equity no weights.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from risk.measures import CorrelationMatrix, FloatArray, ReturnsMatrix
from risk.models import RiskContext

T = TypeVar("T")
GroupKey = tuple[str, Any]

ZERO = Decimal(0)


def memo(ctx: RiskContext, key: str, build: Callable[[RiskContext], T]) -> T:
    """``build(ctx)``, computed once per context."""
    cache = ctx.memo
    if key not in cache:
        cache[key] = build(ctx)
    value: T = cache[key]
    return value


def equity_is_usable(ctx: RiskContext) -> bool:
    """True when equity is a finite positive amount that weights can be measured against."""
    return ctx.equity.is_finite() and ctx.equity > 0


def _weights(ctx: RiskContext) -> dict[str, float]:
    if not equity_is_usable(ctx):
        return {}
    return {symbol: float(h.market_value_base / ctx.equity) for symbol, h in ctx.holdings.items()}


def weights(ctx: RiskContext) -> dict[str, float]:
    """Weight of every holding, in holdings order (shared: callers must not mutate it)."""
    return memo(ctx, "weights", _weights)


def returns_matrix(ctx: RiskContext) -> ReturnsMatrix | None:
    """The context's returns as a ``ReturnsMatrix`` (None without returns)."""
    return memo(ctx, "returns_matrix", lambda c: None if c.returns is None else ReturnsMatrix.of(c.returns))


def correlations(ctx: RiskContext) -> CorrelationMatrix | None:
    """The context's correlations as a ``CorrelationMatrix`` (None without correlations)."""
    return memo(ctx, "correlations", lambda c: None if c.correlations is None else CorrelationMatrix.of(c.correlations))


def portfolio_returns(ctx: RiskContext) -> FloatArray | None:
    """Daily returns of the current portfolio over the context's returns (None without returns)."""

    def build(c: RiskContext) -> FloatArray | None:
        matrix = returns_matrix(c)
        return None if matrix is None else matrix.portfolio(weights(c))

    return memo(ctx, "portfolio_returns", build)


def _group_keys(ctx: RiskContext, symbol: str) -> tuple[GroupKey, ...]:
    instrument = ctx.instruments.get(symbol)
    if instrument is None:
        return ()
    sleeve = ctx.sleeves.by_symbol.get(symbol) if ctx.sleeves is not None else None
    if sleeve is None:
        return ("asset_class", instrument.asset_class), ("sector", instrument.sector)
    return ("asset_class", instrument.asset_class), ("sector", instrument.sector), ("sleeve", sleeve.name)


def _members(ctx: RiskContext) -> dict[GroupKey, list[str]]:
    out: dict[GroupKey, list[str]] = {}
    for symbol in ctx.holdings:
        for key in _group_keys(ctx, symbol):
            out.setdefault(key, []).append(symbol)
    return out


def group_value(ctx: RiskContext, kind: str, group: object) -> Decimal:
    """Market value of the holdings in one asset class, sector or sleeve, summed in holdings order."""

    values: dict[GroupKey, Decimal] = memo(ctx, "group_values", lambda c: {})
    key = (kind, group)
    if key not in values:
        symbols = memo(ctx, "group_members", _members).get(key, [])
        values[key] = sum((ctx.holdings[s].market_value_base for s in symbols), start=ZERO)
    return values[key]


def large_holdings(ctx: RiskContext, threshold: float) -> list[str]:
    """Holdings whose weight is not below ``threshold``, in holdings order."""
    by_threshold: dict[float, list[str]] = memo(ctx, "large", lambda c: {})
    if threshold not in by_threshold:
        by_threshold[threshold] = [s for s, w in weights(ctx).items() if not w < threshold]
    return by_threshold[threshold]


def carry(before: RiskContext, after: RiskContext, symbol: str) -> RiskContext:
    """``after``, which is ``before`` with one trade of ``symbol``, given ``before``'s reusable values."""
    old = before.memo
    if "returns_matrix" in old and after.returns is before.returns:
        after.memo["returns_matrix"] = old["returns_matrix"]
    if "correlations" in old and after.correlations is before.correlations:
        after.memo["correlations"] = old["correlations"]
    if "group_members" in old:
        _carry_groups(before, after, symbol)
    if "weights" in old and after.equity == before.equity and equity_is_usable(after):
        _carry_weights(before, after, symbol)
    return after


def _carry_groups(before: RiskContext, after: RiskContext, symbol: str) -> None:
    members: dict[GroupKey, list[str]] = before.memo["group_members"]
    held_before, held_after = symbol in before.holdings, symbol in after.holdings
    if held_before != held_after:
        members = dict(members)
        for key in _group_keys(after, symbol):
            # A new holding is appended to the holdings mapping, so it joins its groups last.
            listed = [s for s in members.get(key, []) if s != symbol]
            members[key] = [*listed, symbol] if held_after else listed
    after.memo["group_members"] = members
    changed = set(_group_keys(after, symbol))
    values: dict[GroupKey, Decimal] = before.memo.get("group_values", {})
    after.memo["group_values"] = {key: value for key, value in values.items() if key not in changed}


def _carry_weights(before: RiskContext, after: RiskContext, symbol: str) -> None:
    old: dict[str, float] = before.memo["weights"]
    new = dict(old)
    holding = after.holdings.get(symbol)
    if holding is None:
        new.pop(symbol, None)
    else:
        new[symbol] = float(holding.market_value_base / after.equity)
    after.memo["weights"] = new
    portfolio = before.memo.get("portfolio_returns")
    matrix = after.memo.get("returns_matrix")
    if portfolio is not None and matrix is not None:
        after.memo["portfolio_returns"] = portfolio + (new.get(symbol, 0.0) - old.get(symbol, 0.0)) * matrix.column(
            symbol
        )
    large: dict[float, list[str]] = before.memo.get("large", {})
    after.memo["large"] = {
        threshold: listed if (symbol in listed) == (symbol in new and not new[symbol] < threshold)
        else [s for s, w in new.items() if not w < threshold]
        for threshold, listed in large.items()
    }
