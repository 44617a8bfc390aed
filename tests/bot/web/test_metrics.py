"""/metrics: the exposition parsed back with prometheus_client's parser and checked against the store.

Real cycles on the real database and the simulated broker, a real outbox against the local Bot API
server, a real LLM call against the local OpenAI-compatible server. The Grafana dashboard and the
alerting rules in deploy/ may only name metrics the exposition emits.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from telegram import Bot

from bot.clock import FixedClock
from bot.daemon.notify import Outbox
from bot.desk import approvals
from bot.desk.cycle import run_cycle
from bot.telegram_ui.notifier import TelegramTransport
from bot.web.metrics import exposition
from bot.wiring import App
from risk.lifecycle import ProposalStatus
from risk.models import TradingState
from storage.llm_store import LlmStore
from storage.tables import CycleRow
from storage.telegram_store import TelegramStore
from tests.bot.conftest import FRIDAY_CLOSE, AppFactory
from tests.bot.telegram.conftest import TOKEN
from tests.fakes.llm_answers import good
from tests.fakes.openai_server import FakeOpenAI, answer
from tests.fakes.telegram_server import CHAT_ID, FakeTelegram

pytestmark = pytest.mark.asyncio
DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(app: App, **next_runs: datetime | None) -> tuple[Samples, set[str]]:
    """Every sample of one exposition by (name, labels), and the names of its metric families."""
    body, content_type = exposition(app.desk, next_runs=next_runs)
    assert content_type.startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    families = set()
    for family in text_string_to_metric_families(body.decode("utf-8")):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, families


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def llm_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


async def test_counts_latency_portfolio_and_state_match_the_store(make_app: AppFactory, clock: FixedClock) -> None:
    app = make_app()
    first = await run_cycle(app.desk)
    awaiting = [p.id for p in first.proposals if p.status == "AWAITING_APPROVAL"]
    assert len(awaiting) >= 3, "the scenario has BORDERLINE proposals awaiting approval"
    clock.advance(minutes=30)
    await approvals.approve(app.desk, awaiting[0], "cli:alice")
    clock.advance(minutes=30)
    approvals.reject(app.desk, awaiting[1], "cli:alice", "not this week")
    clock.advance(minutes=30)
    await run_cycle(app.desk)  # supersedes the approvals still pending: they expire
    clock.advance(hours=5)
    next_cycle = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)
    samples, _ = scrape(app, cycle=next_cycle, outbox=None)

    rows = app.store.proposals(limit=10_000)
    assert value(samples, "paperdesk_cycles_total", outcome="completed") == 2 == len(app.store.cycles())
    assert value(samples, "paperdesk_cycles_total", outcome="abstained") == 0
    for level in ("SAFE", "BORDERLINE", "UNSAFE"):
        assert value(samples, "paperdesk_proposals_total", verdict=level) == sum(r.verdict_level == level for r in rows)
    for status in ProposalStatus:
        in_status = sum(r.status == status for r in rows)
        assert value(samples, "paperdesk_proposals_in_status", status=str(status)) == in_status

    outcome = {"APPROVED": "approved", "REJECTED_BY_HUMAN": "rejected", "REJECTED_AT_APPROVAL": "rejected",
               "EXPIRED": "expired"}
    decided = Counter(outcome[t.to_status] for r in rows for t in app.store.transitions(r.id)
                      if t.from_status == "AWAITING_APPROVAL")
    expired = len(awaiting) - 2
    assert decided == {"approved": 1, "rejected": 1, "expired": expired}
    for name, n in decided.items():
        assert value(samples, "paperdesk_approvals_total", outcome=name) == n
        assert value(samples, "paperdesk_approval_latency_seconds_count", outcome=name) == n
        assert value(samples, "paperdesk_approval_latency_seconds_bucket", outcome=name, le="+Inf") == n
    latency = {"approved": 1800, "rejected": 3600, "expired": 5400}  # minutes after the cycle, as the clock moved
    for name, seconds in latency.items():
        assert value(samples, "paperdesk_approval_latency_seconds_sum", outcome=name) == pytest.approx(
            seconds * decided[name], abs=0.01)
    assert value(samples, "paperdesk_approval_latency_seconds_bucket", outcome="approved", le="900.0") == 0
    assert value(samples, "paperdesk_approval_latency_seconds_bucket", outcome="approved", le="1800.0") == 1
    assert value(samples, "paperdesk_approval_latency_seconds_bucket", outcome="expired", le="3600.0") == 0
    assert value(samples, "paperdesk_approval_latency_seconds_bucket", outcome="expired", le="7200.0") == expired

    fills = app.store.fills()
    orders = [order for r in rows if (order := app.store.order_for(r.id)) is not None]
    assert fills and orders
    for side in ("buy", "sell"):
        assert value(samples, "paperdesk_fills_total", side=side) == sum(f.side == side for f in fills)
        assert value(samples, "paperdesk_orders_total", side=side) == sum(o.side == side for o in orders)
    assert value(samples, "paperdesk_orders_open") == 0  # the simulated venue fills at once

    history = app.store.equity_history()
    last, peak = history[-1], max(row.equity for row in history)
    assert value(samples, "paperdesk_equity", currency="EUR") == pytest.approx(float(last.equity))
    assert value(samples, "paperdesk_equity_peak", currency="EUR") == pytest.approx(float(peak))
    assert value(samples, "paperdesk_drawdown") == pytest.approx(float(1 - last.equity / peak))
    assert value(samples, "paperdesk_cash_weight") == pytest.approx(float(last.cash / last.equity))
    assert value(samples, "paperdesk_equity_snapshot_timestamp_seconds") == pytest.approx(last.at.replace(
        tzinfo=UTC).timestamp())

    second_finished = FRIDAY_CLOSE.timestamp() + 90 * 60
    assert value(samples, "paperdesk_last_successful_cycle_timestamp_seconds") == pytest.approx(second_finished)
    assert value(samples, "paperdesk_seconds_since_last_successful_cycle") == pytest.approx(5 * 3600)
    assert value(samples, "paperdesk_scheduler_next_run_timestamp_seconds", job="cycle") == next_cycle.timestamp()
    assert not [key for key in samples if key[0] == "paperdesk_scheduler_next_run_timestamp_seconds"
                and ("job", "outbox") in key[1]]
    assert value(samples, "paperdesk_trading_state", state="ACTIVE") == 1

    app.desk.set_state(TradingState.HALTED, "cli:alice", "metrics test")
    halted, _ = scrape(app)
    assert [value(halted, "paperdesk_trading_state", state=str(s)) for s in TradingState] == [
        1.0 if s is TradingState.HALTED else 0.0 for s in TradingState]


async def test_a_new_desk_has_zero_counts_and_no_times(make_app: AppFactory, clock: FixedClock) -> None:
    app = make_app()
    samples, _ = scrape(app)
    assert value(samples, "paperdesk_cycles_total", outcome="completed") == 0
    assert value(samples, "paperdesk_proposals_total", verdict="SAFE") == 0
    assert value(samples, "paperdesk_outbox_backlog") == 0
    assert value(samples, "paperdesk_outbox_oldest_age_seconds") == 0
    assert value(samples, "paperdesk_trading_state", state="ACTIVE") == 1
    names = {name for name, _ in samples}
    assert not names & {"paperdesk_seconds_since_last_successful_cycle", "paperdesk_equity", "paperdesk_drawdown",
                        "paperdesk_llm_calls_total"}

    # a cycle that never completed (it crashed): the time since counts from its start
    app.store.record_cycle(CycleRow(id="c-crashed", started_at=clock(), policy="rules", data_source="test",
                                    status="running"), [])
    clock.advance(hours=2)
    samples, _ = scrape(app)
    assert value(samples, "paperdesk_cycles_total", outcome="running") == 1
    assert value(samples, "paperdesk_seconds_since_last_successful_cycle") == pytest.approx(2 * 3600)
    assert value(samples, "paperdesk_last_successful_cycle_timestamp_seconds") is None


async def test_outbox_backlog_age_and_abandoned_follow_real_sends(make_app: AppFactory, clock: FixedClock,
                                                                  tg: FakeTelegram, tmp_path: Path) -> None:
    app = make_app()
    store = TelegramStore(app.store.session, app.desk.clock)
    async with Bot(TOKEN, base_url=f"{tg.url}/bot") as bot:
        outbox = Outbox(store, TelegramTransport(bot, str(CHAT_ID)), app.desk.clock, attempts=1, base_delay=0)
        store.enqueue("report", "on", "a chart that was cleaned up", photo_path=str(tmp_path / "gone.png"))
        await outbox.flush()  # refused for good: given up, not retried
        tg.outage = True
        store.enqueue("alert", "on", "first")
        clock.advance(minutes=5)
        store.enqueue("alert", "on", "second")
        assert await outbox.flush() == 0
        clock.advance(minutes=20)
        samples, _ = scrape(app)
        assert value(samples, "paperdesk_outbox_backlog") == 2 == len(store.undelivered())
        assert value(samples, "paperdesk_outbox_oldest_age_seconds") == pytest.approx(25 * 60)
        assert value(samples, "paperdesk_outbox_abandoned_total") == 1
        tg.outage = False
        assert await outbox.flush() == 2
    samples, _ = scrape(app)
    assert value(samples, "paperdesk_outbox_backlog") == 0
    assert value(samples, "paperdesk_outbox_oldest_age_seconds") == 0
    assert value(samples, "paperdesk_outbox_abandoned_total") == 1
    assert [m.text for m in tg.sent()] == ["first", "second"]


async def test_llm_calls_tokens_and_cost_come_from_the_audit_trail(make_app: AppFactory,
                                                                   llm_server: FakeOpenAI) -> None:
    llm_server.script(answer(good()))
    app = make_app(policy="llm", OPENAI_API_KEY="test-key", OPENAI_BASE_URL=llm_server.url, llm_timeout_seconds=2.0)
    report = await run_cycle(app.desk)
    assert report.status == "completed"
    [row] = LlmStore(app.store.session).calls(10)
    samples, _ = scrape(app)
    labels = {"model": row.model, "source": "api"}
    assert value(samples, "paperdesk_llm_calls_total", outcome=row.outcome, **labels) == 1
    assert value(samples, "paperdesk_llm_tokens_total", direction="in", **labels) == row.prompt_tokens == 1200
    assert value(samples, "paperdesk_llm_tokens_total", direction="out", **labels) == row.completion_tokens == 300
    assert row.cost_usd > 0
    assert value(samples, "paperdesk_llm_cost_usd_total", model=row.model) == pytest.approx(float(row.cost_usd))


METRIC = re.compile(r"\bpaperdesk_\w+")
SUFFIXES = ("", "_total", "_bucket", "_sum", "_count")


def expressions(node: Any) -> Iterator[str]:
    """Every ``expr`` string anywhere in a JSON or YAML document."""
    if isinstance(node, dict):
        for key, item in node.items():
            if key == "expr" and isinstance(item, str):
                yield item
            else:
                yield from expressions(item)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def referenced(document: Any) -> set[str]:
    return {name for expr in expressions(document) for name in METRIC.findall(expr)}


async def test_dashboard_and_alert_rules_name_only_emitted_metrics(make_app: AppFactory) -> None:
    app = make_app()
    await run_cycle(app.desk)
    _, families = scrape(app, cycle=FRIDAY_CLOSE)
    emitted = {family + suffix for family in families for suffix in SUFFIXES}

    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text(encoding="utf-8"))
    assert dashboard["schemaVersion"] >= 36
    variables = dashboard["templating"]["list"]
    assert any(v["type"] == "datasource" and v["query"] == "prometheus" for v in variables)
    on_dashboard = referenced(dashboard)
    assert on_dashboard <= emitted, sorted(on_dashboard - emitted)
    for family in ("paperdesk_equity", "paperdesk_drawdown", "paperdesk_cash_weight", "paperdesk_trading_state",
                   "paperdesk_cycles_total", "paperdesk_proposals_total", "paperdesk_approval_latency_seconds_bucket",
                   "paperdesk_llm_tokens_total", "paperdesk_llm_cost_usd_total", "paperdesk_outbox_backlog",
                   "paperdesk_seconds_since_last_successful_cycle"):
        assert family in on_dashboard, f"no panel reads {family}"

    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yml").read_text(encoding="utf-8"))
    alerts = {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    in_rules = referenced(rules)
    assert in_rules <= emitted, sorted(in_rules - emitted)
    by_metric = {name: [expr for expr in alerts.values() if name in expr] for name in in_rules}
    [no_cycle] = by_metric["paperdesk_seconds_since_last_successful_cycle"]
    assert "day_of_week" in no_cycle and "26 * 3600" in no_cycle
    assert by_metric["paperdesk_outbox_backlog"] and by_metric["paperdesk_drawdown"]
    assert any('state="HALTED"' in expr for expr in by_metric["paperdesk_trading_state"])
