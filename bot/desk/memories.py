"""The desk's side of memory: what a human decided becomes a memory; each LLM cycle recalls the nearest.

Policy: every human approval and rejection (with its reason) and every refusal at approval time
is remembered with its kind, symbol, desk date and proposal id; a later reason for a button
rejection replaces the memory made without one (the memory port keeps one memory per kind and
proposal). While another process holds the memory store (the daemon, when the CLI decides), the
memory waits in the database's queue for that process (``agent.memory.queue``): nothing is lost.
Each LLM cycle first remembers the outcomes that came due (``bot.desk.learning``), then recalls,
per instrument of interest (held, recently proposed, or among the biggest 20-day movers: at most
``MAX_SYMBOLS``, because each filtered search of the embedded store scans every memory), the
memories about that instrument nearest to its current setup, plus the nearest general ones (notes,
retrospectives) for the regime; the best ``MAX_RECALLED`` go into the prompt's fenced data block,
each with its date. Memory text is data: the desk never reads it back as a setting.

Failure contract: memory is advisory. A ``MemoryFailure`` never undoes or blocks a decision or a
cycle: it is logged and raised as one alert, and the cycle runs without memories (the memory port
turns every backend error, an embedder's or a vector store's included, into a ``MemoryFailure``:
``agent.memory.base.failures_as``). The user-facing
use cases (``remember_note``, ``search``, ``forget``), shared by Telegram and the CLI, refuse with a
one-line ``DeskError`` (memory off, empty text, unknown id; a search or a forget while another
process holds the store) and change nothing; a note added while another process holds the store is
queued, and ``remembered`` says so.
"""

from __future__ import annotations

import math
from typing import Any

import structlog

from agent.memory import MemoryBusy, MemoryFailure, MemoryKind, MemoryRecord
from agent.policies.base import PolicyContext
from bot.desk.desk import Desk
from bot.desk.results import DeskError
from risk.lifecycle import ProposalStatus
from storage.tables import ProposalRow

log = structlog.get_logger("paperdesk.memory")
S = ProposalStatus
MAX_RECALLED = 8
PER_SYMBOL = 2
GENERAL = 3
RETROSPECTIVES = 50  # the newest retrospectives searched for a sleeve's own
MAX_SYMBOLS = 12
MOVERS = 5
RECENT_PROPOSALS = 20
KIND_OF = {S.REJECTED_BY_HUMAN: MemoryKind.REJECTION, S.REJECTED_AT_APPROVAL: MemoryKind.REJECTED_AT_APPROVAL}


def remember_decision(desk: Desk, proposal_id: str) -> MemoryRecord | None:
    """Remember the human decision on a proposal (replacing an earlier memory of the same decision)."""
    row = desk.store.get_proposal(proposal_id)
    if row is None or not desk.memory.enabled:
        return None
    kind = KIND_OF.get(S(row.status), MemoryKind.APPROVAL)
    try:
        record = desk.memory.remember(decision_text(row, kind), kind, decision_metadata(desk, row))
    except MemoryFailure as exc:
        memory_failed(desk, "remember", exc)
        return None
    log.info("memory_remembered", kind=str(kind), symbol=row.symbol, proposal_id=row.id, memory_id=record.id,
             queued=record.queued)
    return record


def decision_text(row: ProposalRow, kind: MemoryKind) -> str:
    """One sentence a later prompt can use."""
    trade = f"{row.side.upper()} {row.symbol} to {row.target_weight:.1%} (confidence {row.confidence:.2f})"
    thesis = f" Thesis was: {row.thesis}" if row.thesis else ""
    if kind is MemoryKind.REJECTION:
        why = row.decision_reason or "no reason given"
        return f"Human rejected {trade}; reason: {why}.{thesis}"
    if kind is MemoryKind.REJECTED_AT_APPROVAL:
        return f"Approval of {trade} was refused at approval time: {row.decision_reason or row.status}.{thesis}"
    return f"Human approved {trade} at {row.price} {row.currency or ''}.{thesis}".replace(" .", ".")


def decision_metadata(desk: Desk, row: ProposalRow) -> dict[str, Any]:
    """Kind-independent fields: symbol, desk date, proposal id, who decided."""
    return {"symbol": row.symbol, "date": desk.today.isoformat(), "proposal_id": row.id,
            "side": row.side, "actor": row.decided_by, "status": str(row.status)}


def _require_memory(desk: Desk) -> None:
    if not desk.memory.enabled:
        raise DeskError("memory is off: set PAPERDESK_MEMORY=mem0 to remember and recall")


def remember_note(desk: Desk, text: str, actor: str) -> MemoryRecord:
    """A note a user adds (``/remember TEXT``)."""
    _require_memory(desk)
    try:
        record = desk.memory.remember(text, MemoryKind.NOTE, {"date": desk.today.isoformat(), "actor": actor})
    except ValueError as exc:
        raise DeskError(str(exc)) from None
    except MemoryFailure as exc:
        raise DeskError(f"nothing remembered: {exc}") from None
    log.info("memory_note_added", actor=actor, memory_id=record.id, queued=record.queued)
    return record


def remembered(record: MemoryRecord) -> str:
    """What became of a note: its id, or its place in the queue."""
    if record.queued is not None:
        return (f"queued as #{record.queued}: another process (usually `paperdesk run`) holds the memory store "
                "and will store it on its next use of memory")
    return f"remembered as {record.id}"


