"""Notifications: what the daemon tells humans after a cycle, and a persistent outbox that never loses it.

Policy: every front end implements ``Notifier`` (the log is one, Telegram another); ``FanOut``
calls each in turn and a failure in one never blocks the others or reaches the daemon. The
``Outbox`` stores a notification before the first attempt, then delivers undelivered rows strictly
in order through a ``Transport``: a failure is retried with exponential backoff, ``RetryLater``
waits as long as the server asked, and after the last attempt the row stays in the database for
the next ``flush`` (the daemon runs one periodically). A notification the transport sends in
several parts is delivered part by part, each recorded as it goes, so a retry (or a restart)
resumes at the first part not yet delivered and no part is sent twice. A ``PermanentError`` (the
server refuses the message itself) is recorded and skipped so it cannot block the queue. Nothing
here raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import structlog

from bot.clock import Clock
from bot.desk.results import CycleReport, ProposalLine
from storage.tables_telegram import NotificationRow
from storage.telegram_store import TelegramStore

log = structlog.get_logger("paperdesk.notify")


class Notifier(Protocol):
    """A channel that tells humans what the desk did."""

    async def cycle_summary(self, report: CycleReport) -> None:
        """After every cycle."""

    async def approval_request(self, line: ProposalLine) -> None:
        """A BORDERLINE proposal awaits a human."""

    async def fill(self, line: ProposalLine) -> None:
        """An order filled."""

    async def alert(self, text: str) -> None:
        """Something a human should know (abstention, broker error, halt)."""

    async def report(self, text: str, images: Sequence[Path]) -> None:
        """A performance report: its text, then its charts (PNG files)."""

    async def settle(self) -> None:
        """Bring shown approval requests up to date with decisions made elsewhere (expiry, CLI)."""


class LogNotifier:
    """Notifications as structlog events (always on; the record when no chat is configured)."""

    async def cycle_summary(self, report: CycleReport) -> None:
        """Log the cycle summary."""
        log.info("notify_cycle", cycle_id=report.cycle_id, proposals=len(report.proposals), alerts=len(report.alerts))

    async def approval_request(self, line: ProposalLine) -> None:
        """Log an approval request."""
        log.info("notify_approval", proposal_id=line.id, symbol=line.symbol, side=line.side, codes=line.codes)

    async def fill(self, line: ProposalLine) -> None:
        """Log a fill."""
        log.info("notify_fill", proposal_id=line.id, symbol=line.symbol, price=str(line.fill_price))

    async def alert(self, text: str) -> None:
        """Log an alert."""
        log.warning("notify_alert", text=text)

    async def report(self, text: str, images: Sequence[Path]) -> None:
        """Log that a report went out (its first line and the charts)."""
        log.info("notify_report", title=text.splitlines()[0] if text else "", charts=[str(i) for i in images])

    async def settle(self) -> None:
        """Nothing to bring up to date."""


class FanOut:
    """Several notifiers as one; each call is isolated from the others' failures."""

    def __init__(self, notifiers: Sequence[Notifier]) -> None:
        self.notifiers = list(notifiers)

    async def _each(self, name: str, call: Callable[[Notifier], Awaitable[None]]) -> None:
        for notifier in self.notifiers:
            try:
                await call(notifier)
            except Exception as exc:  # a channel failing must never stop the daemon
                log.error("notifier_failed", notifier=type(notifier).__name__, call=name, error=repr(exc))

    async def cycle_summary(self, report: CycleReport) -> None:
        """Tell every channel."""
        await self._each("cycle", lambda n: n.cycle_summary(report))

    async def approval_request(self, line: ProposalLine) -> None:
        """Tell every channel."""
        await self._each("approval", lambda n: n.approval_request(line))

    async def fill(self, line: ProposalLine) -> None:
        """Tell every channel."""
        await self._each("fill", lambda n: n.fill(line))

    async def alert(self, text: str) -> None:
        """Tell every channel."""
        await self._each("alert", lambda n: n.alert(text))

    async def report(self, text: str, images: Sequence[Path]) -> None:
        """Tell every channel."""
        await self._each("report", lambda n: n.report(text, images))

    async def settle(self) -> None:
        """Every channel."""
        await self._each("settle", lambda n: n.settle())


