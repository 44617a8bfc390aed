"""Use cases that chat front ends need beyond the CLI's: button checks, late reject reasons, one proposal.

Transport-agnostic like the rest of the desk: a refusal is a ``DeskError`` with a one-line reason
and changes nothing.
"""

from __future__ import annotations

import hmac

import structlog

from bot.desk.desk import Desk
from bot.desk.lines import line_from_row
from bot.desk.memories import remember_decision
from bot.desk.results import DecisionResult, DeskError, ProposalLine
from risk.lifecycle import ProposalStatus
from storage.telegram_store import TelegramStore

log = structlog.get_logger("paperdesk.chat")
STALE_BUTTON = "this button is no longer valid"


def proposal_line(desk: Desk, proposal_id: str) -> ProposalLine:
    """One stored proposal as a human reads it."""
    row = desk.store.get_proposal(proposal_id)
    if row is None:
        raise DeskError(f"no proposal {proposal_id!r}")
    return line_from_row(desk.store, row)


def check_button(desk: Desk, proposal_id: str, nonce: str) -> None:
    """Refuse a button whose nonce does not match its proposal (forged, or from another database)."""
    row = desk.store.get_proposal(proposal_id)
    if row is None or not row.nonce or not hmac.compare_digest(row.nonce, nonce):
        log.warning("button_refused", proposal_id=proposal_id)
        raise DeskError(STALE_BUTTON)


def attach_reason(desk: Desk, proposal_id: str, actor: str, reason: str) -> DecisionResult:
    """Record why a proposal was rejected, after a rejection made without a reason by the same person."""
    reason = reason.strip()
    row = desk.store.get_proposal(proposal_id)
    if row is None:
        raise DeskError(f"no proposal {proposal_id!r}")
    if not reason:
        raise DeskError("the reason is empty")
    if row.status != ProposalStatus.REJECTED_BY_HUMAN or row.decided_by != actor:
        raise DeskError(f"proposal {proposal_id} is {row.status}; only your own rejection can take a reason")
    if not TelegramStore(desk.store.session, desk.clock).attach_reject_reason(proposal_id, reason):
        raise DeskError(f"proposal {proposal_id} already has a reason: {row.decision_reason}")
    log.info("reject_reason_recorded", proposal_id=proposal_id, actor=actor)
    remember_decision(desk, proposal_id)
    return DecisionResult(proposal=proposal_line(desk, proposal_id),
                          message=f"{proposal_id} rejected by {actor}: {reason}")
