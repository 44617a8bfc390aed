"""The risk engine: classify one proposal, a batch of proposals, and project a trade.

Policy: ``classify`` runs every rule and the worst level wins. When the verdict is BORDERLINE and a
rule offered a smaller size, the engine offers the smallest such size as a clamped proposal, but
only after classifying that proposal again: if the clamped order would be UNSAFE, the verdict is
UNSAFE (CLAMP_NOT_SAFE) and nothing is offered. UNSAFE verdicts never carry a clamp. With sleeves
(``RiskContext.sleeves``) a proposal is classified under its sleeve's limits, which only tighten the
desk's; portfolio-wide rules still measure the whole book.
``classify_batch`` classifies in order and applies each SAFE proposal to the context before the
next one, so executing every SAFE proposal of a batch is safe as a whole. Nothing here raises on
bad data except ``project``, which refuses a trade that could never be SAFE (no price, a short).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from broker.models import Side
from risk.derived import carry
from risk.facts import held_quantity, weight_after
from risk.limits import RiskLimits
from risk.models import Clamp, Hit, Holding, Level, RiskContext, RiskVerdict, TradeProposal
from risk.rules import RULES, Rule


def _run(p: TradeProposal, ctx: RiskContext, limits: RiskLimits, rules: Sequence[Rule]) -> RiskVerdict:
    return RiskVerdict.from_hits([hit for rule in rules if (hit := rule(p, ctx, limits)) is not None])


def _clamp_quantity(verdict: RiskVerdict) -> Decimal | None:
    """The smallest size any hit offered, or None."""
    offers = [hit.clamp_quantity for hit in verdict.hits if hit.clamp_quantity is not None]
    return min(offers, default=None)


def classify(
    p: TradeProposal, ctx: RiskContext, limits: RiskLimits, *, rules: Sequence[Rule] = RULES
) -> RiskVerdict:
    """Classify one proposal against the context and limits; offer a clamp when only the size is wrong.

    A proposal of a sleeve's instrument is classified under that sleeve's limits (tighter or equal).
    """
    if ctx.sleeves is not None:
        limits = ctx.sleeves.limits_for(p.symbol, limits)
    verdict = _run(p, ctx, limits, rules)
    quantity = _clamp_quantity(verdict)
    if verdict.level is not Level.BORDERLINE or quantity is None:
        return verdict
    clamped = p.with_quantity(quantity)
    again = _run(clamped, ctx, limits, rules)
    if again.level is Level.UNSAFE:
        codes = ",".join(hit.code for hit in again.hits if hit.level is Level.UNSAFE)
        refused = Hit.unsafe("CLAMP_NOT_SAFE", quantity=quantity, codes=codes)
        return RiskVerdict.from_hits([*verdict.hits, refused])
    clamp = Clamp(
        quantity_before=p.quantity,
        quantity_after=quantity,
        weight_before=weight_after(p, ctx),
        weight_after=weight_after(clamped, ctx),
    )
    return verdict.model_copy(update={"clamped": clamped, "clamp": clamp})


def classify_batch(
    proposals: Iterable[TradeProposal], ctx: RiskContext, limits: RiskLimits, *, borderline_approved: bool = False
) -> list[RiskVerdict]:
    """Classify in order; each SAFE proposal is applied to the context the later ones see.

    ``borderline_approved``: every BORDERLINE proposal will be executed too (at its clamp when one is
    offered: a backtest's ``--approve-borderline``, a data set's labels), so it is applied as well.
    """
    verdicts: list[RiskVerdict] = []
    for p in proposals:
        verdict = classify(p, ctx, limits)
        verdicts.append(verdict)
        if verdict.level is Level.SAFE:
            ctx = project(ctx, p)
        elif borderline_approved and verdict.level is Level.BORDERLINE:
            chosen = verdict.clamped or p
            if chosen.quantity > 0:
                ctx = project(ctx, chosen)
    return verdicts


def project(ctx: RiskContext, p: TradeProposal) -> RiskContext:
    """The context after executing ``p`` in full at its price; raises ``ValueError`` if it cannot be."""
    price_base = p.price_base
    if price_base is None:
        raise ValueError(f"cannot project {p.id}: no price")
    if p.side is Side.BUY:
        return carry(ctx, _project_buy(ctx, p, p.quantity * price_base), p.symbol)
    if not 0 < p.quantity <= held_quantity(ctx, p.symbol):
        raise ValueError(f"cannot project {p.id}: sells nothing, or more {p.symbol} than is held")
    return carry(ctx, _project_sell(ctx, p, p.quantity * price_base), p.symbol)


def _counted(ctx: RiskContext, **changes: Any) -> RiskContext:
    """``ctx`` with the changes and one more trade today and this week."""
    return replace(
        ctx, trades_today=ctx.trades_today + 1, trades_this_week=ctx.trades_this_week + 1, **changes
    )


def _project_buy(ctx: RiskContext, p: TradeProposal, notional: Decimal) -> RiskContext:
    old = ctx.holdings.get(p.symbol)
    if old is None:
        new = Holding(
            symbol=p.symbol,
            quantity=p.quantity,
            market_value_base=notional,
            cost_base=notional,
            opened_on=ctx.as_of,
        )
    else:
        new = old.model_copy(
            update={
                "quantity": old.quantity + p.quantity,
                "market_value_base": old.market_value_base + notional,
                "cost_base": old.cost_base + notional,
            }
        )
    return _counted(ctx, cash=ctx.cash - notional, holdings={**ctx.holdings, p.symbol: new})


def _project_sell(ctx: RiskContext, p: TradeProposal, notional: Decimal) -> RiskContext:
    old = ctx.holdings[p.symbol]
    share = p.quantity / old.quantity
    value_sold = old.market_value_base * share
    holdings = dict(ctx.holdings)
    last_exit = dict(ctx.last_exit)
    if p.quantity == old.quantity:
        del holdings[p.symbol]
        last_exit[p.symbol] = ctx.as_of
    else:
        holdings[p.symbol] = old.model_copy(
            update={
                "quantity": old.quantity - p.quantity,
                "market_value_base": old.market_value_base - value_sold,
                "cost_base": old.cost_base * (1 - share),
            }
        )
    # Selling at a price other than the holding's mark realises the difference into equity.
    equity = ctx.equity + notional - value_sold
    return _counted(ctx, cash=ctx.cash + notional, equity=equity, holdings=holdings, last_exit=last_exit)
