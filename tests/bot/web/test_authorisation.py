"""Every API route against every kind of caller: approvers act, viewers read, everyone else gets 401 and nothing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from bot.web.app import create_app
from bot.web.auth import COOKIE, CSRF_HEADER
from bot.web.roles import Role
from tests.bot.web.conftest import APPROVER, STRANGER, VIEWER, Web

pytestmark = pytest.mark.asyncio
CALLERS = ("approver", "viewer", "anonymous", "expired", "forged", "stranger")


def api_routes(web: Web) -> list[tuple[str, str]]:
    """(method, path) of every API route, its ids filled in (an unknown proposal for the actions)."""
    document = create_app(web.app.desk, web.app.settings).openapi()
    ids = {"{item_id}": web.pending, "{run_id}": "bt-none", "{proposal_id}": "pnope"}
    routes = []
    for template, operations in document["paths"].items():
        path = template
        for name, value in ids.items():
            path = path.replace(name, value)
        routes += [(method.upper(), path) for method in operations]
    return [*routes, ("GET", "/api/openapi.json")]


@contextlib.asynccontextmanager
async def caller(web: Web, who: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A client for ``who`` and the headers its actions carry."""
    if who in {"approver", "viewer"}:
        async with web.login(f"tg:{APPROVER if who == 'approver' else VIEWER}",
                             Role.APPROVER if who == "approver" else Role.VIEWER) as (client, token):
            yield client, {CSRF_HEADER: token}
        return
    cookies = {"anonymous": {},
               "expired": web.cookie(f"tg:{APPROVER}", Role.APPROVER, age=timedelta(hours=2)),
               "forged": web.cookie(f"tg:{APPROVER}", Role.APPROVER, key=b"not-the-key-" * 3),
               "stranger": web.cookie(f"tg:{STRANGER}", Role.APPROVER)}[who]
    async with web.client() as client:
        client.cookies.update(cookies)
        yield client, {CSRF_HEADER: "c"}


def expected(who: str, method: str, path: str) -> set[int]:
    if who not in {"approver", "viewer"}:
        return {401}
    if method == "POST":
        return {409} if who == "approver" else {403}  # the approver's action on an unknown id: the desk refuses
    return {404} if "bt-none" in path else {200}


async def test_every_route_answers_each_caller_as_its_role_allows(web: Web) -> None:
    routes = api_routes(web)
    assert {("POST", "/api/proposals/pnope/approve"), ("GET", "/api/pending"), ("GET", "/api/risk")} <= set(routes)
    seen = {}
    for who in CALLERS:
        async with caller(web, who) as (client, headers):
            for method, path in routes:
                answer = await client.request(method, path, headers=headers, json={} if method == "POST" else None)
                seen[who, method, path] = answer.status_code
                assert answer.status_code in expected(who, method, path), (who, method, path, answer.text)
                if answer.status_code == 401:
                    assert set(answer.json()) == {"detail"}  # nothing but how to log in
    assert len(seen) == len(CALLERS) * len(routes)


async def test_pages_and_static_files_need_a_session(web: Web) -> None:
    async with web.client() as anonymous:
        for path in ("/", "/pending", "/static/app.js", "/static/vendor/lightweight-charts.standalone.production.js"):
            answer = await anonymous.get(path)
            assert answer.status_code == 401 and "paperdesk web login" in answer.text
    async with web.login(f"tg:{VIEWER}", Role.VIEWER) as (client, _):
        assert (await client.get("/pending")).status_code == 200
        script = await client.get("/static/vendor/lightweight-charts.standalone.production.js")
        assert script.status_code == 200 and "LightweightCharts" in script.text
        assert (await client.get("/static/../app.py")).status_code == 404


async def test_a_removed_telegram_user_loses_the_session_at_once(web: Web) -> None:
    async with web.login(f"tg:{VIEWER}", Role.VIEWER) as (client, _):
        assert (await client.get("/api/pending")).status_code == 200
        web.auth.roles = type(web.auth.roles)(approvers=frozenset({APPROVER}), viewers=frozenset())
        assert (await client.get("/api/pending")).status_code == 401


async def test_a_viewer_link_cannot_be_raised_to_approver(web: Web) -> None:
    async with web.login(f"tg:{APPROVER}", Role.VIEWER) as (client, token):  # an approver's viewer link
        info = (await client.get("/api/session")).json()
        assert (info["role"], info["actor"]) == ("viewer", f"web:{APPROVER}")
        refused = await client.post(f"/api/proposals/{web.pending}/approve", headers={CSRF_HEADER: token})
        assert refused.status_code == 403
    assert web.app.store.get_proposal(web.pending).status == "AWAITING_APPROVAL"


async def test_the_session_cookie_is_httponly_strict_and_expiring(web: Web) -> None:
    async with web.client() as client:
        answer = await client.get("/login", params={"token": web.auth.login_token("os:alice", Role.APPROVER)})
    header = answer.headers["set-cookie"].lower()
    assert header.startswith(COOKIE) and "httponly" in header and "samesite=strict" in header
    assert "max-age=43200" in header
