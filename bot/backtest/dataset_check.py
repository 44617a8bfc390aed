"""A label's decision, written out and held to the desk's checks: the gate, sizing and the risk engine.

Policy: target weights become a ``PolicyDecision`` (``decide``): a held symbol whose target is within
``HOLD_BAND`` of its weight is a HOLD at its weight (floored to 4 decimals, as the gate wants), a
target of 0 on a holding is a SELL of all of it, any other change a BUY or SELL to the target
(floored to 4 decimals); the texts say honestly that the label was chosen with hindsight and show
the realised numbers. ``settle`` sizes the decision with the desk's ``size_decision`` and classifies
the orders in order in the state's risk context as if every BORDERLINE one were approved
(``classify_batch(..., borderline_approved=True)``: each order that is not UNSAFE is applied before
the next is classified, so approving all of them together stays within the limits); an UNSAFE
order's target goes back to the current weight, a clamped one's to the clamp's weight, an idea that
sizes to no order too, and the round repeats, at most ``MAX_ROUNDS`` times (``settle``). A settled
decision is accepted when it passes the validation gate (``agent.llm.gate.screen``, nothing dropped)
and ``classify_batch``, as the desk runs it, finds no UNSAFE order (``confirm``). The weights it
reaches are measured from the sized orders.

Failure contract: pure; ``settle`` returns None when the rounds do not settle.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from agent.llm.gate import screen
from agent.policies.rules_sizing import floor4
from agent.schema import Action, PolicyDecision, ProposalIdea
from bot.desk.market import MarketSnapshot
from bot.desk.sizing import SizingResult, size_decision
from broker.models import Account, Instrument, Position, Side
from risk import classify_batch
from risk.limits import RiskLimits
from risk.measures import ReturnsMatrix
from risk.models import Level, RiskContext, RiskVerdict, TradeProposal

HOLD_BAND = 0.005
MAX_ROUNDS = 4


@dataclass(frozen=True)
class Book:
    """One state on one day, as sizing, the engine and the gate see it, with its forward returns."""

    account: Account
    positions: list[Position]
    snapshot: MarketSnapshot
    ctx: RiskContext  # with the market facts of the snapshot
    instruments: dict[str, Instrument]
    limits: RiskLimits
    listed: tuple[str, ...]  # where a new position may go: listed in the prompt and a candidate of the day
    shown: tuple[str, ...]  # every symbol the prompt lists
    current: dict[str, float]  # the policy context's holding weights
    forward: ReturnsMatrix  # horizon × symbols daily returns after the day (base currency)
    horizon: int


@dataclass(frozen=True)
class Accepted:
    """A decision the desk's checks accept, the weights its orders reach and their risk levels."""

    decision: PolicyDecision
    weights: dict[str, float]
    levels: tuple[str, ...]
    proposals: list[TradeProposal] = field(compare=False, repr=False)


def decide(book: Book, targets: Mapping[str, float], view: str = "") -> PolicyDecision:
    """The decision that moves the portfolio to ``targets`` (symbols not named keep their weight)."""
    ideas = []
    for symbol in sorted({*targets, *book.current}):
        now, target = book.current.get(symbol, 0.0), targets.get(symbol, book.current.get(symbol, 0.0))
        if symbol in book.current and target == 0:
            action = Action.SELL
        elif abs(target - now) < HOLD_BAND:
            if symbol not in book.current:
                continue
            action, target = Action.HOLD, floor4(now)
        else:
            action = Action.BUY if target > now else Action.SELL
        ideas.append(_idea(book, symbol, action, floor4(target)))
    return PolicyDecision(market_view=view or "hindsight label", proposals=ideas)


def _idea(book: Book, symbol: str, action: Action, target: float) -> ProposalIdea:
    path = book.forward.column(symbol)
    growth = np.cumprod(1 + path)
    total, worst = float(growth[-1] - 1), max(0.0, float(1 - growth.min()))
    agree = float(np.mean(path < 0 if action is Action.SELL else path > 0))
    confidence = round(min(0.95, max(0.6, book.limits.min_confidence) + 0.35 * agree), 2)
    return ProposalIdea(
        symbol=symbol, action=action, target_weight=target, confidence=confidence,
        thesis=(f"Hindsight label: {symbol} returned {total:+.1%} over the next {book.horizon} trading days "
                f"(lowest point {0.0 - worst:+.1%}); {action} to {target:.1%} of equity."),
        expected_upside_pct=round(max(total, 0.0), 4), worst_case_loss_pct=round(worst, 4),
        time_horizon_days=book.horizon, stop_loss_pct=None,
        risk_factors=["label chosen with hindsight of the realised returns"], catalysts=[],
        exit_triggers=[f"review after {book.horizon} trading days"])


def size(book: Book, decision: PolicyDecision) -> SizingResult:
    """The desk's sizing of ``decision`` against the state (ids ``d0``, ``d1``, … in order)."""
    ids = (f"d{n}" for n in itertools.count())
    return size_decision(decision, book.account, book.positions, book.snapshot, book.instruments, lambda: next(ids))


def settle(book: Book, targets: Mapping[str, float]) -> Accepted | None:
    """The repaired decision for ``targets`` once no order needs a repair, or None when the rounds do not settle."""
    wanted = {s: floor4(w) for s, w in targets.items()}
    for _ in range(MAX_ROUNDS):
        decision = decide(book, wanted)
        sized = size(book, decision)
        proposals = [s.proposal for s in sized.proposals]
        verdicts = classify_batch(proposals, book.ctx, book.limits, borderline_approved=True)
        repairs = _repairs(book, sized, verdicts)
        if not repairs:
            return Accepted(decision, _weights(book, proposals), tuple(str(v.level) for v in verdicts), proposals)
        changed = {**wanted, **repairs}
        if changed == wanted:
            return None
        wanted = changed
    return None


def confirm(book: Book, accepted: Accepted) -> bool:
    """Whether the gate keeps every idea of a settled decision and ``classify_batch`` refuses none of its orders."""
    gate = screen(accepted.decision.model_dump(mode="json"), frozenset(book.instruments), book.current,
                  book.limits.min_cash_weight, frozenset(book.shown))
    if gate.decision is None or gate.dropped:
        return False
    return all(v.level is not Level.UNSAFE for v in classify_batch(accepted.proposals, book.ctx, book.limits))


def _repairs(book: Book, sized: SizingResult, verdicts: list[RiskVerdict]) -> dict[str, float]:
    out = {s.symbol: book.current.get(s.symbol, 0.0) for s in sized.skipped}
    for item, verdict in zip(sized.proposals, verdicts, strict=True):
        symbol = item.proposal.symbol
        if verdict.level is Level.UNSAFE:
            out[symbol] = book.current.get(symbol, 0.0)
        elif verdict.clamp is not None:
            out[symbol] = floor4(verdict.clamp.weight_after)
    return out


def _weights(book: Book, proposals: list[TradeProposal]) -> dict[str, float]:
    """The weights the portfolio reaches once ``proposals`` are executed at their prices."""
    weights = dict(book.current)
    equity = book.account.equity
    for p in proposals:
        delta = float(p.notional_base / equity) if equity > 0 else 0.0
        weights[p.symbol] = weights.get(p.symbol, 0.0) + (delta if p.side is Side.BUY else -delta)
    return {s: w for s, w in weights.items() if w > 1e-9}
