"""The daemon's schedule (APScheduler 3 ``AsyncIOScheduler`` on the daemon's event loop).

Jobs: the decision cycle ``PAPERDESK_CYCLE_DELAY_MINUTES`` after the NYSE close on NYSE trading
days only (``bot.daemon.calendars``; early closes and holidays follow the exchange), or on
``PAPERDESK_CYCLE_CRON`` (UTC) when that is set explicitly; both with ``coalesce`` and
``max_instances=1``, so runs missed while the loop was busy run once. At start, a cycle whose
scheduled time passed while the daemon was down (a fire time of the same trigger lies between the
last stored cycle and now, so only trading days count) runs once, now, however many were missed.
The intraday monitor every ``PAPERDESK_MONITOR_INTERVAL_MINUTES`` while NYSE or Euronext Paris is
open (0 turns it off); the weekly job (the retrospective memory, then the report:
``DeskRunner.weekly_report``) ``PAPERDESK_REPORT_DELAY_MINUTES`` after the close of the week's
last NYSE session; approval expiry every 5 minutes; the outbox flush at its configured
interval. A job that fails is logged and the scheduler carries on. With a ``Story``
(``bot.daemon.story``) every job run is told in one line: start, outcome, duration. A cron expression that does
not parse is a ``SettingsError`` naming the variable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.daemon.calendars import EXCHANGES, NYSE, Calendars
from bot.daemon.notify import Outbox
from bot.daemon.runner import DeskRunner
from bot.daemon.story import Story
from bot.daemon.triggers import MarketHoursTrigger, SessionCloseTrigger
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


def schedule_trigger(settings: Settings, calendars: Calendars) -> BaseTrigger:
    """The cycle's trigger: the explicit cron expression, else the NYSE close plus the delay."""
    if settings.cycle_cron:
        return cycle_trigger(settings.cycle_cron)
    return SessionCloseTrigger(calendars, NYSE, timedelta(minutes=settings.cycle_delay_minutes))


def report_trigger(settings: Settings, calendars: Calendars) -> SessionCloseTrigger:
    """The weekly report's trigger: after the close of the week's last NYSE session."""
    return SessionCloseTrigger(calendars, NYSE, timedelta(minutes=settings.report_delay_minutes), weekly=True)


def monitor_trigger(settings: Settings, calendars: Calendars) -> MarketHoursTrigger | None:
    """The intraday monitor's trigger, or None when it is turned off."""
    if settings.monitor_interval_minutes == 0:
        return None
    return MarketHoursTrigger(calendars, EXCHANGES, timedelta(minutes=settings.monitor_interval_minutes))


def guarded(name: str, job: Callable[[], Awaitable[Any]], story: Story | None = None) -> Callable[[], Awaitable[None]]:
    """A job whose failure is logged instead of propagated; each run told by ``story`` when given."""

    async def run() -> None:
        started, began = (story.clock() if story is not None else None), time.perf_counter()
        try:
            result = await job()
        except Exception as exc:  # one failed run must not end the schedule
            log.error("job_failed", job=name, error=repr(exc))
            if story is not None and started is not None:
                story.failed(name, started, time.perf_counter() - began, exc)
            return
        if story is not None and started is not None:
            story.job(name, started, time.perf_counter() - began, result)

    return run


def build_scheduler(settings: Settings, runner: DeskRunner, outbox: Outbox | None,
                    calendars: Calendars | None = None, story: Story | None = None) -> AsyncIOScheduler:
    """The scheduler with every job added (not started: it needs the running loop); ``story`` tells each run."""
    calendars = calendars or Calendars(runner.desk.clock)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(guarded("cycle", runner.cycle, story), schedule_trigger(settings, calendars), id="cycle",
                      coalesce=True, max_instances=1, misfire_grace_time=None)
    monitor = monitor_trigger(settings, calendars)
    if monitor is not None:
        scheduler.add_job(guarded("monitor", runner.monitor, story), monitor, id="monitor", coalesce=True,
                          max_instances=1, misfire_grace_time=15 * 60)
    scheduler.add_job(guarded("weekly_report", runner.weekly_report, story), report_trigger(settings, calendars),
                      id="weekly_report", coalesce=True, max_instances=1, misfire_grace_time=6 * 3600)
    scheduler.add_job(guarded("expire", runner.expire, story), IntervalTrigger(minutes=EXPIRY_MINUTES), id="expire",
                      coalesce=True, max_instances=1)
    if outbox is not None:
        scheduler.add_job(guarded("outbox", outbox.flush, story),
                          IntervalTrigger(seconds=settings.notify.flush_interval_seconds), id="outbox",
                          coalesce=True, max_instances=1)
    runner.next_cycle = lambda: next_cycle(scheduler, runner.desk.clock())
    if story is not None:
        story.upcoming = lambda job_id: next_run(scheduler, job_id, runner.desk.clock())
    return scheduler


def next_cycle(scheduler: AsyncIOScheduler, now: datetime) -> datetime | None:
    """When the next scheduled cycle runs."""
    return next_run(scheduler, "cycle", now)


def next_run(scheduler: AsyncIOScheduler, job_id: str, now: datetime) -> datetime | None:
    """When the job's next run is (asked of its trigger before the scheduler starts); None if not scheduled."""
    job = scheduler.get_job(job_id)
    when = getattr(job, "next_run_time", None) if job is not None else None
    if when is None and job is not None:  # not started yet: ask the trigger
        when = job.trigger.get_next_fire_time(None, now)
    return when.astimezone(UTC) if when is not None else None


def missed_run(trigger: BaseTrigger, last_cycle_at: datetime | None, now: datetime) -> bool:
    """Did a scheduled cycle fall between the last stored cycle and now?"""
    if last_cycle_at is None:
        return False
    fire = trigger.get_next_fire_time(None, last_cycle_at + timedelta(seconds=1))
    return fire is not None and fire <= now


def catch_up(scheduler: AsyncIOScheduler, settings: Settings, runner: DeskRunner,
             calendars: Calendars | None = None, story: Story | None = None) -> bool:
    """Run one cycle now if the daemon was down at a scheduled time; True if one was scheduled."""
    cycles = runner.desk.store.cycles(limit=1)
    last = cycles[0].started_at if cycles else None
    trigger = schedule_trigger(settings, calendars or Calendars(runner.desk.clock))
    if not missed_run(trigger, last, runner.desk.clock()):
        return False
    log.warning("cycle_missed_while_down", last_cycle_at=str(last))
    scheduler.add_job(guarded("cycle", runner.cycle, story), id="catch_up", max_instances=1)
    return True
