"""Facts the rules share: held quantities, weights after a trade, share steps and clamp sizing.

Policy: a proposal is *risk-reducing* when it sells no more than is held. Weights are fractions of
equity, computed in Decimal and converted to float once. The exposure and market rules only look
at buys whose inputs are complete (``buy_facts``); when an input is missing they stay silent and
the data-integrity rules report it, so no rule ever raises on incomplete data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from broker.models import Instrument, Side
from risk.derived import equity_is_usable
from risk.models import MarketFacts, RiskContext, TradeProposal

__all__ = ["equity_is_usable"]

ZERO = Decimal(0)
WHOLE_SHARE = Decimal(1)
FRACTIONAL_STEP = Decimal("0.0001")


def to_decimal(value: float) -> Decimal:
    """A float limit as the Decimal it is written as (0.25 -> Decimal('0.25'))."""
    return Decimal(str(value))


def held_quantity(ctx: RiskContext, symbol: str) -> Decimal:
    """Quantity of ``symbol`` held now (0 when not held)."""
    holding = ctx.holdings.get(symbol)
    return ZERO if holding is None else holding.quantity


def market_value(ctx: RiskContext, symbol: str) -> Decimal:
    """Market value of ``symbol`` held now, in base currency (0 when not held)."""
    holding = ctx.holdings.get(symbol)
    return ZERO if holding is None else holding.market_value_base


def is_risk_reducing(p: TradeProposal, ctx: RiskContext) -> bool:
    """True for a sell of no more than the held quantity."""
    return p.side is Side.SELL and p.quantity <= held_quantity(ctx, p.symbol)


def signed_notional(p: TradeProposal) -> Decimal:
    """Order value in base currency: positive for a buy, negative for a sell."""
    return p.notional_base if p.side is Side.BUY else -p.notional_base


def weight_after(p: TradeProposal, ctx: RiskContext) -> float:
    """Weight of the symbol after the trade: (market value ± notional) / equity."""
    if not equity_is_usable(ctx):
        return 0.0
    return float((market_value(ctx, p.symbol) + signed_notional(p)) / ctx.equity)


def quantity_step(instrument: Instrument) -> Decimal:
    """Smallest order increment: one share, or 0.0001 for fractional instruments."""
    return FRACTIONAL_STEP if instrument.fractional else WHOLE_SHARE


def floor_quantity(quantity: Decimal, step: Decimal) -> Decimal:
    """Round a quantity down to a multiple of ``step``."""
    return (quantity / step).to_integral_value(rounding=ROUND_FLOOR) * step


@dataclass(frozen=True)
class BuyFacts:
    """The complete inputs of a buy: its instrument, market facts, base price and equity."""

    instrument: Instrument
    market: MarketFacts
    price_base: Decimal
    equity: Decimal

    @property
    def step(self) -> Decimal:
        """Order increment of the instrument."""
        return quantity_step(self.instrument)


def buy_facts(p: TradeProposal, ctx: RiskContext) -> BuyFacts | None:
    """The inputs of a complete, non-empty buy, or None (not a buy, or data missing)."""
    # Most rules ask this of the same proposal in turn: the last answer is kept on the context.
    last = ctx.memo.get("buy_facts")
    if last is not None and last[0] is p:
        facts: BuyFacts | None = last[1]
        return facts
    facts = _buy_facts(p, ctx)
    ctx.memo["buy_facts"] = (p, facts)
    return facts


def _buy_facts(p: TradeProposal, ctx: RiskContext) -> BuyFacts | None:
    instrument = ctx.instruments.get(p.symbol)
    market = ctx.market.get(p.symbol)
    price_base = p.price_base
    if p.side is not Side.BUY or instrument is None or market is None or price_base is None:
        return None
    if price_base <= 0 or p.quantity <= 0 or not equity_is_usable(ctx):
        return None
    return BuyFacts(instrument=instrument, market=market, price_base=price_base, equity=ctx.equity)


def largest_fitting(
    asked: Decimal, step: Decimal, estimate: Decimal, fits: Callable[[Decimal], bool]
) -> Decimal:
    """The largest multiple of ``step`` up to ``estimate`` and ``asked`` that ``fits`` (0 when none).

    ``estimate`` is the exact algebraic bound; the few extra checks only absorb Decimal rounding.
    """
    quantity = min(floor_quantity(estimate, step), floor_quantity(asked, step))
    for _ in range(3):
        if quantity <= 0 or fits(quantity):
            return max(quantity, ZERO)
        quantity -= step
    return ZERO
