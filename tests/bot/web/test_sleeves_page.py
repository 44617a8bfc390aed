"""The dashboard's sleeves: the same view as ``paperdesk sleeves``, the budgets stacked for the chart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.desk.cycle import run_cycle
from bot.sleeves.views import NO_SLEEVES, sleeves_view
from bot.web.roles import Role
from tests.bot.conftest import FRIDAY_CLOSE, AppFactory
from tests.bot.sleeves.test_sleeves_desk import SLEEVES
from tests.bot.web.conftest import APPROVER, ROLES, Web, serve
from tests.bot.web.test_views import as_json


async def test_the_sleeves_page_reads_the_sleeves_view(make_app: AppFactory) -> None:
    for days in (0, 3):
        app = make_app(policy="sleeves", sleeves=SLEEVES, clock=FixedClock(FRIDAY_CLOSE + timedelta(days=days)),
                       **ROLES)
        await run_cycle(app.desk)
    async for url, auth in serve(app):
        web = Web(app=app, url=url, auth=auth, pending="")
        async with web.login(f"tg:{APPROVER}", Role.VIEWER) as (client, _):
            page = (await client.get("/api/sleeves")).json()
            html = (await client.get("/sleeves")).text
    assert page["view"] == as_json(await sleeves_view(app.desk)) and page["message"] is None
    stacked = page["stacked"]
    assert list(stacked) == ["us_equity", "commodities", "paris"]
    assert [p["value"] for p in stacked["paris"]] == pytest.approx([0.9, 0.9])  # 40 % + 20 % + 30 %, stacked
    assert [p["time"] for p in stacked["us_equity"]] == ["2026-11-20", "2026-11-23"]
    assert 'data-page="sleeves"' in html


async def test_a_desk_without_sleeves_gets_the_message(web: Web) -> None:
    async with web.login(f"tg:{APPROVER}", Role.VIEWER) as (client, _):
        page = (await client.get("/api/sleeves")).json()
    assert page == {"view": None, "stacked": {}, "message": NO_SLEEVES}
