"""``paperdesk explain ID``: one decision's whole story, from the cycle and the prompt to the fills and the outcome.

The scenario (the Friday close of tests/bot/conftest.py, rules policy, ``max_asset_class_weight``
0.10): DG.PA is SAFE and filled; AI.PA is BORDERLINE for low confidence only; GWX asks 15% of an
asset class capped at 10% and is clamped.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bot.cli.app import app as cli
from bot.cli.explain_run import render_cycle, render_proposal
from bot.clock import FixedClock
from bot.desk import approvals
from bot.desk.cycle import run_cycle
from bot.desk.explain import explain
from bot.desk.explain_views import CycleStory, ProposalStory, parse_story
from bot.desk.results import CycleReport, DeskError
from bot.settings import load_settings
from bot.wiring import App, build_app
from storage.llm_store import LlmStore
from storage.tables_llm import LlmCallRow
from tests.bot.conftest import AppFactory
from tests.fakes.llm_answers import decision, good, idea
from tests.fakes.openai_server import FakeOpenAI, answer

RISK = {"min_confidence": 0.75, "max_asset_class_weight": 0.10}
HOSTILE = "trend intact [/] [link=https://evil.example]click[/link] [bold]loud :smile:"


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


async def scenario(make_app: AppFactory) -> tuple[App, CycleReport, dict[str, str]]:
    app = make_app(risk=RISK)
    report = await run_cycle(app.desk)
    ids = {p.symbol: p.id for p in report.proposals}
    assert {"DG.PA", "AI.PA", "GWX"} <= set(ids), report.proposals
    return app, report, ids


def proposal(app: App, pid: str) -> ProposalStory:
    story = explain(app.desk, pid)
    assert isinstance(story, ProposalStory)
    return story


def shown(story: ProposalStory | CycleStory) -> str:
    """What the terminal prints (no wrapping: an audit shows every line whole)."""
    console = Console(record=True, width=200, file=io.StringIO())
    if isinstance(story, ProposalStory):
        render_proposal(console, story)
    else:
        render_cycle(console, story)
    return console.export_text()


async def test_a_safe_fill_tells_its_cycle_reasons_path_and_fill(make_app: AppFactory) -> None:
    app, report, ids = await scenario(make_app)
    line = next(p for p in report.proposals if p.symbol == "DG.PA")
    story = proposal(app, ids["DG.PA"])
    assert (story.status, story.cycle.id, story.cycle.as_of) == ("FILLED", report.cycle_id, date(2026, 11, 20))
    assert story.cycle.synthetic and story.cycle.policy == "rules" and story.cycle.market_view == report.market_view
    assert story.llm_calls == [] and story.reasoning.thesis == line.thesis and story.reasoning.time_horizon_days == 20
    assert story.reasoning.exit_triggers and story.reasoning.expected_upside_pct is not None
    assert (story.sizing.quantity, story.sizing.target_weight, story.sizing.notional_base) == (
        line.quantity, line.target_weight, line.notional_base)
    assert [(v.stage, v.level, v.hits, v.clamp) for v in story.verdicts] == [("cycle", "SAFE", [], None)]
    assert [(t.from_status, t.to_status, t.actor) for t in story.transitions] == [
        (None, "PROPOSED", "agent"), ("PROPOSED", "SAFE", "risk"), ("SAFE", "SUBMITTING", "system"),
        ("SUBMITTING", "SUBMITTED", "broker"), ("SUBMITTED", "FILLED", "broker")]
    [order] = story.orders
    [fill] = order.fills
    assert order.status == "filled" and fill.quantity == line.fill_quantity and fill.price == line.fill_price
    assert fill.commission_base > 0 and fill.at.tzinfo is not None
    assert not story.outcome.due and story.outcome.due_on == date(2026, 12, 18) and "not due yet" in story.outcome.note
    text = shown(story)
    for expected in ("SYNTHETIC DATA", "the rules policy's reasons", line.thesis, "SAFE → SUBMITTING",
                     f"order {order.id}", f"{fill.price:,.6f}", "not due yet"):
        assert expected in text, expected


async def test_a_borderline_rejected_by_a_human_keeps_the_humans_words(make_app: AppFactory) -> None:
    app, _, ids = await scenario(make_app)
    approvals.reject(app.desk, ids["AI.PA"], "cli:bob", f"too extended after the run-up {HOSTILE}")
    story = proposal(app, ids["AI.PA"])
    assert (story.status, story.decided_by) == ("REJECTED_BY_HUMAN", "cli:bob")
    assert story.decision_reason == f"too extended after the run-up {HOSTILE}"
    [verdict] = story.verdicts
    assert verdict.level == "BORDERLINE" and [(h.code, h.detail["min"]) for h in verdict.hits] == [
        ("LOW_CONFIDENCE", 0.75)]
    last = story.transitions[-1]
    assert (last.actor, last.from_status, last.to_status, last.note) == (
        "cli:bob", "AWAITING_APPROVAL", "REJECTED_BY_HUMAN", story.decision_reason)
    assert story.orders == []
    text = shown(story)
    assert f"decided by cli:bob: {story.decision_reason}" in text and "LOW_CONFIDENCE: confidence=" in text


async def test_a_clamp_shows_what_was_asked_and_what_the_limit_allows(make_app: AppFactory) -> None:
    app, _, ids = await scenario(make_app)
    before = proposal(app, ids["GWX"])
    clamp = before.verdicts[0].clamp
    assert clamp is not None and clamp.quantity_before is not None and clamp.quantity_after is not None
    assert clamp.quantity_before == before.sizing.quantity > clamp.quantity_after
    assert (clamp.text or "").startswith("asked 15.0%, the limits allow 10.0% (")
    assert clamp.weight_before == pytest.approx(0.15, abs=1e-4) and clamp.weight_after == pytest.approx(0.10, abs=1e-4)
    assert "ASSET_CLASS_WEIGHT_EXCEEDS_MAX" in [h.code for h in before.verdicts[0].hits]
    await approvals.approve(app.desk, ids["GWX"], "cli:alice")
    story = proposal(app, ids["GWX"])
    assert [v.stage for v in story.verdicts] == ["cycle", "approval"] and story.decided_by == "cli:alice"
    again = story.verdicts[1].clamp
    approved = again.quantity_after if again is not None and again.quantity_after is not None else clamp.quantity_after
    assert story.orders[0].filled_quantity == approved < before.sizing.quantity
    assert [t.to_status for t in story.transitions][-4:] == ["APPROVED", "SUBMITTING", "SUBMITTED", "FILLED"]
    text = shown(story)
    assert f"clamp: {clamp.text} · quantity {before.sizing.quantity.normalize():f} → " \
           f"{clamp.quantity_after.normalize():f} · weight 15.00% → 10.00%" in text
    assert "approval verdict" in text


async def test_the_outcome_is_measured_once_the_horizon_has_passed(make_app: AppFactory, clock: FixedClock) -> None:
    app, _, ids = await scenario(make_app)
    clock.advance(days=40)
    story = proposal(app, ids["DG.PA"])
    outcome, upside, worst = story.outcome, story.reasoning.expected_upside_pct, story.reasoning.worst_case_loss_pct
    assert upside is not None and worst is not None
    closes = app.desk.market.provider.history(app.desk.universe.instruments, app.desk.today, 200).close["DG.PA"]
    days = [d.date() for d in closes.index]
    start = days.index(date(2026, 11, 20))
    assert outcome.due and outcome.horizon_days == 20 and outcome.realised_return is not None
    assert outcome.realised_return == pytest.approx(closes.iloc[start + 20] / closes.iloc[start] - 1)
    assert outcome.reached_upside == (outcome.realised_return >= upside)
    assert outcome.worse_than_worst_case == (outcome.realised_return < -worst)
    assert f"{outcome.realised_return:+.2%}" in outcome.note and f"{outcome.realised_return:+.2%}" in shown(story)


async def test_a_cycle_lists_each_proposal_with_its_verdict_and_fate(make_app: AppFactory) -> None:
    app, report, _ = await scenario(make_app)
    story = explain(app.desk, report.cycle_id)
    assert isinstance(story, CycleStory) and story.cycle.id == report.cycle_id and story.llm_calls == []
    assert {(p.id, p.symbol, p.level, p.status) for p in story.proposals} == {
        (p.id, p.symbol, p.level, p.status) for p in report.proposals}
    text = shown(story)
    assert all(p.id in text for p in report.proposals) and "paperdesk explain p" in text


async def test_an_llm_proposal_shows_the_prompt_and_the_answer(make_app: AppFactory, server: FakeOpenAI) -> None:
    server.script(answer({"market_view": "x"}), answer(good()))  # one invalid answer, then a repaired one
    app = make_app(policy="llm", OPENAI_API_KEY="test-key", OPENAI_BASE_URL=server.url)
    report = await run_cycle(app.desk)
    spy = next(p for p in report.proposals if p.symbol == "SPY")
    story = proposal(app, spy.id)
    first, second = story.llm_calls
    assert (first.outcome, first.validation_errors) == ("invalid", ["missing key 'proposals'"])
    assert second.outcome == "ok" and second.messages == server.requests[1]["messages"]
    assert second.raw_answer == json.dumps(good()) and second.parsed is not None
    assert {k: second.parsed[k] for k in ("market_view", "proposals")} == good()
    assert (second.model, second.prompt_tokens, second.completion_tokens, second.cost_usd) == (
        "gpt-4o-mini", 1200, 300, Decimal("0.00036"))
    assert second.endpoint_host == server.url.split("/")[2]
    assert story.reasoning.thesis == good()["proposals"][0]["thesis"]
    text = shown(story)
    for message in server.requests[1]["messages"]:
        assert message["content"] in text  # the prompt in full: it is an audit
    assert json.dumps(good()) in text and "validation error: missing key 'proposals'" in text
    cycle = explain(app.desk, report.cycle_id)
    assert isinstance(cycle, CycleStory) and [c.outcome for c in cycle.llm_calls] == ["invalid", "ok"]
    assert server.requests[0]["messages"][1]["content"] in shown(cycle)


async def test_an_unknown_id_is_refused(make_app: AppFactory) -> None:
    app = make_app()
    for unknown in ("pnope", "", "   "):
        with pytest.raises(DeskError, match=f"^no proposal or cycle '{unknown.strip()}'$"):
            explain(app.desk, unknown)


# the command line --------------------------------------------------------------------------------------------------

runner = CliRunner()
AS_OF = ("--as-of", "2026-11-20")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERDESK_RISK__MIN_CONFIDENCE", "0.75")
    monkeypatch.setenv("PAPERDESK_RISK__MAX_ASSET_CLASS_WEIGHT", "0.10")


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_is_the_same_record_and_round_trips(cli_env: None) -> None:
    code, out, err = run("cycle", *AS_OF, "--json")
    assert code == 0, err
    cycle: dict[str, Any] = json.loads(out)
    filled = next(p["id"] for p in cycle["proposals"] if p["status"] == "FILLED")
    code, out, err = run("explain", filled, *AS_OF, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["kind"] == "proposal" and document["orders"][0]["fills"]
    built = build_app(load_settings(), as_of=date(2026, 11, 20))
    try:
        assert parse_story(out) == explain(built.desk, filled)
        code, out, _ = run("explain", cycle["cycle_id"], *AS_OF, "--json")
        assert code == 0 and parse_story(out) == explain(built.desk, cycle["cycle_id"])
    finally:
        built.close()
    assert {p["id"] for p in json.loads(out)["proposals"]} == {p["id"] for p in cycle["proposals"]}


def test_an_unknown_id_is_one_line_and_exit_1(cli_env: None) -> None:
    code, out, err = run("explain", "pnope")
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("note:")]
    assert code == 1 and out == "" and lines == ["error: no proposal or cycle 'pnope'"]


def test_a_thesis_with_markup_prints_as_written(cli_env: None, server: FakeOpenAI,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    server.default = answer(decision(idea("SPY", 0.10, thesis=HOSTILE)))
    for key, value in {"PAPERDESK_POLICY": "llm", "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": server.url}.items():
        monkeypatch.setenv(key, value)
    code, out, err = run("cycle", *AS_OF, "--json")
    assert code == 0, err
    [line] = json.loads(out)["proposals"]
    code, out, err = run("explain", line["id"], *AS_OF)
    assert code == 0, err
    assert f"thesis: {HOSTILE}" in out and '"thesis": "trend intact [/] [link=' in out


def test_secrets_in_stored_llm_calls_are_never_shown(cli_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row stored before redaction existed: an echoed key, a configured secret, a password in the host."""
    monkeypatch.setenv("PAPERDESK_POLICY", "rules")
    monkeypatch.setenv("OPENAI_API_KEY", "hunter2-configured")
    code, out, err = run("cycle", *AS_OF, "--json")
    assert code == 0, err
    cycle_id = json.loads(out)["cycle_id"]
    built = build_app(load_settings(), as_of=date(2026, 11, 20))
    LlmStore(built.store.session).add(LlmCallRow(
        at=datetime(2026, 11, 20, 21, tzinfo=UTC), cycle_id=cycle_id, model="gpt-4o-mini", cache_key="0" * 64,
        endpoint_host="desk:pa55word@proxy.example:8443", messages=[{"role": "user", "content": "decide"}],
        outcome="failed",
        error="HTTP 401: Invalid API key provided: sk-proj-abcdefghijklmnop1234 (hunter2-configured)"))
    built.close()
    for extra in ((), ("--json",)):
        code, out, err = run("explain", cycle_id, *AS_OF, *extra)
        assert code == 0, err
        assert "abcdefghijklmnop1234" not in out and "hunter2-configured" not in out and "pa55word" not in out
        assert "proxy.example:8443" in out and "Invalid API key provided: ***" in out
