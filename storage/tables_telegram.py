"""Telegram bookkeeping: which message shows which proposal, and the notification outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from storage.types import json_field


class TelegramMessageRow(SQLModel, table=True):
    """A message the bot sent that it may need to edit later (an approval request)."""

    __tablename__ = "telegram_message"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: str | None = Field(default=None, max_length=40, index=True)
    chat_id: str = Field(max_length=40)
    message_id: int
    kind: str = Field(max_length=24)
    created_at: datetime
    updated_at: datetime
    final: bool = False


class NotificationRow(SQLModel, table=True):
    """An outgoing notification; kept until delivered, so an outage loses nothing. A long one goes out in
    several messages (parts): ``parts_sent`` counts those delivered, so a retry resumes at the next."""

    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(index=True)
    kind: str = Field(max_length=24)
    level: str = Field(default="on", max_length=8)
    text: str
    photo_path: str | None = None
    reply_markup: dict[str, Any] | None = json_field()
    proposal_id: str | None = Field(default=None, max_length=40)
    attempts: int = 0
    parts_sent: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = Field(default=None, index=True)
