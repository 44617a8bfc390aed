"""Command handlers: parse, call the desk, render. The gate (auth.py) has already run.

A ``DeskError`` raised by the desk reaches the one error handler (app.py), which replies with its
one-line message; nothing here catches it.
"""

from __future__ import annotations

import asyncio
from html import escape

import structlog
from telegram import InputFile, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import ContextTypes

from bot.daemon.runner import DeskRunner
from bot.desk import approvals, chat, views
from bot.desk.results import DeskError
from bot.desk.risk_usage import risk_usage
from bot.evaluation import pnl_chart
from bot.evaluation.report import build_report
from bot.settings import Settings
from bot.telegram_ui import render
from bot.telegram_ui.auth import Roles
from risk.models import TradingState
from storage.telegram_store import TelegramStore

log = structlog.get_logger("paperdesk.telegram")
Ctx = ContextTypes.DEFAULT_TYPE


async def reply(update: Update, html: str) -> None:
    """Answer in the chat the update came from, split at Telegram's limit."""
    message = update.effective_message
    if message is None:
        return
    for part in render.split(html):
        await message.reply_text(part, parse_mode=ParseMode.HTML)


def actor(update: Update) -> str:
    """``human:<telegram user id>``."""
    user = update.effective_user
    return f"human:{user.id if user else 'unknown'}"


def _argument(context: Ctx, usage: str) -> tuple[str, str | None]:
    args = context.args or []
    if not args:
        raise DeskError(f"usage: {usage}")
    return args[0], " ".join(args[1:]).strip() or None


class Handlers:
    """One short coroutine per command."""

    def __init__(self, runner: DeskRunner, settings: Settings | None = None) -> None:
        self.runner = runner
        self.desk = runner.desk
        self.settings = settings

    async def start(self, update: Update, context: Ctx) -> None:
        """/start and /help."""
        await reply(update, render.HELP)

    async def status(self, update: Update, context: Ctx) -> None:
        """/status."""
        await reply(update, render.status(await views.status(self.desk), self.runner.next_cycle()))

    async def positions(self, update: Update, context: Ctx) -> None:
        """/positions."""
        await reply(update, render.positions(await views.positions(self.desk), self.desk.universe.base_currency))

    async def pnl(self, update: Update, context: Ctx) -> None:
        """/pnl with the equity chart."""
        view = await views.pnl(self.desk)
        await reply(update, render.pnl(view))
        png = pnl_chart.equity_chart(self.desk, view)
        if png is not None and update.effective_message is not None:
            await update.effective_message.reply_photo(InputFile(png, filename="pnl.png"),
                                                       caption="Equity vs SPY and CAC 40 buy-and-hold")

    async def pending(self, update: Update, context: Ctx) -> None:
        """/pending."""
        await reply(update, render.proposals("Awaiting approval", views.pending(self.desk)))

    async def history(self, update: Update, context: Ctx) -> None:
        """/history."""
        await reply(update, render.proposals("Recent decisions", views.history(self.desk, limit=20)))

    async def risk(self, update: Update, context: Ctx) -> None:
        """/risk."""
        await reply(update, render.risk(await risk_usage(self.desk)))

    async def sleeves(self, update: Update, context: Ctx) -> None:
        """/sleeves."""
        from bot.sleeves.views import sleeves_view

        await reply(update, render.sleeves(await sleeves_view(self.desk)))

    async def report(self, update: Update, context: Ctx) -> None:
        """/report [week]: performance against the benchmarks and decision quality, then the charts."""
        if self.runner.home is None:
            raise DeskError("reports need a PAPERDESK_HOME to write their charts to")
        args = context.args or []
        week = bool(args) and args[0].lower().lstrip("-") == "week"
        result = await asyncio.to_thread(build_report, self.desk, self.runner.home, week=week)
        await reply(update, render.report(result.text))
        message = update.effective_message
        if message is None:
            return
        for path in result.charts:
            with path.open("rb") as png:
                await message.reply_photo(InputFile(png, filename=path.name), caption=escape(path.stem))

    async def approve(self, update: Update, context: Ctx) -> None:
        """/approve ID."""
        proposal_id, _ = _argument(context, "/approve ID")
        result = await approvals.approve(self.desk, proposal_id, actor(update))
        await reply(update, render.decision(result))
        await self.runner.notifier.settle()

    async def reject(self, update: Update, context: Ctx) -> None:
        """/reject ID reason."""
        proposal_id, reason = _argument(context, "/reject ID reason")
        result = approvals.reject(self.desk, proposal_id, actor(update), reason)
        await reply(update, render.decision(result))
        await self.runner.notifier.settle()

    async def run(self, update: Update, context: Ctx) -> None:
        """/run: a cycle now (after the running one, if any)."""
        if self.runner.busy:
            await reply(update, "A cycle is running; yours starts when it ends.")
        report = await self.runner.cycle()
        await reply(update, f"Cycle <code>{report.cycle_id}</code> done: {len(report.proposals)} proposal(s).")

    async def halt(self, update: Update, context: Ctx) -> None:
        """/halt [reason]."""
        await self._state(update, context, TradingState.HALTED)

    async def reduce(self, update: Update, context: Ctx) -> None:
        """/reduce [reason]."""
        await self._state(update, context, TradingState.REDUCING)

    async def resume(self, update: Update, context: Ctx) -> None:
        """/resume [reason]."""
        await self._state(update, context, TradingState.ACTIVE)

    async def _state(self, update: Update, context: Ctx, state: TradingState) -> None:
        change = self.desk.set_state(state, actor(update), " ".join(context.args or []).strip() or None)
        await reply(update, render.state_change(change))

    async def web(self, update: Update, context: Ctx) -> None:
        """/web: a one-time link to the dashboard with the sender's role, in a private chat only."""
        user, chat = update.effective_user, update.effective_chat
        if self.settings is None or self.settings.web_port == 0:
            raise DeskError("the web dashboard is off (PAPERDESK_WEB_PORT=0)")
        if user is None or chat is None or chat.type != ChatType.PRIVATE:
            await reply(update, "Ask me for /web in a private chat: a login link is for you alone.")
            return
        from bot.web.links import login_link  # the dashboard's modules load only when a link is asked for

        role = Roles.from_settings(self.settings).of(user.id)
        link = login_link(self.settings, f"tg:{user.id}", str(role), self.desk.clock)
        await reply(update, f'<a href="{escape(link)}">Open the dashboard</a> as {role} (the link works once, for '
                            "10 minutes).")

    async def reason(self, update: Update, context: Ctx) -> None:
        """A reply to an approval message: the reason of a rejection made with the button."""
        message = update.effective_message
        if message is None or message.reply_to_message is None or not message.text:
            return
        shown = TelegramStore(self.desk.store.session, self.desk.clock).message_for(
            str(message.chat_id), message.reply_to_message.message_id)
        if shown is None or shown.proposal_id is None:
            await reply(update, "Reply to a rejected proposal's message to give the reason.")
            return
        result = chat.attach_reason(self.desk, shown.proposal_id, actor(update), message.text)
        await reply(update, render.decision(result))
        final = render.final(result.proposal, by=actor(update), reason=message.text.strip())
        await context.bot.edit_message_text(final, chat_id=message.chat_id, message_id=shown.message_id,
                                            parse_mode=ParseMode.HTML)
