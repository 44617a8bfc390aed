"""Reconciliation: every order the desk may have open is settled with the broker by client_order_id.

Policy: first, under the book lock, what a dead process left mid-cycle is closed
(``bot/desk/recovery.py``: interrupted cycles, SAFE/APPROVED proposals never sent, approvals never
announced). Then, under the submission lock (so an order in flight in another process is never mistaken for
one lost in a crash), each SUBMITTING, SUBMITTED or PARTIALLY_FILLED proposal, oldest first, is
looked up at the broker by its client_order_id (the proposal id):
- found: the order and its fills are recorded and the status follows the order's (SUBMITTED,
  FILLED, PARTIALLY_FILLED, BROKER_REJECTED, CANCELED);
- not found and SUBMITTING: the process died before the order reached the broker. It becomes
  CANCELED with the note "not submitted before crash" and is never resubmitted automatically: a
  human decides (CANCELED, not BROKER_REJECTED, because the broker refused nothing);
- not found and SUBMITTED/PARTIALLY_FILLED: reported as a difference and left alone.
Then the broker's positions are compared with the net positions implied by the recorded fills
(the desk's ledger of record; the last position snapshot is stale by construction after a crash
between a fill and the end of its cycle), and every mismatch is reported. Anything resolved or
different is stored as one ``reconcile`` alert, which the daemon and the cycle report pass on.

Failure contract: broker errors propagate, and the proposal being looked at is unchanged; when
the submission lock stays busy for ``desk.lock_wait`` seconds nothing changes and ``skipped``
says why. Cheap when nothing is open: one indexed query, one positions call, one scan of fills.
"""

from __future__ import annotations

from decimal import Decimal

import structlog
from pydantic import BaseModel, ConfigDict

from bot.desk.desk import Desk
from bot.desk.recovery import NOT_SENT, recover_interrupted
from bot.desk.results import DeskError
from risk.lifecycle import ProposalStatus
from storage.instance_lock import submission_lock
from storage.tables import ProposalRow

log = structlog.get_logger("paperdesk.reconcile")
S = ProposalStatus
OPEN = (S.SUBMITTING, S.SUBMITTED, S.PARTIALLY_FILLED)
NOT_SUBMITTED = "not submitted before crash: the broker has no order with this client_order_id; decide again"


class Resolution(BaseModel):
    """One proposal whose status reconciliation moved on."""

    model_config = ConfigDict(frozen=True)

    id: str
    symbol: str
    before: str
    after: str
    note: str


class ReconcileReport(BaseModel):
    """What a reconciliation found and did."""

    model_config = ConfigDict(frozen=True)

    checked: int = 0
    resolved: list[Resolution] = []
    differences: list[str] = []
    skipped: str | None = None
    interrupted: list[str] = []
    awaiting: list[str] = []

    @property
    def clean(self) -> bool:
        """Nothing was resolved, nothing differs and nothing was skipped."""
        return not (self.resolved or self.differences or self.skipped or self.interrupted)

    def lines(self) -> list[str]:
        """The report as lines a human reads (empty when clean)."""
        out = [f"cycle {c} was interrupted (the process stopped); it is marked interrupted" for c in self.interrupted]
        out += [f"{r.id} ({r.symbol}): {r.before} -> {r.after}: {r.note}" for r in self.resolved]
        out += [f"{p} awaits approval (its cycle was interrupted before announcing it)" for p in self.awaiting]
        out += [f"difference: {d}" for d in self.differences]
        return out + ([f"skipped: {self.skipped}"] if self.skipped else [])

    def summary(self) -> str:
        """One message for an alert."""
        if self.clean:
            return f"reconcile: {self.checked} open order(s) checked, positions match the recorded fills"
        return "reconcile: " + "; ".join(self.lines())


