"""One decision's whole story: ``explain(desk, ID)`` for a proposal id or a cycle id, transport-agnostic.

A proposal's story: its cycle (as-of date, data source, policy, regime, market view), the model's
calls of that cycle (prompt and answer) or the rules policy's reasons (the stored idea), the
thesis and its numbers, the sizing, every verdict with its hits and clamp, every transition with
its actor, the human's words, the orders and fills, and the outcome against the thesis once its
horizon has passed (``bot.evaluation.decisions`` measures it; nothing is computed twice). A
cycle's story: its header, its LLM calls and one line per proposal.

Every story is redacted before it leaves (``broker.redaction``: the secrets passed in and key-shaped
text, so a key an endpoint echoed into ``llm_call.error`` before redaction existed is never shown).

Failure contract: an unknown id is a ``DeskError`` naming it; market data that cannot be loaded
for the outcome is told in the outcome's note, never raised; database errors propagate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date

import pandas as pd

from agent.market.base import MarketDataError
from bot.desk.desk import Desk
from bot.desk.explain_stories import call_story, cycle_header, order_stories, reasoning, sizing, verdict_story
from bot.desk.explain_views import (
    CycleStory,
    OutcomeStory,
    ProposalBrief,
    ProposalStory,
    TransitionStory,
    parse_story,
)
from bot.desk.results import DeskError
from bot.evaluation import decisions
from broker.redaction import Redactor
from risk.lifecycle import ProposalStatus
from storage.evaluation_store import ProposalFacts
from storage.explain_store import ExplainStore
from storage.tables import CycleRow, ProposalRow

S = ProposalStatus
MIN_ROWS = 30


def explain(desk: Desk, item_id: str, secrets: Iterable[str | None] = ()) -> ProposalStory | CycleStory:
    """The whole story of a proposal or a cycle, redacted; ``DeskError`` when the id is neither."""
    item_id = item_id.strip()
    row = desk.store.get_proposal(item_id) if item_id else None
    cycle = desk.store.get_cycle(item_id) if item_id and row is None else None
    if row is not None:
        story: ProposalStory | CycleStory = _proposal_story(desk, row)
    elif cycle is not None:
        story = _cycle_story(desk, cycle)
    else:
        raise DeskError(f"no proposal or cycle {item_id!r}")
    return parse_story(json.dumps(Redactor(secrets).value(story.model_dump(mode="json"))))


def _cycle_story(desk: Desk, cycle: CycleRow) -> CycleStory:
    rows = sorted(desk.store.proposals(cycle_id=cycle.id, limit=10_000), key=lambda r: (r.created_at, r.symbol))
    briefs = [ProposalBrief(id=r.id, symbol=r.symbol, side=r.side, level=r.verdict_level, status=r.status)
              for r in rows]
    calls = [call_story(c) for c in ExplainStore(desk.store.session).llm_calls(cycle.id)]
    return CycleStory(cycle=cycle_header(cycle), llm_calls=calls, proposals=briefs)


def _proposal_story(desk: Desk, row: ProposalRow) -> ProposalStory:
    cycle = desk.store.get_cycle(row.cycle_id)
    if cycle is None:  # the foreign key makes this impossible short of a hand-edited database
        raise DeskError(f"proposal {row.id} names cycle {row.cycle_id!r}, which is not stored")
    reads = ExplainStore(desk.store.session)
    transitions = desk.store.transitions(row.id)
    return ProposalStory(
        id=row.id, symbol=row.symbol, status=row.status, cycle=cycle_header(cycle),
        llm_calls=[call_story(c) for c in reads.llm_calls(cycle.id)], reasoning=reasoning(row),
        sizing=sizing(row, desk.universe.base_currency),
        verdicts=[verdict_story(v, hits) for v, hits in desk.store.verdicts(row.id)],
        transitions=[TransitionStory(at=t.at, actor=t.actor, from_status=t.from_status, to_status=t.to_status,
                                     note=t.note) for t in transitions],
        decided_by=row.decided_by, decision_reason=row.decision_reason,
        orders=order_stories(reads.orders(row.id), reads.fills(row.id)),
        outcome=outcome(desk, _facts(row, cycle, awaited=any(t.to_status == S.AWAITING_APPROVAL
                                                             for t in transitions))),
    )


def _facts(row: ProposalRow, cycle: CycleRow, *, awaited: bool) -> ProposalFacts:
    """The proposal as the decision-quality measures read it."""
    return ProposalFacts(
        id=row.id, as_of=cycle.as_of, symbol=row.symbol, side=row.side, quantity=float(row.quantity),
        price=float(row.price) if row.price is not None else None,
        fx_rate=float(row.fx_rate) if row.fx_rate is not None else None, confidence=row.confidence,
        status=row.status, verdict_level=row.verdict_level, idea=dict(row.idea or {}), decided_by=row.decided_by,
        awaited_human=awaited)


def outcome(desk: Desk, facts: ProposalFacts) -> OutcomeStory:
    """Realised return against the stated upside and worst case, once the horizon has passed."""
    horizon = int(decisions.idea_number(facts, "time_horizon_days"))
    upside = decisions.idea_number(facts, "expected_upside_pct")
    worst = decisions.idea_number(facts, "worst_case_loss_pct")
    if facts.as_of is None or horizon <= 0:
        return OutcomeStory(due=False, horizon_days=horizon or None, due_on=None,
                            note="not measurable: the proposal has no horizon or its cycle no as-of date")
    due_on = _due_on(facts.as_of, horizon)
    waiting = OutcomeStory(due=False, horizon_days=horizon, due_on=due_on, expected_upside_pct=upside,
                           worst_case_loss_pct=worst, note=f"not due yet: the {horizon}-day horizon ends about "
                                                        f"{due_on}")
    if desk.today < due_on:
        return waiting
    try:
        rows = max((desk.today - facts.as_of).days + horizon, MIN_ROWS)
        closes = desk.market.provider.history(desk.universe.instruments, desk.today, rows).close
    except MarketDataError as exc:
        return waiting.model_copy(update={"note": f"prices unavailable: {exc}"})
    due, _ = decisions.outcomes([facts], closes)
    if not due:
        return waiting.model_copy(update={"note": f"not measurable yet: no {horizon} rows of prices after "
                                                  f"{facts.as_of} for {facts.symbol}"})
    scored = decisions.thesis_vs_outcome(due)
    return OutcomeStory(due=True, horizon_days=horizon, due_on=due_on, realised_return=due[0].realised,
                        expected_upside_pct=upside, worst_case_loss_pct=worst,
                        reached_upside=scored["reached_upside"] == 1,
                        worse_than_worst_case=scored["worse_than_worst_case"] == 1,
                        note=_verdict(due[0].realised, upside, worst, scored))


def _due_on(as_of: date, horizon: int) -> date:
    """``horizon`` business days after ``as_of`` (exchange holidays may push the data a little later)."""
    due: date = (pd.Timestamp(as_of) + pd.offsets.BDay(horizon)).date()
    return due


def _verdict(realised: float, upside: float, worst: float, scored: dict[str, object]) -> str:
    if scored["reached_upside"] == 1:
        return f"right: {realised:+.2%} reached the expected upside of {upside:+.2%}"
    if scored["worse_than_worst_case"] == 1:
        return f"wrong: {realised:+.2%} is worse than the stated worst case of {-worst:+.2%}"
    short = "short of the thesis" if realised >= 0 else "a loss within the worst case"
    return f"{short}: {realised:+.2%} against an expected upside of {upside:+.2%} and a worst case of {-worst:+.2%}"

