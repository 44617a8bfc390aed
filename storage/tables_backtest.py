"""Backtest runs: parameters, metrics against the benchmarks, and the equity curve."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Field, SQLModel

from storage.types import json_field


class BacktestRunRow(SQLModel, table=True):
    """One backtest (or one walk-forward fold)."""

    __tablename__ = "backtest_run"

    id: str = Field(primary_key=True, max_length=40)
    created_at: datetime = Field(index=True)
    start: date
    end: date
    policy: str = Field(max_length=40)
    data_source: str = Field(max_length=200)
    status: str = Field(max_length=16)
    symbols: Any = json_field()
    params: dict[str, Any] | None = json_field()
    metrics: dict[str, Any] | None = json_field()
    benchmarks: dict[str, Any] | None = json_field()
    equity: Any = json_field()
    out_dir: str | None = None
    elapsed_seconds: float = 0.0
