"""Recovery after a process died mid-cycle or mid-approval (``kill -9``, power loss).

Policy: runs under the book lock (``Desk.book``), which every cycle holds from storing its
proposals to completing, and every approval from its re-check to its recorded order. So whatever
is found there in a transient state belongs to a process that is gone:
- a cycle still ``running`` becomes ``interrupted`` (with the reason in ``error``);
- a SAFE or APPROVED proposal was never sent (SUBMITTING is committed before any broker call, and
  SUBMITTING rows are the reconciler's): it becomes CANCELED and is never sent on its own — it was
  sized against a book that has moved on;
- the AWAITING_APPROVAL proposals of an interrupted cycle were never announced: their ids are
  returned so the daemon can announce them (``paperdesk pending`` lists them too).
Failure contract: database errors propagate; every change is a compare-and-set, so two recoveries
never double anything.
"""

from __future__ import annotations

import structlog

from bot.desk.desk import Desk
from risk.lifecycle import ProposalStatus
from storage.tables import ProposalRow

log = structlog.get_logger("paperdesk.recovery")
S = ProposalStatus
INTERRUPTED = "interrupted: the process stopped before the cycle completed"
NOT_SENT = "not sent: the process stopped before the order reached the broker; decide again"


def recover_interrupted(desk: Desk) -> tuple[list[str], list[ProposalRow], list[ProposalRow]]:
    """Close what a dead process left open; (interrupted cycle ids, canceled rows, rows awaiting announcement)."""
    cycles = [c.id for c in desk.store.cycles_in("running")]
    for cycle_id in cycles:
        desk.store.update_cycle(cycle_id, status="interrupted", error=INTERRUPTED, finished_at=desk.clock())
        log.warning("cycle_interrupted", cycle_id=cycle_id)
    canceled = []
    for row in desk.store.proposals([S.SAFE, S.APPROVED], limit=100_000):
        if desk.store.transition(row.id, S(row.status), S.CANCELED, "system", note=NOT_SENT, decision_reason=NOT_SENT):
            canceled.append(row)
            log.warning("unsent_proposal_canceled", proposal_id=row.id, symbol=row.symbol, was=row.status)
    awaiting = [row for cycle_id in cycles
                for row in desk.store.proposals([S.AWAITING_APPROVAL], cycle_id=cycle_id, limit=10_000)]
    return cycles, canceled, awaiting