async def reconcile(desk: Desk, *, positions: bool = True) -> ReconcileReport:
    """Close what a dead process left, settle every open order with the broker, compare positions, alert."""
    try:
        async with desk.book("reconcile"):
            report = await _reconcile_locked(desk, positions)
    except DeskError as exc:
        log.warning("reconcile_skipped", reason=str(exc))
        return ReconcileReport(skipped=str(exc))
    if not report.clean:
        desk.store.add_alert("reconcile", "warning", report.summary(),
                             detail={"resolved": [r.id for r in report.resolved], "differences": report.differences,
                                     "interrupted": report.interrupted, "awaiting": report.awaiting})
    log.info("reconciled", checked=report.checked, resolved=len(report.resolved),
             differences=len(report.differences), interrupted=len(report.interrupted))
    return report


async def _reconcile_locked(desk: Desk, positions: bool) -> ReconcileReport:
    interrupted, canceled, awaiting = recover_interrupted(desk)
    resolved = [Resolution(id=r.id, symbol=r.symbol, before=r.status, after=S.CANCELED, note=NOT_SENT)
                for r in canceled]
    lock = submission_lock(desk.store.engine)
    if not await lock.acquire(within=desk.lock_wait):
        reason = f"the submission lock stayed busy ({lock.holder() or 'unknown holder'}) for {desk.lock_wait:g} s"
        return ReconcileReport(skipped=reason, resolved=resolved, interrupted=interrupted,
                               awaiting=[r.id for r in awaiting])
    try:
        rows = list(reversed(desk.store.proposals(list(OPEN), limit=100_000)))
        differences: list[str] = []
        for row in rows:
            found = await _settle(desk, row)
            if isinstance(found, Resolution):
                resolved.append(found)
            elif found is not None:
                differences.append(found)
        if positions:
            differences += await _position_differences(desk)
    finally:
        lock.release()
    return ReconcileReport(checked=len(rows), resolved=resolved, differences=differences,
                           interrupted=interrupted, awaiting=[r.id for r in awaiting])


async def _settle(desk: Desk, row: ProposalRow) -> Resolution | str | None:
    """Bring one open proposal in line with the broker; a Resolution, a difference, or None."""
    status = S(row.status)
    order = await desk.broker.order_by_client_id(row.id)
    if order is None:
        if status is not S.SUBMITTING:
            return f"{row.id} ({row.symbol}) is {status} but the broker has no order with client_order_id {row.id}"
        if not desk.store.transition(row.id, S.SUBMITTING, S.CANCELED, "system", note=NOT_SUBMITTED,
                                     decision_reason=NOT_SUBMITTED):
            return None
        log.warning("reconcile_not_submitted", proposal_id=row.id, symbol=row.symbol)
        return Resolution(id=row.id, symbol=row.symbol, before=status, after=S.CANCELED, note=NOT_SUBMITTED)
    if not desk.store.record_execution(row.id, status, order, desk.broker.name):
        return None
    fresh = desk.store.get_proposal(row.id)
    after = fresh.status if fresh is not None else status
    if after == status:
        return None
    note = f"order {order.id} {order.status}, {order.filled_quantity.normalize():f} filled"
    log.warning("reconcile_recorded", proposal_id=row.id, before=str(status), after=after, order_id=order.id)
    return Resolution(id=row.id, symbol=row.symbol, before=status, after=after, note=note)


async def _position_differences(desk: Desk) -> list[str]:
    """Symbols where the broker's quantity differs from the net of the recorded fills."""
    expected = desk.store.fill_positions()
    held = {p.symbol: p.quantity for p in await desk.broker.positions()}
    differences = []
    for symbol in sorted(set(expected) | set(held)):
        want, have = expected.get(symbol, Decimal(0)), held.get(symbol, Decimal(0))
        if want != have:
            foreign = (f" ({(have - want).normalize():f} not bought by the desk: left alone)"
                       if have > want >= 0 else "")
            differences.append(f"{symbol}: the broker holds {have.normalize():f}, "
                               f"the recorded fills add up to {want.normalize():f}{foreign}")
    return differences
