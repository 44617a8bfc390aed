"""The remembered output mode on SQLite and PostgreSQL: the newest answered call of that endpoint and
model, never a failed attempt, a replay or another model."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.llm_log import SqlCallLog
from tests.storage.test_llm_store import call, log

__all__ = ["log"]  # fixtures
AT = datetime(2026, 11, 20, 21, tzinfo=UTC)


def test_the_negotiated_mode_is_that_of_the_newest_answered_call(log: SqlCallLog) -> None:
    assert log.negotiated_mode("127.0.0.1:1", "m") is None
    log.record(call(AT, "failed", output_mode="json_schema", error="json_schema refused by the server: HTTP 500"))
    log.record(call(AT, "invalid", output_mode="json_object"))
    assert log.negotiated_mode("127.0.0.1:1", "m") == "json_object"
    log.record(call(AT, "failed", output_mode="prompt", error="timeout"))
    log.record(call(AT, "ok", from_cache=True))
    log.record(call(AT, "ok", model="other", output_mode="prompt"))
    log.record(call(AT, "ok", endpoint_host="10.0.0.9:8000", output_mode="json_schema"))
    assert log.negotiated_mode("127.0.0.1:1", "m") == "json_object"
    assert log.negotiated_mode("127.0.0.1:1", "other") == "prompt"
    assert log.negotiated_mode("http://user:pw@10.0.0.9:8000/v1", "m") == "json_schema"  # keyed as recorded
