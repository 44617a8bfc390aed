"""A desk with a proposal awaiting approval, its dashboard served by uvicorn on 127.0.0.1, and logins.

Roles: Telegram user 11 is an approver, 22 a viewer; 33 is a stranger.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest_asyncio

from bot.desk.cycle import run_cycle
from bot.web import tokens
from bot.web.app import create_app
from bot.web.auth import COOKIE, CSRF_HEADER, Auth
from bot.web.roles import Role
from bot.web.server import WebServer
from bot.wiring import App
from tests.bot.conftest import AppFactory
from tests.bot.telegram.conftest import tg  # noqa: F401 - the local Bot API server fixture, shared

APPROVER, VIEWER, STRANGER = 11, 22, 33


def free_port() -> int:
    """A port nothing listens on now, for a dashboard a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
SECRET = "web-secret-for-tests-0123456789abcdef"
ROLES = {"telegram_allowed_users": str(APPROVER), "telegram_viewers": str(VIEWER), "web_secret": SECRET}


@dataclass
class Web:
    """A served dashboard and what a test needs to talk to it."""

    app: App
    url: str
    auth: Auth
    pending: str  # a proposal awaiting approval

    def client(self) -> httpx.AsyncClient:
        """A fresh browser: no cookies."""
        return httpx.AsyncClient(base_url=self.url, timeout=30, follow_redirects=False)

    @contextlib.asynccontextmanager
    async def login(self, holder: str, role: Role) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
        """A client logged in through a one-time link, and its CSRF token."""
        async with self.client() as client:
            answer = await client.get("/login", params={"token": self.auth.login_token(holder, role)})
            assert answer.status_code == 303, answer.text
            session = await client.get("/api/session")
            yield client, session.json()["csrf"]

    def cookie(self, holder: str, role: Role, *, key: bytes | None = None, age: timedelta = timedelta(0),
               csrf: str = "c") -> dict[str, str]:
        """A session cookie made by hand: ``key`` to forge it, ``age`` past its end to expire it."""
        expires = self.auth.clock() + timedelta(hours=1) - age
        value = tokens.sign(key or self.auth.key, "session", {"h": holder, "r": str(role), "c": csrf}, expires)
        return {COOKIE: value}


async def awaiting(app: App) -> str:
    """Run a cycle; the id of a proposal it left awaiting approval."""
    report = await run_cycle(app.desk)
    ids = [p.id for p in report.proposals if p.status == "AWAITING_APPROVAL"]
    assert ids, [(p.symbol, p.level, p.codes) for p in report.proposals]
    return ids[0]


async def serve(app: App) -> AsyncIterator[tuple[str, Auth]]:
    """The dashboard of ``app`` on a free port of 127.0.0.1."""
    fastapi_app = create_app(app.desk, app.settings)
    server = WebServer(fastapi_app, "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", fastapi_app.state.auth
    finally:
        await server.stop()


@contextlib.contextmanager
def threaded(app: App) -> Iterator[tuple[str, Auth]]:
    """The dashboard of ``app`` served by uvicorn on 127.0.0.1 from its own thread (for synchronous callers)."""
    fastapi_app = create_app(app.desk, app.settings)
    server = WebServer(fastapi_app, "127.0.0.1", 0)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        await server.start()
        await stop.wait()
        await server.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}", fastapi_app.state.auth
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()


@pytest_asyncio.fixture
async def web(make_app: AppFactory) -> AsyncIterator[Web]:
    """One served desk with a pending proposal."""
    app = make_app(**ROLES)
    pending = await awaiting(app)
    async for url, auth in serve(app):
        yield Web(app=app, url=url, auth=auth, pending=pending)


Headers = Callable[[str], dict[str, str]]


def csrf(token: str) -> dict[str, str]:
    """The header an action carries."""
    return {CSRF_HEADER: token}
