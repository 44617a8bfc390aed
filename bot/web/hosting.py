"""The dashboard hosted by a running desk: ``paperdesk run`` (beside the scheduler) and ``paperdesk web``.

Policy: off when ``PAPERDESK_WEB_PORT`` is 0. In the daemon a port that cannot be bound is told
(one line) and the daemon trades on without a dashboard; ``paperdesk web`` fails with that line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from bot.desk.desk import Desk
from bot.settings import Settings
from bot.web.app import create_app
from bot.web.keys import public_url
from bot.web.server import WebServer


async def host_dashboard(desk: Desk, settings: Settings, *,
                         next_runs: Callable[[], Mapping[str, datetime | None]] | None = None,
                         settle: Callable[[], Awaitable[None]] | None = None) -> tuple[WebServer | None, str]:
    """Start the dashboard on this loop: (the server, None when off) and the line that tells where it is."""
    if settings.web_port == 0:
        return None, "dashboard: off (PAPERDESK_WEB_PORT=0)"
    app = create_app(desk, settings, next_runs=next_runs, settle=settle)
    server = WebServer(app, settings.web_host, settings.web_port)
    await server.start()
    return server, (f"dashboard: {public_url(settings)}/ (log in with /web in Telegram or `paperdesk web login`; "
                    f"metrics at /metrics)")
