"""The API shows the desk's own use cases (no second implementation), and the decision log's filters."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from bot.desk import views
from bot.desk.explain import explain
from bot.desk.risk_usage import risk_usage
from bot.web.auth import CSRF_HEADER
from bot.web.roles import Role
from tests.bot.web.conftest import APPROVER, Web


def as_json(value: BaseModel | list[Any]) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else TypeAdapter(Any).dump_python(
        value, mode="json")


async def test_the_api_answers_what_the_cli_and_telegram_see(web: Web) -> None:
    desk = web.app.desk
    async with web.login(f"tg:{APPROVER}", Role.VIEWER) as (client, _):
        assert (await client.get("/api/pending")).json() == as_json(views.pending(desk))
        assert (await client.get("/api/risk")).json() == as_json(await risk_usage(desk))
        assert (await client.get("/api/pnl")).json() == as_json(await views.pnl(desk))
        assert (await client.get(f"/api/explain/{web.pending}")).json() == as_json(explain(desk, web.pending))
        overview = (await client.get("/api/overview")).json()
        positions = (await client.get("/api/positions")).json()
        history = (await client.get("/api/decisions", params={"limit": 20})).json()
    assert overview["status"] == as_json(await views.status(desk))
    assert [p["symbol"] for p in positions] == [p.symbol for p in await views.positions(desk)]
    assert [d["proposal"] for d in history] == as_json(views.history(desk, limit=20))


async def test_the_decision_log_filters_by_symbol_verdict_and_actor(web: Web) -> None:
    pending = web.app.store.get_proposal(web.pending)
    async with web.login(f"tg:{APPROVER}", Role.APPROVER) as (client, token):
        await client.post(f"/api/proposals/{web.pending}/reject", headers={CSRF_HEADER: token}, json={"reason": "no"})

        async def ids(**params: str) -> list[str]:
            answer = await client.get("/api/decisions", params=params)
            assert answer.status_code == 200, answer.text
            return [d["proposal"]["id"] for d in answer.json()]

        everything = await ids()
        assert len(everything) > 2
        assert await ids(actor="web:") == [web.pending] == await ids(actor=f"web:{APPROVER}")
        assert await ids(actor="cli:") == [] and await ids(actor="w_b:") == []  # a prefix, not a LIKE pattern
        assert web.pending in await ids(symbol=pending.symbol.lower())
        assert all(d == pending.symbol for d in [web.app.store.get_proposal(i).symbol
                                                 for i in await ids(symbol=pending.symbol)])
        safe = await ids(verdict="SAFE")
        assert safe and all(web.app.store.get_proposal(i).verdict_level == "SAFE" for i in safe)
        assert (await client.get("/api/decisions", params={"verdict": "MAYBE"})).status_code == 422


async def test_logging_out_ends_the_session(web: Web) -> None:
    async with web.login("os:alice", Role.APPROVER) as (client, token):
        assert (await client.post("/logout", headers={CSRF_HEADER: token})).status_code == 200
        assert (await client.get("/api/pending")).status_code == 401
