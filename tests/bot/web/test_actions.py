"""Web actions: CSRF, one-time links, approvals through the desk's one path, races, and no secret ever shown."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from bot.clock import FixedClock
from bot.desk import approvals
from bot.desk.results import DeskError
from bot.web.auth import CSRF_HEADER
from bot.web.links import LINK_TTL
from bot.web.roles import Role
from tests.bot.conftest import AppFactory
from tests.bot.web.conftest import APPROVER, ROLES, SECRET, Web, awaiting, serve

pytestmark = pytest.mark.asyncio


async def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(web: Web) -> None:
    async with web.login(f"tg:{APPROVER}", Role.APPROVER) as (client, token):
        for headers in ({}, {CSRF_HEADER: "wrong"}, {CSRF_HEADER: token + "x"}):
            answer = await client.post(f"/api/proposals/{web.pending}/approve", headers=headers)
            assert answer.status_code == 403 and "CSRF" in answer.json()["detail"]
        assert (await client.post("/logout")).status_code == 403
    row = web.app.store.get_proposal(web.pending)
    assert (row.status, row.decided_by) == ("AWAITING_APPROVAL", None)


async def test_a_one_time_link_works_once(web: Web) -> None:
    token = web.auth.login_token("os:alice", Role.APPROVER)
    async with web.client() as first, web.client() as second:
        assert (await first.get("/login", params={"token": token})).status_code == 303
        reused = await second.get("/login", params={"token": token})
        assert reused.status_code == 401 and "already used" in reused.text and "set-cookie" not in reused.headers
        assert (await second.get("/api/pending")).status_code == 401


async def test_an_expired_or_altered_link_is_refused(web: Web) -> None:
    clock = web.auth.clock
    assert isinstance(clock, FixedClock)
    token = web.auth.login_token("os:alice", Role.APPROVER)
    async with web.client() as client:
        altered = token.replace(token[5], "A" if token[5] != "A" else "B", 1)
        assert (await client.get("/login", params={"token": altered})).status_code == 401
        clock.advance(seconds=LINK_TTL.total_seconds() + 1)
        assert (await client.get("/login", params={"token": token})).status_code == 401


async def test_an_approval_through_the_web_fills_once_as_web_actor(web: Web) -> None:
    async with web.login(f"tg:{APPROVER}", Role.APPROVER) as (client, token):
        answer = await client.post(f"/api/proposals/{web.pending}/approve", headers={CSRF_HEADER: token})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["proposal"]["status"] == "FILLED" and f"approved by web:{APPROVER}" in body["message"]
        again = await client.post(f"/api/proposals/{web.pending}/approve", headers={CSRF_HEADER: token})
        assert again.status_code == 409 and "already FILLED" in again.json()["detail"]
        log = (await client.get("/api/decisions", params={"actor": "web:"})).json()
    assert [d["proposal"]["id"] for d in log] == [web.pending]
    path = [(t.to_status, t.actor) for t in web.app.store.transitions(web.pending)][-4:]
    assert path[0] == ("APPROVED", f"web:{APPROVER}")
    assert web.app.store.order_for(web.pending) is not None


async def test_a_rejection_through_the_web_records_the_reason(web: Web) -> None:
    async with web.login("os:alice", Role.APPROVER) as (client, token):
        answer = await client.post(f"/api/proposals/{web.pending}/reject", headers={CSRF_HEADER: token},
                                   json={"reason": "too close to earnings"})
    assert answer.status_code == 200
    row = web.app.store.get_proposal(web.pending)
    assert (row.status, row.decided_by, row.decision_reason) == ("REJECTED_BY_HUMAN", "web:alice",
                                                                 "too close to earnings")


async def test_two_simultaneous_web_approvals_make_one_order(web: Web) -> None:
    fills_before = len(web.app.store.fills())
    async with web.login(f"tg:{APPROVER}", Role.APPROVER) as (one, t1), web.login("os:alice", Role.APPROVER) as (
            two, t2):
        answers = await asyncio.gather(
            one.post(f"/api/proposals/{web.pending}/approve", headers={CSRF_HEADER: t1}),
            two.post(f"/api/proposals/{web.pending}/approve", headers={CSRF_HEADER: t2}))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.text for a in answers]
    assert len(web.app.store.fills()) == fills_before + 1
    assert [t.to_status for t in web.app.store.transitions(web.pending)].count("APPROVED") == 1


async def test_a_web_approval_racing_a_cli_approval_makes_one_order(make_app: AppFactory) -> None:
    served, cli = make_app(**ROLES), make_app(**ROLES)  # two processes on one database: the daemon and a terminal
    pending = await awaiting(served)
    fills_before = len(served.store.fills())
    async for url, auth in serve(served):
        web = Web(app=served, url=url, auth=auth, pending=pending)
        async with web.login(f"tg:{APPROVER}", Role.APPROVER) as (client, token):

            async def by_cli() -> str:
                try:
                    return (await approvals.approve(cli.desk, pending, "cli:bob")).proposal.status
                except DeskError as exc:
                    return str(exc)

            web_answer, cli_answer = await asyncio.gather(
                client.post(f"/api/proposals/{pending}/approve", headers={CSRF_HEADER: token}), by_cli())
    winners = [web_answer.status_code == 200, cli_answer == "FILLED"]
    assert winners.count(True) == 1, (web_answer.text, cli_answer)
    assert len(served.store.fills()) == fills_before + 1
    assert served.store.get_proposal(pending).decided_by in {f"web:{APPROVER}", "cli:bob"}


async def test_no_secret_appears_in_any_response(make_app: AppFactory) -> None:
    secrets = {"telegram_bot_token": "123456:AAH-token-of-the-bot-abcdefghijklmnop",
               "openai_api_key": "sk-test-openai-key-0123456789abcdef", "web_metrics_token": "metrics-token-0123456789"}
    app = make_app(**ROLES, **secrets, alpaca_secret_key="alpaca-secret-0123456789abcdef")
    pending = await awaiting(app)
    # a key echoed into stored text by an endpoint, before redaction existed
    app.store.add_alert("test", "warning", f"endpoint said: bad key {secrets['openai_api_key']}")
    async for url, auth in serve(app):
        web = Web(app=app, url=url, auth=auth, pending=pending)
        async with web.login(f"tg:{APPROVER}", Role.APPROVER) as (client, token):
            bodies = [(await client.get(path)).text for path in (
                "/", "/api/overview", "/api/pending", "/api/decisions", f"/api/explain/{pending}", "/api/risk",
                "/api/positions", "/api/equity", "/api/pnl", "/api/llm/calls", "/api/backtests", "/api/openapi.json",
                "/api/session", "/static/app.js", "/metrics")]
            bodies.append((await client.post(f"/api/proposals/{pending}/approve", headers={CSRF_HEADER: token})).text)
    key = web.auth.key.decode()
    for body in bodies:
        for value in [*secrets.values(), "alpaca-secret-0123456789abcdef", SECRET, key]:
            assert value not in body
    assert any("endpoint said: bad key" in body for body in bodies)  # the alert is shown, its key is not


async def test_odd_ids_and_filters_are_refused_not_crashed_on(web: Web) -> None:
    odd = ["a\x00b", "x" * 65, "a b", "'; DROP TABLE proposal; --", "%ff"]
    async with web.login(f"tg:{APPROVER}", Role.APPROVER) as (client, token):
        for value in odd:
            quoted = quote(value, safe="")
            for path, params in [(f"/api/explain/{quoted}", None), (f"/api/backtests/{quoted}", None),
                                 (f"/static/{quoted}", None), ("/api/decisions", {"symbol": value}),
                                 ("/api/decisions", {"actor": value})]:
                answer = await client.get(path, params=params)
                assert 400 <= answer.status_code < 500, (path, params, answer.status_code)
            for action in ("approve", "reject"):
                answer = await client.post(f"/api/proposals/{quoted}/{action}", headers={CSRF_HEADER: token})
                assert 400 <= answer.status_code < 500, (value, action, answer.status_code)
        rejected = await client.post(f"/api/proposals/{web.pending}/reject", headers={CSRF_HEADER: token},
                                     json={"reason": "nul\x00inside"})
    assert rejected.status_code == 200
    assert web.app.store.get_proposal(web.pending).decision_reason == "nul\ufffdinside"
