"""A desk divided into sleeves, wired from settings: live cycles, the LLM audit per sleeve, config errors.

The sleeves are the README's sample over the seed universe: US equities, commodities and bonds
(defensive, tighter position limit), Euronext Paris stocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli.app import app as cli
from bot.clock import FixedClock
from bot.desk.cycle import run_cycle
from bot.settings import SettingsError
from storage.llm_store import LlmStore
from storage.sleeve_store import SleeveStore
from tests.bot.conftest import FRIDAY_CLOSE, AppFactory
from tests.fakes.llm_answers import decision, idea
from tests.fakes.openai_server import FakeOpenAI, answer

US = {"asset_class": ["us_equity", "small_cap", "intl_equity"], "base_weight": 0.4, "min_weight": 0.2,
      "max_weight": 0.6}
COMMODITIES = {"asset_class": ["commodity", "bond"], "base_weight": 0.2, "min_weight": 0.1, "max_weight": 0.35,
               "defensive": True, "risk": {"max_position_weight": 0.10}}
PARIS = {"asset_class": "eu_equity", "policy": "equal_weight", "base_weight": 0.3, "min_weight": 0.15,
         "max_weight": 0.45}
SLEEVES = {"us_equity": US, "commodities": COMMODITIES, "paris": PARIS}


def sleeved(make_app: AppFactory, **overrides: Any) -> Any:
    return make_app(policy="sleeves", sleeves=overrides.pop("sleeves", SLEEVES), **overrides)


async def test_a_sleeved_cycle_trades_each_sleeve_inside_its_budget(make_app: AppFactory) -> None:
    app = sleeved(make_app)
    report = await run_cycle(app.desk)
    assert report.status == "completed" and report.policy == "sleeves"
    assert report.market_view.startswith("[us_equity 40%, rules]") and "[paris 30%, equal_weight]" in report.market_view
    members = {s.name: s.symbols for s in app.desk.sleeve_book().sleeves}
    assert report.proposals and all(any(p.symbol in m for m in members.values()) for p in report.proposals)
    book = {p.symbol: p.market_value_base for p in await app.desk.broker.positions()}
    account = await app.desk.broker.account()
    sleeves = SleeveStore(app.store.session)
    allocation = sleeves.latest_allocation()
    assert allocation is not None and allocation.method == "rules" and allocation.budgets is not None
    assert allocation.budgets == pytest.approx({"us_equity": 0.4, "commodities": 0.2, "paris": 0.3})
    for name, symbols in members.items():
        held = sum(v for s, v in book.items() if s in symbols)
        assert held / account.equity <= allocation.budgets[name] + 1e-9, name
    assert all(v / account.equity <= 0.10 + 1e-9 for s, v in book.items() if s in members["commodities"])
    assert [d.sleeve for d in sleeves.days()] == ["us_equity", "commodities", "paris"]  # the sleeves' order


async def test_the_allocator_waits_for_its_schedule_and_days_accumulate(make_app: AppFactory) -> None:
    for days in (0, 3, 7):
        app = sleeved(make_app, clock=FixedClock(FRIDAY_CLOSE + timedelta(days=days)))
        await run_cycle(app.desk)
    sleeves = SleeveStore(app.store.session)
    assert [str(a.as_of) for a in sleeves.allocations()] == ["2026-11-20", "2026-11-27"]
    assert sorted({str(d.as_of) for d in sleeves.days()}) == ["2026-11-20", "2026-11-23", "2026-11-27"]
    latest = sleeves.latest_allocation()
    assert latest is not None and set(latest.reasons or {}) == set(SLEEVES)


def test_an_instrument_in_two_sleeves_is_a_one_line_error(make_app: AppFactory) -> None:
    with pytest.raises(SettingsError, match=r"^SPY is in two sleeves, us_equity and spy_only: an instrument belongs "
                                            r"to at most one sleeve$"):
        sleeved(make_app, sleeves={"us_equity": US, "spy_only": {"instruments": ["SPY"], "base_weight": 0.1}})


@pytest.mark.parametrize(("sleeve", "message"), [
    ({**PARIS, "risk": {"max_position_weight": 0.5}},
     "sleeve paris: max_position_weight = 0.5 is looser than the desk's 0.25; a sleeve's limits may only tighten"),
    ({**PARIS, "instruments": ["NOPE"], "asset_class": None}, "sleeve paris: NOPE not in the universe seed"),
])
def test_bad_sleeves_are_refused_in_one_line(make_app: AppFactory, sleeve: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=f"^{message}$"):
        sleeved(make_app, sleeves={"us_equity": US, "paris": sleeve})


def test_the_cli_names_the_two_sleeves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "paperdesk.toml"
    config.write_text('[sleeves.a]\ninstruments = ["SPY", "GLD"]\nbase_weight = 0.4\n\n'
                      '[sleeves.b]\nasset_class = "commodity"\nbase_weight = 0.4\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["cycle"], env={"PAPERDESK_CONFIG": str(config)})
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: GLD is in two sleeves, a and b: an instrument belongs to at most one "
                                     "sleeve")


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def test_each_llm_sleeve_asks_once_with_its_mandate_and_is_audited_with_its_sleeve(
        make_app: AppFactory, server: FakeOpenAI) -> None:
    server.script(answer(decision(idea("SPY", 0.5))), answer(decision(idea("GLD", 0.4))))
    us = {**US, "policy": "llm", "prompt": "Prefer broad index ETFs."}
    commodities = {**COMMODITIES, "policy": "llm", "model": "small-local"}
    app = sleeved(make_app, sleeves={"us_equity": us, "commodities": commodities, "paris": PARIS},
                  OPENAI_API_KEY="k", OPENAI_BASE_URL=server.url)
    report = asyncio.run(run_cycle(app.desk))
    assert [r["model"] for r in server.requests] == ["gpt-4o-mini", "small-local"]
    system = server.requests[0]["messages"][0]["content"]
    assert "You manage the sleeve 'us_equity'" in system and system.endswith("Prefer broad index ETFs.")
    assert "GLD" not in server.requests[0]["messages"][1]["content"]  # only its own instruments are listed
    rows = sorted(LlmStore(app.store.session).calls(10), key=lambda r: r.id or 0)
    assert [(r.sleeve, r.cycle_id) for r in rows] == [("us_equity", report.cycle_id),
                                                        ("commodities", report.cycle_id)]
    targets = {p.symbol: p.target_weight for p in report.proposals}
    assert targets["SPY"] == pytest.approx(0.5 * 0.4) and targets["GLD"] == pytest.approx(0.4 * 0.2)
