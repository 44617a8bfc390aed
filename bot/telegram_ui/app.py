"""Build the python-telegram-bot Application for one desk.

Policy: requests go to ``{PAPERDESK_TELEGRAM_API_URL}/bot{token}/{method}`` (a self-hosted Bot API
server works the same as Telegram's); the gate runs in group -1 before every handler; updates are
processed concurrently (a long ``/run`` does not hold up a tap); PTB's own JobQueue is off (the
daemon's AsyncIOScheduler does the scheduling). One error handler: a ``DeskError`` is answered with
its one-line message, anything else is logged and answered with a short apology; neither stops
the bot.
"""

from __future__ import annotations

from html import escape

import structlog
from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.daemon.runner import DeskRunner
from bot.desk.results import DeskError
from bot.settings import Settings
from bot.telegram_ui import auth
from bot.telegram_ui.callbacks import Buttons
from bot.telegram_ui.explain import ExplainHandlers
from bot.telegram_ui.handlers import Handlers, reply
from bot.telegram_ui.memory_handlers import MemoryHandlers

log = structlog.get_logger("paperdesk.telegram")
COMMANDS = [
    ("status", "equity, P&L, drawdown, state, next cycle"), ("positions", "open positions"),
    ("pnl", "profit and loss with a chart"), ("pending", "proposals awaiting approval"),
    ("approve", "approve a proposal: /approve ID"), ("reject", "reject a proposal: /reject ID reason"),
    ("run", "run a decision cycle now"), ("halt", "stop all trading"), ("reduce", "risk-reducing orders only"),
    ("resume", "trade normally again"), ("risk", "limits and how much is used"),
    ("sleeves", "each sleeve's budget, holdings and figures"),
    ("history", "recent decisions and their fate"), ("report", "performance vs benchmarks: /report [week]"),
    ("explain", "the whole story of a proposal or cycle: /explain ID"),
    ("memory", "memories, or those nearest to: /memory QUERY"), ("web", "a one-time link to the web dashboard"),
    ("remember", "add a note the agent recalls: /remember TEXT"), ("forget", "remove a memory: /forget ID"),
    ("help", "what the bot can do"),
]


def build_application(settings: Settings, runner: DeskRunner, *, token: str | None = None,
                      ) -> Application:  # type: ignore[type-arg]
    """The Application with the gate, every command, the buttons and the error handler registered."""
    root = settings.telegram_api_url.rstrip("/")
    application = (ApplicationBuilder().token(token or settings.telegram_bot_token or "")
                   .base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
                   .concurrent_updates(True).job_queue(None).build())
    application.add_handler(auth.gate(auth.Roles.from_settings(settings)), group=-1)
    handlers = Handlers(runner, settings)
    for name, callback in [("start", handlers.start), ("help", handlers.start), ("status", handlers.status),
                           ("positions", handlers.positions), ("pnl", handlers.pnl), ("pending", handlers.pending),
                           ("approve", handlers.approve), ("reject", handlers.reject), ("run", handlers.run),
                           ("halt", handlers.halt), ("reduce", handlers.reduce), ("resume", handlers.resume),
                           ("risk", handlers.risk), ("history", handlers.history), ("report", handlers.report),
                           ("web", handlers.web), ("sleeves", handlers.sleeves)]:
        application.add_handler(auth.DeskCommandHandler(name, callback))
    application.add_handler(auth.DeskCommandHandler("explain", ExplainHandlers(runner.desk, settings).explain))
    memory = MemoryHandlers(runner.desk)
    for name, callback in [("memory", memory.memory), ("remember", memory.remember), ("forget", memory.forget)]:
        application.add_handler(auth.DeskCommandHandler(name, callback))
    application.add_handler(MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, handlers.reason))
    for handler in Buttons(runner).handlers():
        application.add_handler(handler)
    application.add_error_handler(on_error)
    return application


async def register_commands(application: Application) -> None:  # type: ignore[type-arg]
    """The command menu (setMyCommands); PTB never sends it by itself."""
    await application.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler."""
    error = context.error
    if not isinstance(update, Update):
        log.warning("telegram_error", error=repr(error))
        return
    if isinstance(error, DeskError):
        await _safe_reply(update, escape(str(error)))
        return
    log.error("telegram_handler_failed", error=repr(error), update_id=update.update_id)
    await _safe_reply(update, "Something went wrong on the desk; the error is in the log.")


async def _safe_reply(update: Update, text: str) -> None:
    try:
        await reply(update, text)
    except Exception as exc:  # replying is best effort when Telegram itself is failing
        log.warning("telegram_reply_failed", error=repr(exc))
