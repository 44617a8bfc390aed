"""The sleeve rule: a buy stays inside its sleeve's budget, and an instrument of no sleeve is not bought.

Policy (only when the desk is divided into sleeves, ``RiskContext.sleeves``): a buy of an instrument
that belongs to no sleeve is UNSAFE (NOT_IN_SLEEVE): what belongs to no sleeve is not traded. A buy
that takes its sleeve's market value above the sleeve's budget (a share of equity) is BORDERLINE
(SLEEVE_OVER_BUDGET) with the largest size that fits as a clamp; a sleeve already over its budget
after a market move has no room, and the buy is BORDERLINE without a clamp (a human may still
approve it). The budget is an allocation, not a risk limit: it has no "near" level. Sells never
trigger it: the allocator alone never forces a sale.
"""

from __future__ import annotations

from risk.derived import group_value
from risk.facts import buy_facts
from risk.limits import RiskLimits
from risk.models import Hit, RiskContext, TradeProposal
from risk.rules_exposure import weight_clamp


def sleeve_budget(p: TradeProposal, ctx: RiskContext, limits: RiskLimits) -> Hit | None:
    """NOT_IN_SLEEVE / SLEEVE_OVER_BUDGET on a buy, when the desk has sleeves."""
    if ctx.sleeves is None:
        return None
    facts = buy_facts(p, ctx)
    if facts is None:
        return None
    sleeve = ctx.sleeves.by_symbol.get(p.symbol)
    if sleeve is None:
        return Hit.unsafe("NOT_IN_SLEEVE", symbol=p.symbol)
    current = group_value(ctx, "sleeve", sleeve.name)
    after = float((current + p.quantity * facts.price_base) / facts.equity)
    if after <= sleeve.budget:
        return None
    clamp = weight_clamp(p.quantity, facts.step, facts.price_base, facts.equity, current, sleeve.budget)
    return Hit.borderline("SLEEVE_OVER_BUDGET", clamp_quantity=clamp if clamp > 0 else None, sleeve=sleeve.name,
                          weight=after, budget=sleeve.budget)
