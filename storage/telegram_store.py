"""Storage for chat front ends: the notification outbox and the messages that show proposals.

One short transaction per call, like the Store. The outbox keeps every notification until it is
delivered (an outage loses nothing). A notification sent in several parts records each part as it
goes (with, in the same transaction, the message that shows its proposal), so a retry or a restart
resumes at the first part not yet delivered and an approval message sent late still gets its
message id recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from risk.lifecycle import ProposalStatus
from storage.tables import ProposalRow
from storage.tables_telegram import NotificationRow, TelegramMessageRow

Clock = Callable[[], datetime]
SessionFactory = Callable[[], AbstractContextManager[Session]]
GAVE_UP = "gave up: "


class TelegramStore:
    """Outbox rows and proposal messages; every public method is one transaction."""

    def __init__(self, session: SessionFactory, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    # outbox ------------------------------------------------------------------------------------

    def enqueue(self, kind: str, level: str, text: str, *, reply_markup: dict[str, Any] | None = None,
                proposal_id: str | None = None, photo_path: str | None = None) -> int:
        """Store a notification before any attempt to send it; returns its id."""
        row = NotificationRow(created_at=self._clock(), kind=kind, level=level, text=text, reply_markup=reply_markup,
                              proposal_id=proposal_id, photo_path=photo_path)
        with self._session() as s:
            s.add(row)
            s.flush()
            assert row.id is not None  # noqa: S101  (set by flush)
            return row.id

    def undelivered(self, limit: int = 100) -> list[NotificationRow]:
        """Notifications still to deliver, oldest first (those given up on are left out)."""
        with self._session() as s:
            stmt = (select(NotificationRow).where(col(NotificationRow.delivered_at).is_(None))
                    .order_by(col(NotificationRow.id)).limit(limit))
            return [row for row in s.exec(stmt) if not (row.last_error or "").startswith(GAVE_UP)]

    def notification(self, notification_id: int) -> NotificationRow | None:
        """One notification by id."""
        with self._session() as s:
            return s.get(NotificationRow, notification_id)

    def failed_attempt(self, notification_id: int, error: str, next_attempt_at: datetime | None,
                       give_up: bool = False) -> None:
        """Count a failed attempt (and, for a permanent error, stop retrying)."""
        with self._session() as s:
            row = s.get(NotificationRow, notification_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = (GAVE_UP if give_up else "") + error[:500]
            row.next_attempt_at = next_attempt_at
            s.add(row)

    def part_delivered(self, notification_id: int, index: int, chat_id: str, message_id: int, *,
                       shows_proposal: bool) -> None:
        """Count part ``index`` as delivered; remember its message when it is the one that shows the proposal."""
        now = self._clock()
        with self._session() as s:
            row = s.get(NotificationRow, notification_id)
            if row is None or row.parts_sent > index:
                return
            row.parts_sent = index + 1
            s.add(row)
            if shows_proposal and row.proposal_id is not None:
                s.add(TelegramMessageRow(proposal_id=row.proposal_id, chat_id=chat_id, message_id=message_id,
                                         kind=row.kind, created_at=now, updated_at=now))

    def delivered(self, notification_id: int) -> None:
        """Mark a notification delivered (every part of it went out)."""
        with self._session() as s:
            row = s.get(NotificationRow, notification_id)
            if row is None or row.delivered_at is not None:
                return
            row.attempts += 1
            row.delivered_at = self._clock()
            row.last_error = None
            s.add(row)

    # proposal messages ----------------------------------------------------------------------------

    def message_for(self, chat_id: str, message_id: int) -> TelegramMessageRow | None:
        """The proposal message with this id in this chat, if it is one."""
        with self._session() as s:
            stmt = select(TelegramMessageRow).where(TelegramMessageRow.chat_id == chat_id,
                                                    TelegramMessageRow.message_id == message_id)
            return s.exec(stmt).first()

    def open_messages(self) -> list[TelegramMessageRow]:
        """Proposal messages not yet edited to their final state."""
        with self._session() as s:
            stmt = select(TelegramMessageRow).where(col(TelegramMessageRow.final).is_(False))
            return list(s.exec(stmt.order_by(col(TelegramMessageRow.id))))

    def messages_for(self, proposal_id: str) -> list[TelegramMessageRow]:
        """Every message that shows one proposal."""
        with self._session() as s:
            stmt = select(TelegramMessageRow).where(TelegramMessageRow.proposal_id == proposal_id)
            return list(s.exec(stmt.order_by(col(TelegramMessageRow.id))))

    def mark_final(self, row_id: int) -> None:
        """The message now shows the proposal's final state."""
        with self._session() as s:
            s.execute(update(TelegramMessageRow).where(col(TelegramMessageRow.id) == row_id)
                      .values(final=True, updated_at=self._clock()))

    # decisions ----------------------------------------------------------------------------------

    def attach_reject_reason(self, proposal_id: str, reason: str) -> bool:
        """Store the reason of a human rejection decided without one; False if it has one or is no rejection."""
        with self._session() as s:
            stmt = (update(ProposalRow)
                    .where(col(ProposalRow.id) == proposal_id,
                           col(ProposalRow.status) == str(ProposalStatus.REJECTED_BY_HUMAN),
                           col(ProposalRow.decision_reason).is_(None))
                    .values(decision_reason=reason, updated_at=self._clock()))
            return bool(s.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]