def search(desk: Desk, query: str | None, limit: int = 10) -> list[MemoryRecord]:
    """The newest memories, or the nearest to ``query`` (``/memory [QUERY]``)."""
    _require_memory(desk)
    try:
        return desk.memory.recall(query, limit) if query and query.strip() else desk.memory.list(limit)
    except MemoryBusy as exc:
        raise DeskError(f"{exc}: search it there (Telegram /memory) or once it stops") from None
    except MemoryFailure as exc:
        raise DeskError(str(exc)) from None


def forget(desk: Desk, memory_id: str, actor: str) -> str:
    """Remove one memory (``/forget ID``); the message says what happened."""
    _require_memory(desk)
    try:
        removed = desk.memory.forget(memory_id.strip())
    except MemoryBusy as exc:
        raise DeskError(f"{exc}: forget it there (Telegram /forget) or once it stops") from None
    except MemoryFailure as exc:
        raise DeskError(str(exc)) from None
    if not removed:
        raise DeskError(f"no memory {memory_id!r}: /memory (Telegram) or `paperdesk memory` lists them with their ids")
    log.info("memory_forgotten", actor=actor, memory_id=memory_id)
    return f"memory {memory_id} forgotten by {actor}"


def memory_failed(desk: Desk, action: str, exc: Exception) -> None:
    """Log and alert; memory never blocks the desk."""
    log.warning("memory_failed", action=action, error=str(exc))
    consequence = " (no memories this cycle)" if action == "recall" else ""
    desk.store.add_alert("memory_failed", "warning", f"memory {action} failed{consequence}: {exc}")


def heading(record: MemoryRecord) -> str:
    """Date, kind and symbol of a memory."""
    meta = record.metadata
    when = meta.get("date") or (f"{record.created_at:%Y-%m-%d}" if record.created_at else "undated")
    about = f" {meta['symbol']}" if meta.get("symbol") else ""
    return f"{when} {record.kind}{about}"


def line(record: MemoryRecord) -> str:
    """A recalled memory as the prompt shows it: date, kind, symbol, text."""
    return f"{heading(record)}: {record.text}"


def setup_query(symbol: str, context: PolicyContext) -> str:
    """A symbol's situation in words, the query its memories are matched against."""
    instrument = context.instruments[symbol]
    table = context.indicators.table
    row = table.loc[symbol].to_dict() if symbol in table.index else {}
    parts = [f"{symbol} {instrument.asset_class} {instrument.sector}"]
    for key, label in (("return_20d", "20-day return"), ("drawdown_252", "below its 52-week high")):
        value = _finite(row.get(key))
        if value is not None:
            parts.append(f"{label} {value:+.1%}")
    rsi = _finite(row.get("rsi14"))
    if rsi is not None:
        parts.append(f"RSI {rsi:.0f}")
    held = context.holdings.get(symbol)
    parts.append(f"held at {held.weight:.1%}" if held else "not held")
    return ", ".join(parts) + f"; regime {context.indicators.regime}"


def symbols_of_interest(desk: Desk, context: PolicyContext) -> list[str]:
    """Held symbols, then recently proposed ones, then the biggest 20-day movers (at most ``MAX_SYMBOLS``)."""
    table = context.indicators.table
    moves = {s: abs(_finite(table.loc[s].get("return_20d")) or 0.0) for s in context.instruments if s in table.index}
    movers = sorted(moves, key=lambda s: -moves[s])[:MOVERS]
    recent = [row.symbol for row in desk.store.proposals(limit=RECENT_PROPOSALS)]
    ordered = dict.fromkeys(s for s in [*sorted(context.holdings), *recent, *movers] if s in context.instruments)
    return list(ordered)[:MAX_SYMBOLS]


def recall_for(desk: Desk, context: PolicyContext) -> list[str]:
    """The memories for this cycle's prompt, best first."""
    found: dict[str, MemoryRecord] = {}
    for symbol in symbols_of_interest(desk, context):
        for record in desk.memory.recall(setup_query(symbol, context), PER_SYMBOL, symbol=symbol):
            found.setdefault(record.id, record)
    general = f"regime {context.indicators.regime}: lessons, notes, outcomes and weekly retrospectives"
    if context.sleeve is not None:
        general = f"sleeve {context.sleeve}, {general}"
    for record in desk.memory.recall(general, GENERAL):
        found.setdefault(record.id, record)
    mine = [r for r in found.values() if r.metadata.get("sleeve") in {None, context.sleeve}]  # not another sleeve's
    best = sorted(mine, key=lambda r: -(r.score or 0.0))[:MAX_RECALLED]
    own = _latest_retrospective(desk, context.sleeve) if context.sleeve is not None else None
    if own is not None and all(r.id != own.id for r in best):
        best = [own, *best[:MAX_RECALLED - 1]]  # a sleeve's prompt always carries its own latest retrospective
    return [line(record) for record in best]


def _latest_retrospective(desk: Desk, sleeve: str) -> MemoryRecord | None:
    return next((r for r in desk.memory.list(RETROSPECTIVES, kind=MemoryKind.RETROSPECTIVE)
                 if r.metadata.get("sleeve") == sleeve), None)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