async def notify_cycle(notifier: Notifier, report: CycleReport) -> None:
    """The notifications of one cycle: summary, approval requests, fills, then alerts."""
    await notifier.cycle_summary(report)
    for line in report.proposals:
        if line.status == "AWAITING_APPROVAL":
            await notifier.approval_request(line)
        elif line.status in {"FILLED", "PARTIALLY_FILLED"}:
            await notifier.fill(line)
    for text in report.alerts:
        await notifier.alert(text)


class RetryLater(Exception):
    """The transport asks to wait ``seconds`` before the next attempt."""

    def __init__(self, seconds: float, message: str = "rate limited") -> None:
        super().__init__(message)
        self.seconds = seconds


class PermanentError(Exception):
    """The transport refuses this message for good; retrying cannot help."""


class SentPart(NamedTuple):
    """The message one part of a notification became."""

    chat_id: str
    message_id: int
    shows_proposal: bool  # the part that carries the proposal's buttons: the message edited once it is decided


class Transport(Protocol):
    """Sends a stored notification as one or more messages (parts), one part per call."""

    def parts(self, note: NotificationRow) -> int:
        """How many messages this notification becomes (the same answer every time for the same row)."""

    async def send(self, note: NotificationRow, index: int) -> SentPart:
        """Send part ``index``, or raise (RetryLater, PermanentError, anything else = transient)."""


Sleep = Callable[[float], Awaitable[Any]]


class Outbox:
    """Persist, then deliver in order with retries; undelivered rows wait for the next flush."""

    def __init__(self, store: TelegramStore, transport: Transport, clock: Clock, *, attempts: int = 4,
                 base_delay: float = 1.0, sleep: Sleep = asyncio.sleep) -> None:
        self.store, self.transport, self.clock = store, transport, clock
        self.attempts, self.base_delay, self._sleep = attempts, base_delay, sleep
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[int]] = set()

    def post(self, kind: str, level: str, text: str, **extra: Any) -> int:
        """Store a notification and start delivering in the background; returns its id."""
        note_id = self.store.enqueue(kind, level, text, **extra)
        self.kick()
        return note_id

    def kick(self) -> None:
        """Start a flush in the background (one at a time; later ones wait their turn)."""
        task = asyncio.get_running_loop().create_task(self.flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for background deliveries started so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def flush(self) -> int:
        """Deliver undelivered notifications in order; stop at the first that still fails. Never raises."""
        delivered = 0
        async with self._lock:
            try:
                for note in self.store.undelivered():
                    if not await self._deliver(note):
                        break
                    delivered += 1
            except Exception as exc:  # the database itself failing: log, try again at the next flush
                log.error("outbox_flush_failed", error=repr(exc))
        return delivered

    async def _deliver(self, note: NotificationRow) -> bool:
        assert note.id is not None  # noqa: S101  (stored rows have ids)
        for attempt in range(self.attempts):
            try:
                await self._send_rest(note)
            except RetryLater as exc:
                delay, error = exc.seconds, f"retry after {exc.seconds:g}s"
            except PermanentError as exc:
                self.store.failed_attempt(note.id, str(exc), None, give_up=True)
                log.error("notification_refused", notification_id=note.id, kind=note.kind, error=str(exc))
                return True
            except Exception as exc:  # transport down: back off and retry
                delay, error = self.base_delay * 2 ** attempt, repr(exc)
            else:
                self.store.delivered(note.id)
                return True
            last = attempt == self.attempts - 1
            self.store.failed_attempt(note.id, error, None if last else self.clock() + timedelta(seconds=delay))
            log.warning("notification_retry", notification_id=note.id, kind=note.kind, attempt=attempt + 1,
                        part=note.parts_sent, error=error, delay=None if last else delay)
            if not last:
                await self._sleep(delay)
        return False

    async def _send_rest(self, note: NotificationRow) -> None:
        """Send the parts not delivered yet, recording each before the next."""
        assert note.id is not None  # noqa: S101  (stored rows have ids)
        for index in range(note.parts_sent, self.transport.parts(note)):
            sent = await self.transport.send(note, index)
            self.store.part_delivered(note.id, index, sent.chat_id, sent.message_id,
                                      shows_proposal=sent.shows_proposal)
            note.parts_sent = index + 1
