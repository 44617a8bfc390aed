"""A real browser against the served dashboard: Debian's Chromium driven by Playwright, headless.

Playwright cannot download its own browsers here: it launches ``/usr/bin/chromium``
(``apt-get install chromium chromium-driver``). Without it the tests skip and say why, unless
``PAPERDESK_REQUIRE_BROWSER=1`` (``.ci/run``), which makes them fail. Screenshots of every page go
to ``PAPERDESK_ARTEFACTS`` (when set) or the test's temporary directory.

The desk: a week of daily cycles on the synthetic market (so the equity chart has a curve), the
last one leaving proposals awaiting approval. Telegram user 11 approves, 22 only reads.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.desk.cycle import run_cycle
from bot.settings import Settings
from bot.web.auth import Auth
from bot.wiring import App, build_app
from tests.bot.sleeves.test_sleeves_desk import SLEEVES
from tests.bot.web.conftest import ROLES, threaded

CHROMIUM = Path("/usr/bin/chromium")
FIRST_DAY = datetime(2026, 11, 12, 21, 0, tzinfo=UTC)  # a Thursday close; cycles run to Wednesday 18 November
DAYS = 7


@dataclass
class Dashboard:
    """A served desk, a way to log in, and where screenshots go."""

    app: App
    url: str
    auth: Auth
    artefacts: Path

    def link(self, holder: str, role: str) -> str:
        """A one-time login link."""
        return f"{self.url}/login?token={self.auth.login_token(holder, role)}"  # type: ignore[arg-type]

    def shot(self, page: Any, name: str) -> Path:
        """Save a full-page screenshot."""
        path = self.artefacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="module")
def browser(require: bool) -> Iterator[Any]:
    """Headless Chromium, or a skip (a failure under PAPERDESK_REQUIRE_BROWSER=1) saying what is missing.

    Module-scoped: Playwright's sync API keeps an event loop running on this thread while it is open,
    which would stop every later asyncio test of the session.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing(require, "the playwright package is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        _missing(require, f"{CHROMIUM} is missing (apt-get install -y chromium chromium-driver)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def require() -> bool:
    """PAPERDESK_REQUIRE_BROWSER=1: a missing browser fails instead of skipping."""
    return os.environ.get("PAPERDESK_REQUIRE_BROWSER") == "1"


def _missing(require: bool, reason: str) -> None:
    if require:
        pytest.fail(f"PAPERDESK_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"browser tests need Chromium: {reason}")


async def _week(app: App, clock: FixedClock) -> None:
    for day in range(DAYS):
        if clock().weekday() < 5:
            await run_cycle(app.desk)
        if day < DAYS - 1:
            clock.advance(days=1)


@pytest.fixture(scope="session")
def artefact_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PAPERDESK_ARTEFACTS, read before each test's isolated environment drops PAPERDESK_ variables."""
    root = Path(os.environ.get("PAPERDESK_ARTEFACTS") or tmp_path_factory.mktemp("screenshots"))
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def dashboard(tmp_path: Path, browser: Any, artefact_root: Path) -> Iterator[Dashboard]:
    """The desk after a week of cycles, served over HTTP on 127.0.0.1."""
    yield from _served(tmp_path, artefact_root, policy="rules")


@pytest.fixture
def sleeved_dashboard(tmp_path: Path, browser: Any, artefact_root: Path) -> Iterator[Dashboard]:
    """A desk divided into the three sample sleeves, after a week of cycles, served on 127.0.0.1."""
    yield from _served(tmp_path, artefact_root, policy="sleeves", sleeves=SLEEVES)


def _served(tmp_path: Path, artefact_root: Path, **chosen: Any) -> Iterator[Dashboard]:
    clock = FixedClock(FIRST_DAY)
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'desk.db'}",
                        risk={"min_confidence": 0.75}, **ROLES, **chosen)
    app = build_app(settings, clock=clock)
    worker = threading.Thread(target=asyncio.run, args=(_week(app, clock),))  # Playwright owns this thread's loop
    worker.start()
    worker.join()
    with threaded(app) as (url, auth):
        yield Dashboard(app=app, url=url, auth=auth, artefacts=artefact_root)
    app.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and its page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()
