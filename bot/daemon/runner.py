"""The daemon's desk runner: one desk, one cycle at a time, and the notifications that follow.

Policy: ``/run``, the scheduled cycle, the intraday monitor and the weekly report share an
``asyncio.Lock`` so they never overlap (the monitor reloads the prices a cycle works with);
after every cycle the notifier gets the summary, one approval request per proposal awaiting a
human, the fills and the alerts, then approval messages decided elsewhere are settled. A cycle
that fails raises to its caller after an alert; notification failures never do (the notifiers
swallow and log them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import structlog

from bot.daemon import monitor
from bot.daemon.notify import Notifier, notify_cycle
from bot.desk import approvals
from bot.desk.cycle import run_cycle
from bot.desk.desk import Desk
from bot.desk.results import CycleReport
from bot.desk.watch import WatchReport
from bot.evaluation.report import Report

log = structlog.get_logger("paperdesk.runner")


def _no_schedule() -> datetime | None:
    return None


class DeskRunner:
    """Runs cycles and expiry for the daemon and tells the notifier."""

    def __init__(self, desk: Desk, notifier: Notifier, *, home: Path | None = None, move_alert: float = 0.02) -> None:
        self.desk, self.notifier = desk, notifier
        self.home, self.move_alert = home, move_alert
        self.lock = asyncio.Lock()
        self.next_cycle: Callable[[], datetime | None] = _no_schedule

    @property
    def busy(self) -> bool:
        """Is a cycle running now?"""
        return self.lock.locked()

    async def cycle(self) -> CycleReport:
        """Run one cycle (waiting for a running one to end first), then notify."""
        async with self.lock:
            try:
                report = await run_cycle(self.desk)
            except Exception as exc:
                log.error("cycle_failed", error=str(exc))
                await self.notifier.alert(f"cycle failed: {exc}")
                raise
            await notify_cycle(self.notifier, report)
            await self.notifier.settle()
            return report

    async def expire(self) -> int:
        """Expire approvals past their time and update their messages."""
        count = approvals.expire_due(self.desk)
        if count:
            log.info("approvals_expired", count=count)
        await self.notifier.settle()
        return count

    async def monitor(self) -> WatchReport:
        """One intraday watch (moves, circuit breaker, stop-losses), then notify."""
        async with self.lock:
            report = await monitor.monitor(self.desk, self.notifier, move_alert=self.move_alert)
            await self.notifier.settle()
            return report

    async def weekly_report(self) -> Report:
        """The weekly job: write the week's retrospective memory, then build and send the week's report."""
        if self.home is None:
            raise ValueError("the weekly report needs PAPERDESK_HOME")
        async with self.lock:
            return await monitor.weekly_report(self.desk, self.notifier, self.home)
