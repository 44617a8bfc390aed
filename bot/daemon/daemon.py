"""``paperdesk run``: one asyncio process hosting the scheduler and, when configured, the Telegram bot.

Policy: with ``TELEGRAM_BOT_TOKEN`` a ``TelegramService`` (bot/telegram_ui/) polls the Bot API and
starts our AsyncIOScheduler from its post_init; without a token the scheduler runs alone
(approvals with ``paperdesk approve``). Telegram being unreachable at start is retried while the
scheduler already runs; sending failures never stop the daemon (the outbox keeps undelivered
messages). SIGINT and SIGTERM stop it cleanly. Under systemd (``NOTIFY_SOCKET``) it sends READY=1
once started, WATCHDOG=1 from the event loop at half of ``WATCHDOG_USEC``, and STOPPING=1 on the
way out. This module does not import telegram: the service is loaded only when a token is set.

What it says: once the scheduler runs, the set-up (broker, data, policy, Telegram, memory, the next
cycle and weekly report in UTC and local time, the reconciliation) and then one line per job run go to
``say`` (``bot.daemon.story``; ``paperdesk run`` prints them on stdout).

Crash safety: before the first cycle, orders a crash left open are reconciled with the broker
(``bot/desk/reconcile.py``) and anything found is alerted. On SIGINT/SIGTERM a running cycle gets
``drain_seconds`` to finish, so no order is left half-recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.daemon.calendars import Calendars
from bot.daemon.notify import FanOut, LogNotifier, Outbox
from bot.daemon.runner import DeskRunner
from bot.daemon.scheduler import build_scheduler, catch_up
from bot.daemon.sdnotify import SystemdNotifier
from bot.daemon.story import SHOWN, Say, Story, setup_lines
from bot.desk.lines import line_from_row
from bot.desk.reconcile import ReconcileReport, reconcile
from bot.wiring import App

if TYPE_CHECKING:
    from bot.telegram_ui.service import TelegramService

__all__ = ["NO_TELEGRAM", "SHOWN", "Daemon", "serve"]
log = structlog.get_logger("paperdesk.daemon")
NO_TELEGRAM = ("Telegram is not configured (TELEGRAM_BOT_TOKEN): running the scheduler alone; "
               "approve with `paperdesk approve`")
TELEGRAM_ON = "Telegram: on (proposals, fills, alerts and reports go to the chat; approve there)"


class Daemon:
    """The scheduler, the desk runner and (optionally) the Telegram service, started and stopped together."""

    def __init__(self, app: App, *, poll_timeout: int = 10, poll_interval: float = 0.0, say: Say | None = None,
                 zone: tzinfo | None = None, serve_web: bool = False) -> None:
        settings = app.settings
        self.app = app
        self.serve_web = serve_web  # the dashboard (bot/web/), on this loop, when PAPERDESK_WEB_PORT is not 0
        self.web: Any = None
        self.story = Story(say, app.desk.clock, zone)  # zone None: the machine's local time
        self.reconciled: str | None = None
        self.drain_seconds = 7.0  # SIGTERM to exit stays under 10 s
        self.notifiers = FanOut([LogNotifier()])
        self.runner = DeskRunner(app.desk, self.notifiers, home=settings.home.expanduser(),
                                 move_alert=settings.monitor_move_alert)
        self.calendars = Calendars(app.desk.clock)
        self.telegram: TelegramService | None = None
        self.notices: list[str] = []
        if settings.telegram_bot_token:
            from bot.telegram_ui.service import TelegramService

            self.telegram = TelegramService(settings, self.runner, self._start_scheduler,
                                            poll_timeout=poll_timeout, poll_interval=poll_interval)
            self.notices.extend(self.telegram.notices)
            if self.telegram.notifier is not None:
                self.notifiers.notifiers.append(self.telegram.notifier)
        else:
            self.notices.append(NO_TELEGRAM)
        self.scheduler: AsyncIOScheduler = build_scheduler(settings, self.runner, self.outbox, self.calendars,
                                                           self.story)

    @property
    def application(self) -> Any:
        """The PTB Application, or None without Telegram."""
        return self.telegram.application if self.telegram is not None else None

    @property
    def outbox(self) -> Outbox | None:
        """The persistent outbox, or None when nothing is sent to a chat."""
        return self.telegram.outbox if self.telegram is not None else None

    def _start_scheduler(self) -> None:
        if not self.scheduler.running:
            self.scheduler.start()
            missed = catch_up(self.scheduler, self.app.settings, self.runner, self.calendars, self.story)
            log.info("scheduler_started", next_cycle=str(self.runner.next_cycle()))
            self._tell_setup(missed)

    def _tell_setup(self, missed: bool) -> None:
        """The set-up, once the scheduler runs (so the next runs are the scheduler's own)."""
        desk = self.app.desk
        telegram = [TELEGRAM_ON, *self.notices] if self.telegram is not None else self.notices
        lines = setup_lines(self.app.settings, desk.universe, desk.memory.enabled, telegram, self.story.upcoming,
                            self.story.zone)
        lines += [self.reconciled] if self.reconciled else []
        lines += ["a scheduled cycle was missed while the daemon was down: it runs now"] if missed else []
        for line in lines:
            self.story.tell(line)

    async def reconcile(self) -> ReconcileReport | None:
        """Settle orders a crash left open, before the first cycle; alert on anything found (None if it failed)."""
        try:
            report = await reconcile(self.app.desk)
        except Exception as exc:  # the broker may be down at start; every cycle reconciles again first
            log.error("reconcile_failed", error=str(exc))
            self.reconciled = f"reconcile at start failed: {exc}; the next cycle tries again"
            await self.notifiers.alert(self.reconciled)
            return None
        self.reconciled = report.summary()
        if not report.clean:
            await self.notifiers.alert(report.summary())
        for proposal_id in report.awaiting:  # an interrupted cycle never announced these
            row = self.app.desk.store.get_proposal(proposal_id)
            if row is not None:
                await self.notifiers.approval_request(line_from_row(self.app.desk.store, row))
        return report

    async def start(self) -> None:
        """Reconcile, then start everything; Telegram in the background, retried until it answers."""
        await self.reconcile()
        if self.serve_web:
            await self._start_web()
        if self.telegram is None:
            self._start_scheduler()
            return
        self.telegram.start()

    async def started(self) -> None:
        """Wait until Telegram polls (tests; returns at once without Telegram)."""
        if self.telegram is not None:
            await self.telegram.started()

    async def stop(self) -> None:
        """Let a running cycle finish (up to ``drain_seconds``), then stop polling, the bot, the scheduler."""
        if self.runner.busy:
            log.info("daemon_waiting_for_cycle", seconds=self.drain_seconds)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.drain_seconds), self.runner.lock:
                    pass
        if self.telegram is not None:
            await self.telegram.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.web is not None:
            await self.web.stop()
        log.info("daemon_stopped")

    async def _start_web(self) -> None:
        """The dashboard beside the scheduler; a port it cannot bind is told, and the desk trades on without it."""
        from bot.web.hosting import host_dashboard  # fastapi and uvicorn load only when the dashboard is on
        from bot.web.server import WebServerError

        def next_runs() -> dict[str, Any]:
            return {job.id: job.next_run_time for job in self.scheduler.get_jobs() if job.id != "outbox"}

        try:
            self.web, line = await host_dashboard(self.app.desk, self.app.settings, next_runs=next_runs,
                                                  settle=self.runner.notifier.settle)
        except WebServerError as exc:
            log.error("web_not_started", error=str(exc))
            line = str(exc)
        self.notices.append(line)


async def serve(daemon: Daemon, stop: asyncio.Event | None = None, systemd: SystemdNotifier | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set), then shut down cleanly; tell systemd along the way."""
    stop = stop or asyncio.Event()
    systemd = systemd or SystemdNotifier()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watchdog: asyncio.Task[None] | None = None
    try:
        await daemon.start()
        systemd.ready("scheduler running")
        if systemd.watchdog_interval is not None:
            watchdog = loop.create_task(_watchdog(systemd, systemd.watchdog_interval))
        await stop.wait()
    finally:
        systemd.stopping()
        if watchdog is not None:
            watchdog.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await daemon.stop()


async def _watchdog(systemd: SystemdNotifier, interval: float) -> None:
    """WATCHDOG=1 from the event loop itself: a stuck loop stops the pings and systemd restarts us."""
    while True:
        systemd.watchdog()
        await asyncio.sleep(interval)
