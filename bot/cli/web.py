"""``paperdesk web``: the dashboard alone (no scheduler, no Telegram), and ``paperdesk web login``.

Start-up policy: importing this module loads typer only; fastapi and uvicorn load when a command runs.
Failure contract: bad settings, a port that cannot be bound or an unusable database print one line
and exit 1.
"""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.errors import fail

if TYPE_CHECKING:
    from bot.desk.desk import Desk
    from bot.settings import Settings

web_app = typer.Typer(help="The web dashboard and JSON API: serve it alone, or print a login link.")


def os_user() -> str:
    """The terminal user, as an actor name allows it."""
    return re.sub(r"[^\w.\-]", "_", getpass.getuser()) or "unknown"


@web_app.callback(invoke_without_command=True)
def web(ctx: typer.Context,
        host: Annotated[str | None, typer.Option(help="Bind address (default PAPERDESK_WEB_HOST).")] = None,
        port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default PAPERDESK_WEB_PORT).")] = None,
        ) -> None:
    """Serve the dashboard, JSON API and /metrics alone (no scheduler, no Telegram) until Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    import asyncio

    from bot.cli.app import _app, out

    with _app() as built:
        updates = {k: v for k, v in (("web_host", host), ("web_port", port)) if v is not None}
        settings = built.settings.model_copy(update=updates)
        if settings.web_port == 0:
            raise fail("PAPERDESK_WEB_PORT is 0 (the dashboard is off): set it, or pass --port")
        from bot.web.server import WebServerError

        try:
            asyncio.run(_serve(built.desk, settings, lambda line: out().print(line, soft_wrap=True)))
        except WebServerError as exc:
            raise fail(str(exc)) from None


async def _serve(desk: Desk, settings: Settings, say: Callable[[str], None]) -> None:
    import asyncio
    import signal

    from bot.web.hosting import host_dashboard

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server, line = await host_dashboard(desk, settings)
    say(line)
    say("no scheduler runs here: cycles run with `paperdesk cycle` or `paperdesk run`; Ctrl-C stops the dashboard")
    try:
        await stop.wait()
    finally:
        if server is not None:
            await server.stop()


@web_app.command("login")
def login() -> None:
    """Print a one-time login link (10 minutes, approver) for the terminal user; actions are `web:<user>`."""
    from bot.clock import system_clock
    from bot.settings import SettingsError, load_settings
    from bot.web.links import login_link

    try:
        settings = load_settings()
        if settings.web_port == 0 and not settings.web_public_url:
            raise fail("PAPERDESK_WEB_PORT is 0 (the dashboard is off): set it, or PAPERDESK_WEB_PUBLIC_URL")
        link = login_link(settings, f"os:{os_user()}", "approver", system_clock)
    except (SettingsError, OSError) as exc:
        raise fail(str(exc)) from None
    print(link)  # noqa: T201
    print(f"works once, for 10 minutes, as an approver (web:{os_user()})", file=sys.stderr)  # noqa: T201
