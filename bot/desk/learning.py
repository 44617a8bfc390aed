"""The learning loop: outcomes against their thesis, the weekly retrospective, and the LLM's recall hook.

Policy: an executed proposal whose horizon has passed (``bot.evaluation.decisions.outcomes``: the
same definition the reports use) is remembered once, as an OUTCOME memory comparing the realised
return with the stated upside and worst case. ``weekly_retrospective(desk, memory)`` is the
function the daemon's weekly job calls: it writes one RETROSPECTIVE memory saying which theses
worked, which risk rules fired most, and how confident the agent was versus how often it was
right. A desk divided into sleeves also writes one retrospective per sleeve (its proposals only, tagged with
the sleeve), which its own prompts recall and the other sleeves' do not (``bot.desk.memories``).
``Recaller`` is what the composition root gives the LLM policy as its ``recall`` hook.

Failure contract: market-data errors, and a memory store held by another process, leave outcomes
for a later day (the retrospective is then queued for that process); a ``MemoryFailure`` is
logged and alerted (``bot.desk.memories.memory_failed``) and never stops a cycle or a job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import pandas as pd
import structlog

from agent.market.base import MarketDataError
from agent.memory import Memory, MemoryBusy, MemoryFailure, MemoryKind, MemoryRecord
from agent.policies.base import PolicyContext
from bot.desk.desk import Desk
from bot.desk.lines import line_from_row
from bot.desk.memories import memory_failed, recall_for
from bot.evaluation import decisions
from storage.evaluation_store import EvaluationStore

log = structlog.get_logger("paperdesk.learning")
RETRO_DAYS = 7
THESIS_WINDOW_DAYS = 35
ALL = 100_000


def outcome_text(o: decisions.Outcome) -> str:
    """How one due proposal turned out against its thesis."""
    upside = decisions.idea_number(o.facts, "expected_upside_pct")
    worst = decisions.idea_number(o.facts, "worst_case_loss_pct")
    if o.realised >= upside:
        verdict = "the thesis worked: it reached the expected upside"
    elif o.realised < -worst:
        verdict = "the thesis failed: it lost more than the stated worst case"
    else:
        verdict = "between the worst case and the expected upside"
    thesis = str(o.facts.idea.get("thesis") or "").strip()
    return (f"Outcome of {o.facts.side.upper()} {o.facts.symbol} from {o.facts.as_of} after {o.horizon} days: "
            f"realised {o.realised:+.1%} vs expected upside {upside:+.1%} and worst case {-worst:+.1%}; {verdict}"
            f" (confidence was {o.facts.confidence:.2f})." + (f" Thesis was: {thesis}" if thesis else ""))


def remember_outcomes(desk: Desk, closes: pd.DataFrame | None = None, memory: Memory | None = None) -> int:
    """Remember each executed proposal that came due and is not remembered yet; returns how many."""
    memory = memory or desk.memory
    if not memory.enabled:
        return 0
    done = {r.metadata.get("proposal_id") for r in memory.list(ALL, kind=MemoryKind.OUTCOME)}
    todo = [p for p in EvaluationStore(desk.store.session).proposal_facts()
            if p.status in decisions.EXECUTED and p.id not in done]
    if not todo:
        return 0
    if closes is None:
        try:
            closes = desk.snapshot().history.close
        except MarketDataError as exc:
            log.warning("outcomes_postponed", error=str(exc))
            return 0
    due, _ = decisions.outcomes(todo, closes)
    for o in due:
        memory.remember(outcome_text(o), MemoryKind.OUTCOME, {
            "symbol": o.facts.symbol, "date": desk.today.isoformat(), "proposal_id": o.facts.id,
            "side": o.facts.side, "realised": round(o.realised, 4)})
    if due:
        log.info("outcomes_remembered", count=len(due))
    return len(due)


def retrospective_text(desk: Desk, closes: pd.DataFrame, symbols: frozenset[str] | None = None) -> str:
    """The week in a few sentences: theses that worked, rules that fired, confidence vs hit rate (of the
    proposals of ``symbols`` only, when given: one sleeve's)."""
    today = desk.today
    facts = [p for p in EvaluationStore(desk.store.session).proposal_facts()
             if p.as_of is not None and p.as_of > today - timedelta(days=THESIS_WINDOW_DAYS)
             and (symbols is None or p.symbol in symbols)]
    week = [p for p in facts if p.as_of is not None and p.as_of > today - timedelta(days=RETRO_DAYS)]
    due, pending = decisions.outcomes([p for p in facts if p.status in decisions.EXECUTED], closes)
    worked = sorted((o for o in due if o.realised > 0), key=lambda o: -o.realised)
    failed = sorted((o for o in due if o.realised <= 0), key=lambda o: o.realised)
    statuses = Counter(p.status for p in week)
    calibration = decisions.calibration(due)
    confidence = decisions.mean([o.facts.confidence for o in due])
    hit_rate = decisions.mean([1.0 if o.realised > 0 else 0.0 for o in due])
    parts = [f"Week to {today}: {len(week)} proposal(s) ("
             + (", ".join(f"{n} {s}" for s, n in statuses.most_common()) or "none") + ")."]
    parts.append(f"Theses judged over {THESIS_WINDOW_DAYS} days: {len(due)} due, {pending} not yet; "
                 f"worked: {_names(worked)}; did not: {_names(failed)}.")
    parts.append(f"Risk rules that fired most this week: {_codes(desk, [p.id for p in week])}.")
    if confidence is not None and hit_rate is not None:
        parts.append(f"Mean confidence {confidence:.2f} vs hit rate {hit_rate:.0%} (Brier {calibration['brier']:.2f}): "
                     + ("overconfident." if confidence > hit_rate + 0.1 else
                        "underconfident." if confidence < hit_rate - 0.1 else "about right."))
    else:
        parts.append("No due outcome yet to compare confidence with.")
    return " ".join(parts)


def weekly_retrospective(desk: Desk, memory: Memory | None = None) -> MemoryRecord | None:
    """Write this week's retrospective memory (the daemon's weekly job); None when memory is off or failing."""
    memory = memory or desk.memory
    if not memory.enabled:
        return None
    try:
        closes = desk.snapshot().history.close
    except MarketDataError:
        closes = pd.DataFrame()
    try:
        try:
            remember_outcomes(desk, closes, memory)
        except MemoryBusy:  # outcomes come from the database: the next holder of the store remembers them
            log.info("outcomes_postponed", reason="the memory store is held by another process")
        record = memory.remember(retrospective_text(desk, closes), MemoryKind.RETROSPECTIVE,
                                 {"date": desk.today.isoformat()})  # queued while another process holds the store
        for sleeve in desk.sleeves.policy.sleeves if desk.sleeves is not None else ():
            memory.remember(f"Sleeve {sleeve.name}: " + retrospective_text(desk, closes, sleeve.symbols),
                            MemoryKind.RETROSPECTIVE, {"date": desk.today.isoformat(), "sleeve": sleeve.name})
    except MemoryFailure as exc:
        memory_failed(desk, "weekly retrospective", exc)
        return None
    log.info("retrospective_remembered", memory_id=record.id)
    return record


class Recaller:
    """The LLM policy's recall hook: remember due outcomes, then recall for the context."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def __call__(self, context: PolicyContext) -> Sequence[str]:
        """Memories for one prompt ([] when memory is off or failing)."""
        if not self.desk.memory.enabled:
            return []
        try:
            remember_outcomes(self.desk)
            lines = recall_for(self.desk, context)
        except MemoryFailure as exc:
            memory_failed(self.desk, "recall", exc)
            return []
        log.info("memory_recalled", count=len(lines), cycle_id=context.cycle_id)
        return lines


def _names(outcomes: Sequence[decisions.Outcome], limit: int = 4) -> str:
    shown = [f"{o.facts.side.upper()} {o.facts.symbol} {o.realised:+.1%}" for o in outcomes[:limit]]
    return ", ".join(shown) + (f" and {len(outcomes) - limit} more" if len(outcomes) > limit else "") or "none"


def _codes(desk: Desk, proposal_ids: Sequence[str], limit: int = 3) -> str:
    counts: Counter[str] = Counter()
    for proposal_id in proposal_ids:
        row = desk.store.get_proposal(proposal_id)
        if row is not None:
            counts.update(line_from_row(desk.store, row).codes)
    return ", ".join(f"{code} ({n})" for code, n in counts.most_common(limit)) or "none"
