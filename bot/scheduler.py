"""The daemon's schedule (APScheduler 3 ``AsyncIOScheduler`` on the daemon's event loop).

Jobs: the decision cycle on ``PAPERDESK_CYCLE_CRON`` (UTC, default weekdays 21:00) with
``coalesce`` and ``max_instances=1``, so runs missed while the loop was busy run once; at start, a
cycle whose scheduled time passed while the daemon was down (the last stored cycle is older than
the latest fire time) runs once, now. Approval expiry every 5 minutes; the outbox flush at its
configured interval. A job that fails is logged and the scheduler carries on. A cron expression
that does not parse is a ``SettingsError`` naming the variable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.notify import Outbox
from bot.runner import DeskRunner
from bot.settings import Settings, SettingsError

log = structlog.get_logger("paperdesk.scheduler")
EXPIRY_MINUTES = 5


def cycle_trigger(expression: str) -> CronTrigger:
    """The cycle's cron trigger, in UTC."""
    try:
        return CronTrigger.from_crontab(expression, timezone=UTC)
    except ValueError as exc:
        raise SettingsError(f"invalid setting PAPERDESK_CYCLE_CRON: {exc} (got {expression!r}; "
                            "use five fields, e.g. '0 21 * * mon-fri')") from None


def guarded(name: str, job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    """A job whose failure is logged instead of propagated."""

    async def run() -> None:
        try:
            await job()
        except Exception as exc:  # one failed run must not end the schedule
            log.error("job_failed", job=name, error=repr(exc))

    return run


def build_scheduler(settings: Settings, runner: DeskRunner, outbox: Outbox | None) -> AsyncIOScheduler:
    """The scheduler with every job added (not started: it needs the running loop)."""
    trigger = cycle_trigger(settings.cycle_cron)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(guarded("cycle", runner.cycle), trigger, id="cycle", coalesce=True, max_instances=1,
                      misfire_grace_time=None)
    scheduler.add_job(guarded("expire", runner.expire), IntervalTrigger(minutes=EXPIRY_MINUTES), id="expire",
                      coalesce=True, max_instances=1)
    if outbox is not None:
        scheduler.add_job(guarded("outbox", outbox.flush),
                          IntervalTrigger(seconds=settings.notify.flush_interval_seconds), id="outbox",
                          coalesce=True, max_instances=1)
    runner.next_cycle = lambda: next_cycle(scheduler, runner.desk.clock())
    return scheduler


def next_cycle(scheduler: AsyncIOScheduler, now: datetime) -> datetime | None:
    """When the next scheduled cycle runs."""
    job = scheduler.get_job("cycle")
    when = getattr(job, "next_run_time", None) if job is not None else None
    if when is None and job is not None:  # not started yet: ask the trigger
        when = job.trigger.get_next_fire_time(None, now)
    return when.astimezone(UTC) if when is not None else None


def missed_run(trigger: CronTrigger, last_cycle_at: datetime | None, now: datetime) -> bool:
    """Did a scheduled cycle fall between the last stored cycle and now?"""
    if last_cycle_at is None:
        return False
    fire = trigger.get_next_fire_time(None, last_cycle_at + timedelta(seconds=1))
    return fire is not None and fire <= now


def catch_up(scheduler: AsyncIOScheduler, settings: Settings, runner: DeskRunner) -> bool:
    """Run one cycle now if the daemon was down at a scheduled time; True if one was scheduled."""
    cycles = runner.desk.store.cycles(limit=1)
    last = cycles[0].started_at if cycles else None
    if not missed_run(cycle_trigger(settings.cycle_cron), last, runner.desk.clock()):
        return False
    log.warning("cycle_missed_while_down", last_cycle_at=str(last))
    scheduler.add_job(guarded("cycle", runner.cycle), id="catch_up", max_instances=1)
    return True
