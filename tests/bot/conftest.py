"""Desk fixtures: a fully wired app (synthetic market, simulated broker) on a real database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.settings import Settings
from bot.wiring import App, build_app
from tests.fakes.alpaca_server import FakeAlpaca

# A Friday after the US close: synthetic data has a bar for this day.
FRIDAY_CLOSE = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)

AppFactory = Callable[..., App]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(FRIDAY_CLOSE)


@pytest.fixture
def make_app(db_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[AppFactory]:
    """Build apps on one database (each call is a new 'process' over the same state)."""
    apps: list[App] = []

    def factory(**overrides: Any) -> App:
        # min_confidence 0.75: on this date the rules policy's confidences run 0.59-0.79, so the scenario has
        # SAFE fills and BORDERLINE proposals awaiting approval.
        values: dict[str, Any] = {"home": tmp_path / "home", "database_url": db_url, "policy": "rules",
                                  "risk": {"min_confidence": 0.75}}
        values.update(overrides)
        app = build_app(Settings(**values), clock=overrides.pop("clock", clock))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()


@pytest.fixture
def alpaca() -> Iterator[FakeAlpaca]:
    """A local Alpaca server with USD 100,000 of cash (tests/fakes/alpaca_server.py)."""
    server = FakeAlpaca(cash=Decimal(100_000))
    server.start()
    yield server
    server.stop()
