"""Memories waiting for the process that holds the memory store (``agent.memory.queue``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from storage.types import json_field


class MemoryQueueRow(SQLModel, table=True):
    """One memory a process could not store because another held the store; deleted once stored."""

    __tablename__ = "memory_queue"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    store: str = Field(max_length=500, index=True)  # the memory store's directory: only its holder drains the row
    token: str = Field(max_length=32, unique=True)  # kept with the stored memory: a retry finds it
    kind: str = Field(max_length=24)
    text: str
    meta: dict[str, Any] | None = json_field()
    attempts: int = 0
    last_error: str | None = None
