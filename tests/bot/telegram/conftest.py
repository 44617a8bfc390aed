"""A daemon wired to a local Bot API server (tests/fakes/telegram_server.py) over real HTTP.

Users: 1 and 5 approve, 2 only reads, 3 is a stranger. The desk's clock is the fixed Friday close
of tests/bot/conftest.py; the cycle cron never fires during a test (29 February, 03:00).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import pytest

from bot.daemon.daemon import Daemon
from bot.wiring import App
from tests.bot.conftest import AppFactory
from tests.fakes.telegram_server import CHAT_ID, FakeTelegram

TOKEN = "123456:TEST-token"
APPROVER, APPROVER_2, VIEWER, STRANGER = 1, 5, 2, 3
T = TypeVar("T")


def telegram_settings(url: str, **overrides: Any) -> dict[str, Any]:
    """Settings that point the desk at the fake server."""
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN, "telegram_api_url": url, "telegram_allowed_users": f"{APPROVER},{APPROVER_2}",
        "telegram_viewers": str(VIEWER), "telegram_chat_id": str(CHAT_ID), "cycle_cron": "0 3 29 2 *",
        "monitor_interval_minutes": 0,
        "notify": {"retry_attempts": 2, "retry_base_seconds": 0.05, "flush_interval_seconds": 0.3},
    }
    values.update(overrides)
    return values


async def until(predicate: Callable[[], T | None], timeout: float = 15.0) -> T:  # noqa: ASYNC109  (a deadline for polling)
    """Await until ``predicate()`` is truthy (the bot runs on this loop, so never block it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting for the bot")


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    server = FakeTelegram(TOKEN)
    server.start()
    yield server
    server.stop()


DaemonFactory = Callable[..., Any]


@pytest.fixture
async def make_daemon(make_app: AppFactory, tg: FakeTelegram) -> AsyncIterator[DaemonFactory]:
    """Start daemons on the fake server; each is stopped at the end of the test."""
    daemons: list[Daemon] = []

    async def factory(**overrides: Any) -> tuple[Daemon, App]:
        app = make_app(**telegram_settings(tg.url, **overrides))
        daemon = Daemon(app, poll_timeout=1)
        daemons.append(daemon)
        await daemon.start()
        await asyncio.wait_for(daemon.started(), timeout=15)
        return daemon, app

    yield factory
    for daemon in daemons:
        await daemon.stop()
