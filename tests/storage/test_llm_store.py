"""The LLM audit trail on SQLite and PostgreSQL: exact costs, month spend, the replayable answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from agent.llm.audit import LlmCall
from bot.llm_log import SqlCallLog
from storage.engine import make_engine
from storage.llm_store import LlmStore, month_bounds
from storage.migrate import ensure_schema
from storage.store import Store


@pytest.fixture
def log(db_url: str) -> Iterator[SqlCallLog]:
    engine = make_engine(db_url)
    ensure_schema(engine)
    yield SqlCallLog(LlmStore(Store(engine, lambda: datetime.now(UTC)).session))
    engine.dispose()


def call(at: datetime, outcome: str = "ok", key: str = "k" * 64, **fields: object) -> LlmCall:
    values: dict[str, object] = {"at": at, "model": "m", "endpoint_host": "127.0.0.1:1", "cache_key": key,
                                 "messages": [{"role": "user", "content": "u"}], "outcome": outcome, **fields}
    return LlmCall(**values)  # type: ignore[arg-type]


def test_month_bounds_roll_over_the_year() -> None:
    assert month_bounds(date(2026, 12, 31)) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert month_bounds(date(2026, 2, 1))[1] == datetime(2026, 3, 1, tzinfo=UTC)


def test_month_spend_sums_exact_costs_inside_the_calendar_month(log: SqlCallLog) -> None:
    log.record(call(datetime(2026, 10, 31, 23, 59, tzinfo=UTC), cost_usd=Decimal("5")))
    log.record(call(datetime(2026, 11, 1, 0, 0, tzinfo=UTC), cost_usd=Decimal("0.00036")))
    log.record(call(datetime(2026, 11, 30, 23, 59, tzinfo=UTC), cost_usd=Decimal("0.000125")))
    log.record(call(datetime(2026, 12, 1, tzinfo=UTC), cost_usd=Decimal("7")))
    assert log.month_spend(date(2026, 11, 15)) == Decimal("0.000485")
    assert log.month_spend(date(2026, 9, 1)) == Decimal(0)


def test_find_returns_the_latest_answer_and_skips_failures(log: SqlCallLog) -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    assert log.find("k" * 64) is None
    log.record(call(at, raw_answer='{"old": 1}', prompt_tokens=10, completion_tokens=2))
    log.record(call(at, raw_answer='{"new": 1}', finish_reason="stop", prompt_tokens=11, completion_tokens=3))
    log.record(call(at, outcome="failed", error="timeout"))
    log.record(call(at, outcome="ok", key="z" * 64, raw_answer="{}"))
    found = log.find("k" * 64)
    assert found is not None and found.content == '{"new": 1}' and found.finish_reason == "stop"
    assert (found.prompt_tokens, found.completion_tokens, found.refusal) == (11, 3, None)


def test_answers_read_at_once_are_what_find_returns_key_by_key(log: SqlCallLog) -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    log.record(call(at, raw_answer='{"old": 1}'))
    log.record(call(at, raw_answer='{"new": 1}', finish_reason="stop"))
    log.record(call(at, outcome="failed", error="timeout"))
    log.record(call(at, outcome="refused", key="r" * 64, error="no"))
    log.record(call(at, outcome="failed", key="f" * 64, error="timeout"))
    log.record(call(at, key="o" * 64, raw_answer="{}", model="other"))
    answers = log.answers("m")
    assert set(answers) == {"k" * 64, "r" * 64}  # failures and other models left out
    assert answers == {key: log.find(key) for key in answers}
    assert answers["k" * 64].content == '{"new": 1}' and answers["r" * 64].refusal == "no"


def test_a_refusal_replays_as_a_refusal_and_nul_characters_are_stored(log: SqlCallLog) -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    log.record(call(at, outcome="refused", error="no\x00pe", finish_reason="stop"))
    found = log.find("k" * 64)
    assert found is not None and found.content is None and found.refusal == "no\ufffdpe"
