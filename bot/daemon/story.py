"""What ``paperdesk run`` tells the person who started it: its set-up once started, then one line per job run.

Policy: lines go to ``say`` (``paperdesk run`` prints them on stdout; by default they are INFO log events, so a
daemon built elsewhere logs as before). Scheduled times are shown in UTC and in the local zone (the machine's,
or ``zone``). Each run of the cycle, the intraday monitor and the weekly report gets a line with its start
time (the desk's clock), outcome and duration; approval expiry (every 5 minutes) and the outbox flush (every
few seconds) get one only when they did something. A failed job gets its line too: the log events saying the
same (``SHOWN``) are the ones ``paperdesk run`` logs at INFO instead of WARNING/ERROR (``bot.logging``).
Nothing here raises: a line that cannot be told is logged instead.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

import structlog

from agent.universe import Universe
from bot.clock import Clock, system_clock
from bot.desk import formats
from bot.desk.results import CycleReport
from bot.desk.watch import WatchReport
from bot.evaluation.report import Report
from bot.settings import Settings
from storage.engine import redact

log = structlog.get_logger("paperdesk.daemon")
Say = Callable[[str], None]
SHOWN = ("job_failed", "cycle_failed", "monitor_failed", "weekly_report_failed", "cycle_missed_while_down",
         "cycle_abstained", "reconcile_failed")
NEXT = {"cycle": "next cycle", "weekly_report": "next weekly report"}


def log_line(text: str) -> None:
    """The default ``say``: an INFO log event."""
    log.info("daemon_says", text=text)


def when(at: datetime | None, zone: tzinfo | None = None) -> str:
    """``Mon 2026-11-23 21:30 UTC (22:30 CET here)``; the local day is named when it differs."""
    if at is None:
        return "not scheduled"
    utc = at.astimezone(UTC)
    local = utc.astimezone(zone) if zone is not None else utc.astimezone()
    text = f"{utc:%a %Y-%m-%d %H:%M} UTC"
    if local.utcoffset() == timedelta(0):
        return text
    day = f"{local:%a} " if local.date() != utc.date() else ""
    return f"{text} ({day}{local:%H:%M} {local.tzname()} here)"


def setup_lines(settings: Settings, universe: Universe, memory_on: bool, telegram: list[str],
                upcoming: Callable[[str], datetime | None], zone: tzinfo | None = None) -> list[str]:
    """Broker, data, policy, universe, ``telegram`` (its lines), memory, the next cycle and report, the monitor."""
    broker = "Alpaca paper account" if settings.broker == "alpaca" else "simulated (the built-in paper venue)"
    data = "synthetic (SYNTHETIC prices: not a real market)" if settings.data == "synthetic" else settings.data
    policy = settings.effective_policy
    if policy == "llm":
        policy += f" ({settings.llm_model}, cache {settings.llm_cache})"
    cycle = (f"cron '{settings.cycle_cron}' (UTC)" if settings.cycle_cron
             else f"{settings.cycle_delay_minutes} min after each NYSE close, on NYSE trading days")
    monitor = (f"every {settings.monitor_interval_minutes} min while NYSE or Euronext Paris is open"
               if settings.monitor_interval_minutes else "off")
    lines = [f"paperdesk run (pid {os.getpid()}; Ctrl-C or SIGTERM stops it): database "
             f"{redact(settings.effective_database_url)}",
             f"broker: {broker} · data: {data} · policy: {policy}",
             f"universe: {settings.universe} ({len(universe.instruments)} instruments, base "
             f"{universe.base_currency})"]
    lines += [*telegram,
              f"memory: {'mem0 (' + settings.memory_embedder + ' embeddings)' if memory_on else 'off'}",
              f"next cycle: {when(upcoming('cycle'), zone)} — {cycle}",
              f"next weekly report: {when(upcoming('weekly_report'), zone)} — {settings.report_delay_minutes} min "
              "after the week's last NYSE close",
              f"intraday monitor: {monitor}"]
    return lines


def outcome(name: str, result: object) -> str | None:
    """A job's result in words; None when there is nothing worth a line (nothing expired or delivered)."""
    if isinstance(result, CycleReport):
        return _cycle(result)
    if isinstance(result, WatchReport):
        return (f"done — day {result.day_return:+.2%}, trading {result.trading_state}, {len(result.moves)} big "
                f"move(s), {len(result.stops)} stop-loss(es), {len(result.alerts)} alert(s)")
    if isinstance(result, Report):
        return f"sent — {result.title} ({len(result.charts)} chart(s))"
    if isinstance(result, int) and not isinstance(result, bool):
        noun = "approval(s) expired" if name == "expire" else "notification(s) delivered"
        return f"{result} {noun}" if result else None
    return "done"


def _cycle(report: CycleReport) -> str:
    if report.status == "abstained":
        return f"abstained — as of {report.as_of}: {report.market_view}"
    counts = Counter(line.status.lower().replace("_", " ") for line in report.proposals)
    pending = " (paperdesk pending)" if counts.get("awaiting approval") else ""
    alerts = f", {len(report.alerts)} alert(s)" if report.alerts else ""
    return (f"{report.status} — as of {report.as_of}: {len(report.proposals)} proposal(s) "
            f"({formats.tally(counts)}){pending}{alerts}; equity {formats.amount(report.equity_before)} → "
            f"{formats.amount(report.equity_after)} {report.base_currency}")


class Story:
    """Says the daemon's lines, dated by ``clock``."""

    def __init__(self, say: Say | None = None, clock: Clock | None = None, zone: tzinfo | None = None) -> None:
        self.say, self.clock, self.zone = say or log_line, clock or system_clock, zone
        self.upcoming: Callable[[str], datetime | None] = lambda job_id: None

    def tell(self, text: str) -> None:
        """One line; a failing ``say`` (a closed stdout) is logged, never raised."""
        try:
            self.say(text)
        except Exception as exc:  # telling must never stop a job or the daemon
            log.error("daemon_say_failed", error=repr(exc), text=text)

    def job(self, name: str, started: datetime, seconds: float, result: object) -> None:
        """The line of a job that ended, with the next run of the cycle and the report."""
        said = outcome(name, result)
        if said is None:
            return
        nxt = f"; {NEXT[name]} {when(self.upcoming(name), self.zone)}" if name in NEXT else ""
        head, _, tail = said.partition(" — ")
        self.tell(f"{started.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC {name.replace('_', ' ')}: {head} in {seconds:.1f} s"
                  f"{' — ' + tail if tail else ''}{nxt}")

    def failed(self, name: str, started: datetime, seconds: float, error: BaseException) -> None:
        """The line of a job that failed."""
        self.tell(f"{started.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC {name.replace('_', ' ')}: FAILED after "
                  f"{seconds:.1f} s — {error}")
