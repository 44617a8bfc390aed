"""The daemon's market-hours jobs: the intraday watch and the weekly report, told to the notifier.

Policy: ``monitor`` runs the desk's watch (``bot.desk.watch``) and sends its alerts (moves,
circuit breaker, stop-losses), a fill per stop-loss that filled and an approval request per
stop-loss that awaits a human. ``weekly_report`` first writes the week's retrospective memory
(``bot.desk.learning.weekly_retrospective``: due outcomes, then one RETROSPECTIVE), then builds
``paperdesk report --week`` in a worker thread (matplotlib and the benchmark loads must not stall
the event loop) and sends its text and charts. Memory calls stay on the event loop's thread, as
every other use of the desk's memory does (the embedded store's files are opened there); only the
price load before them goes to a worker thread.

Failure contract: ``monitor`` and the report raise to the scheduler's guard after an alert naming
the job; the retrospective never raises (memory is advisory: its failure is logged and alerted,
and the report goes out regardless); notification failures never raise (the notifiers swallow them).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog

from agent.market.base import MarketDataError
from agent.memory import MemoryRecord
from bot.daemon.notify import Notifier
from bot.desk.desk import Desk
from bot.desk.learning import weekly_retrospective
from bot.desk.watch import WatchReport, watch
from bot.evaluation.report import Report, build_report

log = structlog.get_logger("paperdesk.monitor")


async def monitor(desk: Desk, notifier: Notifier, *, move_alert: float) -> WatchReport:
    """One intraday watch, then its notifications."""
    try:
        report = await watch(desk, move_alert=move_alert)
    except Exception as exc:
        log.error("monitor_failed", error=str(exc))
        await notifier.alert(f"intraday monitor failed: {exc}")
        raise
    for line in report.stops:
        if line.status in {"FILLED", "PARTIALLY_FILLED"}:
            await notifier.fill(line)
        elif line.status == "AWAITING_APPROVAL":
            await notifier.approval_request(line)
    for text in report.alerts:
        await notifier.alert(text)
    return report


async def retrospective(desk: Desk, notifier: Notifier) -> MemoryRecord | None:
    """Write the week's retrospective memory (None when memory is off); a failure is logged and alerted, not raised."""
    if not desk.memory.enabled:
        return None
    try:
        with contextlib.suppress(MarketDataError):  # the retrospective judges outcomes without prices then
            await asyncio.to_thread(desk.snapshot)  # cached for the call below, which stays on this thread
        return weekly_retrospective(desk)
    except Exception as exc:  # memory is advisory: nothing here may stop the weekly report
        log.error("retrospective_failed", error=repr(exc))
        await notifier.alert(f"weekly retrospective failed: {exc}")
        return None


async def weekly_report(desk: Desk, notifier: Notifier, home: Path) -> Report:
    """Write the week's retrospective memory, then build the week's report and send its text and charts."""
    await retrospective(desk, notifier)
    try:
        report = await asyncio.to_thread(build_report, desk, home, week=True)
    except Exception as exc:
        log.error("weekly_report_failed", error=str(exc))
        await notifier.alert(f"weekly report failed: {exc}")
        raise
    log.info("weekly_report_built", title=report.title, charts=len(report.charts))
    await notifier.report(report.text, report.charts)
    return report
