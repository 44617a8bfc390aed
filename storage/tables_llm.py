"""The LLM audit trail: every call, what was asked, what came back, what it cost."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Field, SQLModel

from storage.types import json_field, money_field


class LlmCallRow(SQLModel, table=True):
    """One request to the model (or one answer replayed from the cache)."""

    __tablename__ = "llm_call"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    cycle_id: str | None = Field(default=None, max_length=40, index=True)
    sleeve: str | None = Field(default=None, max_length=40)  # the sleeve whose policy asked, if any
    purpose: str = Field(default="decision", max_length=24)
    model: str = Field(max_length=120)
    endpoint_host: str = Field(max_length=200)
    cache_key: str = Field(max_length=64, index=True)
    messages: Any = json_field()
    raw_answer: str | None = None
    parsed: dict[str, Any] | None = json_field()
    validation_errors: Any = json_field()
    outcome: str = Field(max_length=24, index=True)
    finish_reason: str | None = Field(default=None, max_length=24)
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: Decimal = money_field()
    from_cache: bool = False
    output_mode: str | None = Field(default=None, max_length=16)  # json_schema, json_object or prompt
