"""The per-sleeve learning loop: one weekly retrospective per sleeve, recalled into that sleeve's prompts only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.desk.cycle import run_cycle
from bot.desk.learning import weekly_retrospective
from tests.bot.conftest import AppFactory
from tests.bot.sleeves.test_sleeves_desk import COMMODITIES, PARIS, US
from tests.fakes.llm_answers import decision, idea
from tests.fakes.openai_server import FakeOpenAI, answer
from tests.memory_fixtures import local_model

__all__ = ["local_model"]  # fixture


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def memory_block(request: dict[str, object]) -> str:
    user = request["messages"][1]["content"]  # type: ignore[index]
    start = user.index('<data source="memory">')
    return str(user[start:user.index("</data>", start)])


async def test_each_sleeve_gets_its_retrospective_and_recalls_only_its_own(
        make_app: AppFactory, server: FakeOpenAI, clock: FixedClock, local_model: str) -> None:
    server.default = answer(decision(idea("SPY", 0.3), idea("GLD", 0.3)))
    sleeves = {"us_equity": {**US, "policy": "llm"}, "commodities": {**COMMODITIES, "policy": "llm"}, "paris": PARIS}
    app = make_app(policy="sleeves", sleeves=sleeves, OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url,
                   memory="mem0", memory_embedder="local")
    await run_cycle(app.desk)
    desk_wide = weekly_retrospective(app.desk)
    assert desk_wide is not None and desk_wide.text.startswith("Week to ")
    tagged = {r.metadata.get("sleeve"): r.text for r in app.desk.memory.list(kind="retrospective")}
    assert set(tagged) == {None, "us_equity", "commodities", "paris"}
    assert tagged["us_equity"].startswith("Sleeve us_equity: Week to 2026-11-20: ")
    assert "GLD" not in tagged["us_equity"] and "SPY" not in tagged["commodities"]
    clock.now = clock.now + timedelta(days=3)
    before = len(server.requests)
    await run_cycle(app.desk)
    us, commodities = server.requests[before], server.requests[before + 1]
    assert "You manage the sleeve 'us_equity'" in us["messages"][0]["content"]
    assert "Sleeve us_equity: Week to" in memory_block(us) and "Sleeve commodities:" not in memory_block(us)
    assert "Sleeve commodities: Week to" in memory_block(commodities)
    assert "Sleeve us_equity:" not in memory_block(commodities)
