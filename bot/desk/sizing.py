"""Turn a policy's target weights into orders sized against the live portfolio.

The policy says where it wants to be (``target_weight``); the desk works out how to get there from
the current holdings, so re-running a decision never doubles a position. Rules:

- the order is ``(target - current weight) × equity`` converted to shares at the latest price and
  FX rate, floored to whole shares (4 decimals for fractional instruments);
- a target of 0 on a held symbol sells the whole position; a sell never exceeds the holding;
- HOLD ideas and orders that round to zero shares produce no proposal (they are listed as holds
  or skipped, with the reason);
- an idea whose stated action contradicts its target (BUY with a target below the current weight)
  is skipped: the desk does not guess which half the policy meant;
- symbols outside the universe or without a price still become proposals (quantity 0, no price)
  so the risk engine rejects them on the record (UNKNOWN_SYMBOL, NO_PRICE) instead of vanishing;
- sells come first, so the cash they free is visible to the buys that follow.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from agent.schema import Action, PolicyDecision, ProposalIdea
from bot.desk.market import MarketSnapshot
from bot.desk.results import SkippedIdea
from broker.models import Account, Instrument, Position, Side
from risk.models import TradeProposal

WHOLE = Decimal(1)
FRACTION = Decimal("0.0001")


@dataclass(frozen=True)
class SizedProposal:
    """A proposal ready for the risk engine, with the idea it came from."""

    proposal: TradeProposal
    idea: ProposalIdea
    weight_before: float
    currency: str | None


@dataclass(frozen=True)
class SizingResult:
    """Orders to classify, holds and skipped ideas."""

    proposals: list[SizedProposal]
    holds: list[str]
    skipped: list[SkippedIdea]


def new_proposal_id() -> str:
    """A short id a human can type: ``p`` and 8 hex digits."""
    return "p" + secrets.token_hex(4)


def size_decision(decision: PolicyDecision, account: Account, positions: list[Position],
                  snapshot: MarketSnapshot, instruments: dict[str, Instrument],
                  new_id: Callable[[], str] = new_proposal_id) -> SizingResult:
    """Size every idea of a decision against the account (``new_id`` names each proposal, in idea order)."""
    held = {p.symbol: p for p in positions}
    sized: list[SizedProposal] = []
    holds: list[str] = []
    skipped: list[SkippedIdea] = []
    for idea in decision.proposals:
        if idea.action is Action.HOLD:
            holds.append(idea.symbol)
            continue
        result = _size_one(idea, account, held.get(idea.symbol), snapshot, instruments.get(idea.symbol), new_id)
        if isinstance(result, SkippedIdea):
            skipped.append(result)
        else:
            sized.append(result)
    sized.sort(key=lambda s: 0 if s.proposal.side is Side.SELL else 1)
    return SizingResult(proposals=sized, holds=holds, skipped=skipped)


def _size_one(idea: ProposalIdea, account: Account, position: Position | None, snapshot: MarketSnapshot,
              instrument: Instrument | None, new_id: Callable[[], str]) -> SizedProposal | SkippedIdea:
    equity = account.equity
    weight_before = weight_of(position.market_value_base, equity) if position else 0.0
    quote = snapshot.quotes.get(idea.symbol)
    fx = snapshot.fx.get(quote.currency) if quote else None
    side = Side.BUY if idea.action is Action.BUY else Side.SELL
    if instrument is None or quote is None or fx is None:
        return _unpriced(idea, side, weight_before, instrument, new_id())
    delta = target_delta(idea.target_weight, weight_before, equity)
    if (delta > 0) != (side is Side.BUY) or delta == 0:
        return SkippedIdea(symbol=idea.symbol, reason=(
            f"ACTION_CONTRADICTS_TARGET: {idea.action} with target {idea.target_weight:.1%} "
            f"and current weight {weight_before:.1%}"))
    quantity = shares(abs(delta), quote.price * fx, instrument.fractional)
    if side is Side.SELL:
        held = position.quantity if position else Decimal(0)
        quantity = held if idea.target_weight == 0 else min(quantity, held)
    if quantity <= 0:
        return SkippedIdea(symbol=idea.symbol, reason=(
            f"BELOW_ONE_SHARE: {abs(delta):.2f} {account.base_currency} at {quote.price} {quote.currency}"))
    proposal = TradeProposal(id=new_id(), symbol=idea.symbol, side=side, quantity=quantity,
                             price=quote.price, fx_rate=fx, target_weight=idea.target_weight,
                             confidence=idea.confidence, stop_loss_pct=idea.stop_loss_pct)
    return SizedProposal(proposal=proposal, idea=idea, weight_before=weight_before, currency=quote.currency)


def _unpriced(idea: ProposalIdea, side: Side, weight_before: float, instrument: Instrument | None,
              proposal_id: str) -> SizedProposal:
    proposal = TradeProposal(id=proposal_id, symbol=idea.symbol, side=side, quantity=Decimal(0),
                             target_weight=idea.target_weight, confidence=idea.confidence,
                             stop_loss_pct=idea.stop_loss_pct)
    currency = instrument.currency if instrument else None
    return SizedProposal(proposal=proposal, idea=idea, weight_before=weight_before, currency=currency)


def weight_of(value: Decimal, equity: Decimal) -> float:
    """A holding's weight as sizing and the policy context measure it (0 without equity)."""
    return float(value / equity) if equity > 0 else 0.0


def target_delta(target: float, weight_before: float, equity: Decimal) -> Decimal:
    """``(target − weight) × equity``: what moving to the target costs (negative: what it frees)."""
    return (Decimal(str(target)) - Decimal(str(weight_before))) * equity


def shares(amount: Decimal, price_base: Decimal, fractional: bool) -> Decimal:
    """``amount`` in shares at ``price_base``, floored to whole shares (4 decimals if fractional)."""
    return (amount / price_base).quantize(FRACTION if fractional else WHOLE, rounding=ROUND_DOWN)
