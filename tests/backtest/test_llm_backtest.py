"""``paperdesk backtest --policy llm`` over real HTTP against the local OpenAI-compatible server.

Record asks once per replayed day and stores every call in ``llm_call`` as live; replay, with the
server stopped, makes no request and reproduces the run byte for byte; a day missing from the cache
is a one-line error naming it; the monthly budget applies as live.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.backtest.test_cli_backtest import _write_csvs, run
from tests.fakes.llm_answers import decision, idea
from tests.fakes.openai_server import FakeOpenAI, answer

START, END = "2024-02-01", "2024-02-29"  # 21 trading days: 20 decisions (the last day only values)
DECISION_DAYS = 20
CALL_COST = Decimal("0.00036")  # 1,200 prompt and 300 completion tokens at the default prices


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    monkeypatch.setenv("PAPERDESK_LLM_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("PAPERDESK_LLM_MAX_RETRIES", "0")
    yield fake
    fake.stop()


def daily_answers(count: int) -> list[Any]:
    """A different decision for each call, so a replay that answered the wrong day would drift."""
    return [answer(decision(idea("SPY", round(0.05 + 0.01 * k, 2)), idea("TLT", 0.1 if k % 2 else 0.15,
                                                                          action="BUY" if k % 2 == 0 else "SELL")))
            for k in range(count)]


def backtest(data: Path, out: Path, end: str = END) -> tuple[int, dict[str, Any], str]:
    code, stdout, stderr = run("backtest", "--start", START, "--end", end, "--data", f"csv:{data}",
                               "--policy", "llm", "--out", str(out), "--json", "--skip-missing")
    return code, json.loads(stdout) if code == 0 else {}, stderr


def llm_rows(home: Path) -> list[tuple[str, bool, Decimal]]:
    engine = create_engine(f"sqlite:///{home / 'paperdesk.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("select outcome, from_cache, cost_usd from llm_call order by id")).all()
    engine.dispose()
    return [(outcome, bool(cached), Decimal(str(cost))) for outcome, cached, cost in rows]


def test_record_then_replay_with_the_server_stopped_reproduces_the_run(
        tmp_path: Path, isolated_env: Path, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _write_csvs(tmp_path / "data")
    server.script(*daily_answers(DECISION_DAYS))
    code, recorded, stderr = backtest(data, tmp_path / "record")
    assert code == 0, stderr
    assert len(server.requests) == DECISION_DAYS  # once per replayed day
    assert recorded["llm"] == {"model": "gpt-4o-mini", "cache": "record", "calls_made": DECISION_DAYS,
                               "calls_replayed": 0, "over_budget": 0, "cost_usd": str(CALL_COST * DECISION_DAYS)}
    assert recorded["counts"]["filled"] > 0 and recorded["counts"]["policy_abstained"] == 0
    assert llm_rows(isolated_env) == [("ok", False, CALL_COST)] * DECISION_DAYS
    assert "llm gpt-4o-mini (cache record): 20 call(s) made, 0 replayed, cost $0.00720" in (
        tmp_path / "record" / "summary.txt").read_text()

    server.stop()
    monkeypatch.setenv("PAPERDESK_LLM_CACHE", "replay")
    code, replayed, stderr = backtest(data, tmp_path / "replay")
    assert code == 0, stderr
    assert len(server.requests) == DECISION_DAYS  # not one more
    assert (replayed["llm"]["calls_made"], replayed["llm"]["calls_replayed"]) == (0, DECISION_DAYS)
    assert Decimal(replayed["llm"]["cost_usd"]) == 0
    equity = (tmp_path / "record" / "equity.csv").read_bytes()
    assert equity == (tmp_path / "replay" / "equity.csv").read_bytes()
    assert replayed["metrics"] == recorded["metrics"] and replayed["counts"] == recorded["counts"]
    assert llm_rows(isolated_env)[DECISION_DAYS:] == [("ok", True, Decimal(0))] * DECISION_DAYS

    code, _, stderr = backtest(data, tmp_path / "longer", end="2024-03-07")
    assert code == 1 and stderr.count("\n") == 1
    assert stderr == ("error: no recorded LLM answer for 2024-02-29 (model gpt-4o-mini); run the same backtest "
                      "with PAPERDESK_LLM_CACHE=record first\n")  # the recorded run's last day had no decision
    assert len(server.requests) == DECISION_DAYS
    # A replay buffers its audit rows; a run that stops early still stores those of the days it replayed.
    assert llm_rows(isolated_env)[2 * DECISION_DAYS:] == [("ok", True, Decimal(0))] * DECISION_DAYS + [
        ("replay_miss", False, Decimal(0))]


def test_a_long_replay_stores_its_audit_rows_in_batches(
        tmp_path: Path, isolated_env: Path, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.backtest.llm import TallyingCallLog

    data = _write_csvs(tmp_path / "data")
    server.script(*daily_answers(DECISION_DAYS))
    assert backtest(data, tmp_path / "record")[0] == 0
    server.stop()
    monkeypatch.setenv("PAPERDESK_LLM_CACHE", "replay")
    monkeypatch.setattr(TallyingCallLog, "BATCH", 7)  # 20 days: batches of 7, 7, then the last 6 at the end
    code, replayed, stderr = backtest(data, tmp_path / "replay")
    assert code == 0, stderr
    assert replayed["llm"]["calls_replayed"] == DECISION_DAYS
    assert llm_rows(isolated_env)[DECISION_DAYS:] == [("ok", True, Decimal(0))] * DECISION_DAYS


def test_the_monthly_budget_stops_the_calls_as_live(tmp_path: Path, isolated_env: Path, server: FakeOpenAI,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data = _write_csvs(tmp_path / "data")
    server.script(*daily_answers(DECISION_DAYS))
    monkeypatch.setenv("PAPERDESK_LLM_BUDGET_USD", "0.004")  # a call may cost up to ~$0.0025 (4,000 tokens out)
    code, document, stderr = backtest(data, tmp_path / "budget")
    assert code == 0, stderr
    llm = document["llm"]
    assert llm["calls_made"] > 0 and llm["over_budget"] > 0
    assert llm["calls_made"] + llm["over_budget"] == DECISION_DAYS == len(server.requests) + llm["over_budget"]
    assert document["counts"]["policy_abstained"] == llm["over_budget"]  # a day without a decision, as live
    assert Decimal(llm["cost_usd"]) <= Decimal("0.004")
    outcomes = [outcome for outcome, _, _ in llm_rows(isolated_env)]
    assert outcomes == ["ok"] * llm["calls_made"] + ["over_budget"] * llm["over_budget"]


def test_an_llm_backtest_without_a_key_says_how_to_get_one(tmp_path: Path) -> None:
    data = _write_csvs(tmp_path / "data")
    code, stdout, stderr = run("backtest", "--start", START, "--end", END, "--data", f"csv:{data}",
                               "--policy", "llm")
    assert code == 1 and stdout == ""
    assert stderr == ("error: the llm policy needs OPENAI_API_KEY (any string for a local server), or "
                      "PAPERDESK_LLM_CACHE=replay to answer from recorded calls; or use --policy rules\n")
