"""The Telegram side of the daemon: the PTB Application, its outbox and notifier, started and stopped.

Policy: the Application polls ``PAPERDESK_TELEGRAM_API_URL``; starting is retried with backoff
while Telegram is unreachable (the scheduler already runs meanwhile); a refused token is logged
and leaves the daemon running without Telegram. post_init starts the schedule through
``on_ready``, registers the command menu and flushes the outbox. Notifications go to
``PAPERDESK_TELEGRAM_CHAT_ID``, or to the first allowed user's private chat when that is unset;
with neither, they go to the log only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot.daemon.notify import Notifier, Outbox
from bot.daemon.runner import DeskRunner
from bot.logging import Redactor, settings_secrets
from bot.settings import Settings
from bot.telegram_ui import auth
from bot.telegram_ui.app import build_application, register_commands
from bot.telegram_ui.notifier import TelegramNotifier, TelegramTransport
from storage.telegram_store import TelegramStore

log = structlog.get_logger("paperdesk.telegram")
NO_CHAT = "no PAPERDESK_TELEGRAM_CHAT_ID and no allowed user: notifications go to the log only"


class TelegramService:
    """One bot for one desk: polling, the outbox and the notifier."""

    def __init__(self, settings: Settings, runner: DeskRunner, on_ready: Callable[[], None], *,
                 poll_timeout: int = 10, poll_interval: float = 0.0) -> None:
        self.runner, self.on_ready, self.api_url = runner, on_ready, settings.telegram_api_url
        self.poll_timeout, self.poll_interval = poll_timeout, poll_interval
        self.outbox: Outbox | None = None
        self.notifier: Notifier | None = None
        self.notices: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self.application: Application = build_application(settings, runner)  # type: ignore[type-arg]
        self.application.post_init = self._post_init
        chat_id = settings.telegram_chat_id or _first_approver(settings.telegram_allowed_users)
        if chat_id is None:
            self.notices.append(NO_CHAT)
            return
        desk, notify = runner.desk, settings.notify
        self.outbox = Outbox(TelegramStore(desk.store.session, desk.clock),
                             TelegramTransport(self.application.bot, chat_id), desk.clock,
                             attempts=notify.retry_attempts, base_delay=notify.retry_base_seconds)
        levels = {"cycle": notify.cycle, "approval": notify.approval, "fill": notify.fill, "alert": notify.alert,
                  "report": notify.report}
        self.notifier = TelegramNotifier(desk, self.application.bot, self.outbox, levels,
                                         Redactor(settings_secrets(settings)))

    async def _post_init(self, application: Application) -> None:  # type: ignore[type-arg]
        """Start the schedule, register the command menu, deliver what waited in the outbox."""
        self.on_ready()
        try:
            await register_commands(application)
        except NetworkError as exc:
            log.warning("telegram_commands_not_registered", error=str(exc))
        if self.outbox is not None:
            self.outbox.kick()

    def start(self) -> None:
        """Start polling in the background, retried until Telegram answers."""
        self._task = asyncio.create_task(self._start(self.application))

    async def _start(self, application: Application) -> None:  # type: ignore[type-arg]
        delay = 1.0
        while True:
            try:
                await application.initialize()
                break
            except InvalidToken:
                log.error("telegram_token_refused")
                self.on_ready()
                return
            except NetworkError as exc:
                log.warning("telegram_unreachable", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        await self._post_init(application)  # a manual lifecycle does not call post_init by itself
        await application.start()
        assert application.updater is not None  # noqa: S101  (built with the default updater)
        await application.updater.start_polling(poll_interval=self.poll_interval, timeout=self.poll_timeout,
                                                allowed_updates=["message", "callback_query"])
        log.info("telegram_polling", api=self.api_url)

    async def started(self) -> None:
        """Wait until polling runs."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Stop polling and the bot; wait briefly for deliveries in flight."""
        application = self.application
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if application.running:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            await application.stop()
        if self.outbox is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outbox.drain(), timeout=5)
        await application.shutdown()


def _first_approver(value: str) -> str | None:
    ids = auth.parse_ids(value, "PAPERDESK_TELEGRAM_ALLOWED_USERS")  # in the order listed: the first is the default
    return str(ids[0]) if ids else None
