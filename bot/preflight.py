"""What the composition root settles before it builds anything: the policy's settings, the date, the clock.

Kept apart from ``bot.wiring`` because none of it loads market data, policy or broker code: the
light ``paperdesk status`` path (``bot.status_wiring``) uses it too. The clock policy is
``bot.wiring``'s module docstring.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from bot.clock import CLOSE_TIME, Clock, FixedClock
from bot.desk.results import DeskError
from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from storage.store import Store

Dating = Literal["cycle", "act", "view"]


def pinned_clock(as_of: date) -> FixedClock:
    """A clock standing at the US close of ``as_of``."""
    return FixedClock(datetime.combine(as_of, CLOSE_TIME))


def choose_clock(store: Store, wall: Clock, as_of: date | None, historical_end: date | None, dating: Dating,
                 notices: list[str]) -> Clock:
    """The desk's clock (``bot.wiring``'s docstring); ``historical_end``: the last day of CSV data that ended."""
    if as_of is not None:
        return pinned_clock(as_of)
    if dating == "cycle" or (dating == "act" and historical_end is None):
        if historical_end is None:
            return wall
        notices.append(f"the CSV data ends on {historical_end}; running as of that day (pass --as-of to choose "
                       "another)")
        return pinned_clock(historical_end)
    market_day = historical_end or wall().date()
    day = store.portfolio_date(market_day)
    return wall if day == market_day and historical_end is None else pinned_clock(day)


def refuse_future_as_of(as_of: date, today: date, data_end: date | None, source: str) -> None:
    """A pinned date after today, or after the data's last day, would invent prices: refuse it in one line."""
    if data_end is not None and as_of > data_end:  # the data never ends after today
        raise DeskError(f"--as-of {as_of} is after the last day of the data ({data_end} in {source}); "
                        f"use {data_end} or earlier")
    if as_of > today:
        raise DeskError(f"--as-of {as_of} is after today ({today}): that day has no prices yet; use {today} or earlier")


def future_cycle(store: Store, today: date) -> str | None:
    """What to do about a cycle dated after today (an --as-of typo from before such dates were refused), if any."""
    latest = store.latest_as_of()
    if latest is None or latest <= today:
        return None
    where = store.engine.url
    if where.get_backend_name() == "sqlite" and where.database:
        fix = f"with no paperdesk running, move the database aside to start afresh: mv {where.database} " \
              f"{where.database}.{latest}"
    else:
        fix = "point PAPERDESK_DATABASE_URL at a new database to start afresh"
    return (f"this portfolio has a cycle as of {latest}, after today ({today}): a mistyped --as-of, priced on days "
            f"that have not happened, and no cycle can follow it; {fix}")


def check_policy(name: str, settings: Settings) -> None:
    """Refuse a policy that cannot work with these settings, before anything is built."""
    if name not in {"rules", "llm", "sleeves"}:
        raise SettingsError(f"unknown policy {name!r}: choose rules, llm or sleeves")
    if name == "sleeves":
        from bot.sleeves.wiring import check_sleeves

        check_sleeves(settings)
    if name == "llm" and not settings.openai_api_key and settings.llm_cache != "replay":
        raise SettingsError("the llm policy needs OPENAI_API_KEY (any string for a local server), "
                            "or PAPERDESK_LLM_CACHE=replay to answer from recorded calls; or use --policy rules")
