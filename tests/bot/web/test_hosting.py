"""The dashboard where users meet it: served by the daemon beside the bot, links from /web and `paperdesk web login`."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bot.cli.app import app as cli
from bot.clock import system_clock
from bot.daemon.daemon import Daemon
from bot.settings import Settings
from bot.web.app import create_app
from bot.web.keys import KEY_FILE, session_key
from bot.web.links import login_token
from bot.web.roles import Role
from bot.web.server import WebServer
from bot.wiring import build_app
from tests.bot.conftest import AppFactory
from tests.bot.telegram.conftest import APPROVER, APPROVER_2, STRANGER, VIEWER, telegram_settings, until
from tests.bot.web.conftest import Web, free_port
from tests.fakes.telegram_server import FakeTelegram

LINK = re.compile(r'href="([^"]+)"')


@contextlib.asynccontextmanager
async def telegram_daemon(make_app: AppFactory, tg: FakeTelegram) -> AsyncIterator[tuple[Daemon, int]]:
    """``paperdesk run`` with Telegram and the dashboard on a free port, started, then stopped: (it, the port)."""
    port = free_port()
    daemon = Daemon(make_app(**telegram_settings(tg.url), web_port=port), poll_timeout=1, serve_web=True)
    await daemon.start()
    try:
        await asyncio.wait_for(daemon.started(), timeout=15)
        yield daemon, port
    finally:
        await daemon.stop()


def links_sent(tg: FakeTelegram) -> list[str]:
    return [m.text for m in tg.sent() if "dashboard" in m.text]


async def role_behind(link: str) -> str:
    """Open a login link as a browser would; the role the session got."""
    async with httpx.AsyncClient() as client:
        opened = await client.get(link.replace("&amp;", "&"))
        assert opened.status_code == 303, opened.text
        info = await client.get(link.split("/login")[0] + "/api/session")
        return str(info.json()["role"])


async def test_the_daemon_serves_the_dashboard_and_web_sends_links_with_the_senders_role(
        make_app: AppFactory, tg: FakeTelegram) -> None:
    async with telegram_daemon(make_app, tg) as (daemon, port):
        assert any(f"http://127.0.0.1:{port}/" in line for line in daemon.notices)
        tg.send_command(APPROVER, "/web")
        tg.send_command(VIEWER, "/web")
        tg.send_command(STRANGER, "/web")
        texts = await until(lambda: links_sent(tg) if len(links_sent(tg)) == 2 else None)
        links = [LINK.search(text).group(1) for text in texts]  # type: ignore[union-attr]
        assert sorted([await role_behind(link) for link in links]) == ["approver", "viewer"]
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/metrics")).status_code == 200  # loopback: no token
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/")


async def test_a_taken_port_is_told_and_the_daemon_runs_on(make_app: AppFactory) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        app = make_app(web_port=port, cycle_cron="0 3 29 2 *", monitor_interval_minutes=0)
        daemon = Daemon(app, serve_web=True)
        await daemon.start()
        try:
            assert daemon.scheduler.running and daemon.web is None
            assert any(f"cannot listen on 127.0.0.1:{port}" in line for line in daemon.notices)
        finally:
            await daemon.stop()


async def test_metrics_off_loopback_need_the_token(make_app: AppFactory) -> None:
    for token, sent, status in ((None, None, 401), ("metrics-token-0123456789", None, 401),
                                ("metrics-token-0123456789", "metrics-token-0123456789", 200)):
        app = make_app(web_host="0.0.0.0", web_metrics_token=token)
        server = WebServer(create_app(app.desk, app.settings), "127.0.0.1", 0)
        await server.start()
        try:
            headers = {"Authorization": f"Bearer {sent}"} if sent else {}
            async with httpx.AsyncClient() as client:
                answer = await client.get(f"http://127.0.0.1:{server.port}/metrics", headers=headers)
            assert answer.status_code == status
        finally:
            await server.stop()


async def test_paperdesk_web_login_prints_a_link_the_dashboard_honours(isolated_env: Path, db_url: str) -> None:
    result = CliRunner().invoke(cli, ["web", "login"])
    assert result.exit_code == 0, result.output
    link = next(line for line in result.output.splitlines() if "/login?token=" in line)
    key_file = isolated_env / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    settings = Settings(database_url=db_url, policy="rules")
    assert session_key(settings) == key_file.read_text().strip().encode()
    built = build_app(settings, clock=system_clock)
    server = WebServer(create_app(built.desk, settings), "127.0.0.1", 0)
    await server.start()
    try:
        local = re.sub(r"^http://[^/]+", f"http://127.0.0.1:{server.port}", link)
        assert await role_behind(local) == "approver"
    finally:
        await server.stop()
        built.close()


def test_paperdesk_web_refuses_port_zero() -> None:
    result = CliRunner().invoke(cli, ["web", "login"], env={"PAPERDESK_WEB_PORT": "0"})
    assert result.exit_code == 1 and "PAPERDESK_WEB_PORT is 0" in result.output


async def test_a_page_rebinding_its_name_to_this_machine_gets_nothing(web: Web) -> None:
    async with web.client() as client:
        for path in ("/metrics", "/api/pending", f"/login?token={web.auth.login_token('os:alice', Role.APPROVER)}"):
            answer = await client.get(path, headers={"Host": "attacker.example:8765"})
            assert answer.status_code == 400 and "set-cookie" not in answer.headers
        assert (await client.get("/metrics", headers={"Host": "localhost"})).status_code == 200


async def test_a_web_approval_racing_a_telegram_tap_makes_one_order(make_app: AppFactory, tg: FakeTelegram) -> None:
    async with telegram_daemon(make_app, tg) as (daemon, port):
        app = daemon.app
        tg.send_command(APPROVER, "/run")
        message = await until(lambda: next((m for m in tg.sent() if m.buttons), None), timeout=30)
        data = next(b["callback_data"] for b in message.buttons if b["callback_data"].startswith("ap:"))
        pid = data.split(":")[1]
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as client:
            token = login_token(session_key(app.settings), f"tg:{APPROVER_2}", "approver", app.desk.clock())
            await client.get("/login", params={"token": token})
            csrf = (await client.get("/api/session")).json()["csrf"]
            tg.press(APPROVER, message.message_id, data)
            answer = await client.post(f"/api/proposals/{pid}/approve", headers={"X-CSRF-Token": csrf})
        decided = await until(lambda: (row := app.store.get_proposal(pid)) and row.status == "FILLED" and row)
        assert answer.status_code in {200, 409}, answer.text
        assert decided.decided_by == (f"web:{APPROVER_2}" if answer.status_code == 200 else f"human:{APPROVER}")
        assert sum(1 for f in app.store.fills() if f.client_order_id == pid) == 1
        assert [t.to_status for t in app.store.transitions(pid)].count("APPROVED") == 1
