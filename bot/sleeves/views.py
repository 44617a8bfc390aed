"""What the sleeves look like now: each sleeve's budget, what it holds, its figures and why it moved.

Policy: one use case for every transport (``paperdesk sleeves``, Telegram ``/sleeves``, the report):
the budgets in force, each sleeve's invested weight from the broker's positions, and the attribution
of its recorded days (``bot.evaluation.attribution``, with the stored equity for P&L).

Failure contract: ``DeskError`` (one line) when the desk has no sleeves; broker and database errors
propagate.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.desk.desk import Desk
from bot.desk.results import DeskError
from bot.evaluation.attribution import sleeve_document

NO_SLEEVES = ("this desk has no sleeves: describe them in [sleeves.NAME] tables of the config file "
              "(PAPERDESK_CONFIG; see the README's Sleeves section)")


class SleeveLine(BaseModel):
    """One sleeve now."""

    model_config = ConfigDict(frozen=True)

    name: str
    policy: str
    instruments: int
    base_weight: float
    min_weight: float
    max_weight: float
    budget: float
    weight: float  # market value of its holdings over equity, now
    reason: str | None = None  # why the last allocation set its budget


class SleevesView(BaseModel):
    """The sleeves in force, their figures and the allocation history's last entry."""

    model_config = ConfigDict(frozen=True)

    base_currency: str
    allocated_on: date | None
    regime: str | None
    cash: float
    lines: list[SleeveLine]
    document: dict[str, Any]  # ``attribution.sleeve_document``: figures per sleeve and every allocation


async def sleeves_view(desk: Desk) -> SleevesView:
    """The sleeves of ``desk`` as they stand."""
    if desk.sleeves is None:
        raise DeskError(NO_SLEEVES)
    policy, log = desk.sleeves.policy, desk.sleeves.log
    account, positions = await desk.broker.account(), await desk.broker.positions()
    values = {p.symbol: p.market_value_base for p in positions}
    budgets = policy.budgets()
    latest = log.latest()
    reasons = latest.allocation.reasons if latest is not None else {}
    equity = {row.as_of: float(row.equity) for row in desk.store.equity_history()}
    lines = [SleeveLine(
        name=s.name, policy=s.policy.name, instruments=len(s.symbols), base_weight=s.bounds.base_weight,
        min_weight=s.bounds.min_weight, max_weight=s.bounds.max_weight, budget=budgets[s.name],
        weight=float(sum(v for sym, v in values.items() if sym in s.symbols) / account.equity)
        if account.equity > 0 else 0.0, reason=reasons.get(s.name)) for s in policy.sleeves]
    return SleevesView(base_currency=account.base_currency, allocated_on=latest.as_of if latest else None,
                       regime=latest.allocation.regime if latest else None, cash=1 - sum(budgets.values()),
                       lines=lines, document=sleeve_document(log.days(), log.allocations(), equity))
