"""What the web routes work with: the desk, the settings, the schedule and the redactor."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bot.desk.desk import Desk
from bot.logging import Redactor
from bot.settings import Settings

T = TypeVar("T")
CACHE_SECONDS = 30.0  # the equity chart re-reads months of prices: once per half minute is fresh enough


def _no_runs() -> Mapping[str, datetime | None]:
    return {}


async def _nothing() -> None:
    return None


@dataclass
class WebContext:
    """The web's dependencies, wired by ``bot.web.app.create_app``."""

    desk: Desk
    settings: Settings
    secrets: list[str]
    next_runs: Callable[[], Mapping[str, datetime | None]] = _no_runs
    settle: Callable[[], Awaitable[None]] = _nothing  # the daemon's notifier: update Telegram after a web decision
    redactor: Redactor = field(init=False)
    _cache: dict[str, tuple[float, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.redactor = Redactor(self.secrets)

    def cached(self, key: str, make: Callable[[], T]) -> T:
        """``make()``, reused for ``CACHE_SECONDS``."""
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            value: T = hit[1]
            return value
        value = make()
        self._cache[key] = (now, value)
        return value
