"""The daemon without Telegram, its calendar schedule and catch-up, sd_notify, `paperdesk run` as a process,
and message splitting."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.daemon.calendars import NYSE
from bot.daemon.daemon import NO_TELEGRAM, Daemon, serve
from bot.daemon.scheduler import catch_up, cycle_trigger, missed_run
from bot.daemon.sdnotify import SystemdNotifier
from bot.desk import views
from bot.desk.cycle import run_cycle
from bot.settings import SettingsError
from bot.telegram_ui import render
from bot.telegram_ui.auth import parse_ids
from broker.models import Order, OrderRequest
from risk.lifecycle import ProposalStatus
from storage.engine import make_engine, redact
from storage.instance_lock import instance_lock
from tests.bot.conftest import AppFactory


async def test_without_a_token_the_scheduler_runs_alone(make_app: AppFactory) -> None:
    daemon = Daemon(make_app(cycle_cron="0 21 * * mon-fri"))
    assert daemon.application is None and daemon.notices == [NO_TELEGRAM]
    await daemon.start()
    try:
        assert daemon.scheduler.running
        jobs = {job.id for job in daemon.scheduler.get_jobs()}
        assert {"cycle", "expire"} <= jobs and "outbox" not in jobs
        when = daemon.runner.next_cycle()
        assert when is not None and when.weekday() < 5 and (when.hour, when.minute) == (21, 0)
    finally:
        await daemon.stop()
    await asyncio.sleep(0.05)  # AsyncIOScheduler shuts down on its loop's next turn
    assert not daemon.scheduler.running


async def test_by_default_the_cycle_follows_the_nyse_close(make_app: AppFactory) -> None:
    daemon = Daemon(make_app())
    await daemon.start()
    try:
        assert {"cycle", "monitor", "weekly_report", "expire"} <= {job.id for job in daemon.scheduler.get_jobs()}
        when = daemon.runner.next_cycle()
        assert when is not None
        session = daemon.calendars.session(NYSE, when.date())
        assert session is not None and when == session.close + timedelta(minutes=30)
    finally:
        await daemon.stop()


async def test_cycles_missed_while_down_run_once_and_holidays_are_not_missed(make_app: AppFactory,
                                                                              clock: FixedClock) -> None:
    clock.now = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)
    daemon = Daemon(make_app())
    await daemon.runner.cycle()
    clock.now = datetime(2026, 11, 25, 23, 0, tzinfo=UTC)  # down through Monday, Tuesday and Wednesday's cycles
    assert catch_up(daemon.scheduler, daemon.app.settings, daemon.runner, daemon.calendars)
    assert [job.id for job in daemon.scheduler.get_jobs()].count("catch_up") == 1
    clock.now = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
    await daemon.runner.cycle()
    clock.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # Thanksgiving in between: nothing was missed
    assert not catch_up(daemon.scheduler, daemon.app.settings, daemon.runner, daemon.calendars)


async def test_serve_tells_systemd_ready_watchdog_and_stopping(make_app: AppFactory, tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        systemd = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
        task = asyncio.create_task(serve(Daemon(make_app()), stop, systemd))
        first = await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout=30)
        ping = await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout=30)
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        rest = [await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout=5)]
        while rest[-1] != b"STOPPING=1":
            rest.append(await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout=5))
    assert first.startswith(b"READY=1") and ping == b"WATCHDOG=1"
    assert set(rest[:-1]) <= {b"WATCHDOG=1"}


async def test_run_and_the_scheduled_cycle_never_overlap(make_app: AppFactory) -> None:
    daemon = Daemon(make_app())
    await daemon.runner.lock.acquire()
    assert daemon.runner.busy
    daemon.runner.lock.release()
    first = await daemon.runner.cycle()
    assert first.status == "completed" and (await views.status(daemon.app.desk)).last_cycle_at is not None


async def test_a_bad_cron_or_user_list_is_a_clear_error(make_app: AppFactory) -> None:
    with pytest.raises(SettingsError, match="PAPERDESK_CYCLE_CRON"):
        Daemon(make_app(cycle_cron="every day"))
    with pytest.raises(SettingsError, match="PAPERDESK_TELEGRAM_ALLOWED_USERS"):
        parse_ids("12,alice", "PAPERDESK_TELEGRAM_ALLOWED_USERS")


def test_a_cycle_missed_while_down_is_detected() -> None:
    trigger = cycle_trigger("0 21 * * mon-fri")
    thursday = datetime(2026, 11, 19, 21, 0, 5, tzinfo=UTC)
    assert missed_run(trigger, thursday, datetime(2026, 11, 20, 22, 0, tzinfo=UTC))
    assert not missed_run(trigger, thursday, datetime(2026, 11, 20, 20, 0, tzinfo=UTC))
    assert not missed_run(trigger, None, datetime(2026, 11, 20, 22, 0, tzinfo=UTC))


def test_split_keeps_every_part_under_the_limit_and_loses_nothing() -> None:
    text = "\n".join(f"line {i} " + "x" * (i % 50) for i in range(600)) + "\n" + "y" * 9000
    parts = render.split(text)
    assert all(0 < len(p) <= render.LIMIT for p in parts) and len(parts) > 3
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert render.split("short") == ["short"]


def test_rendering_escapes_data() -> None:
    assert render.alert("<b>&") == "⚠️ &lt;b&gt;&amp;"


def _paperdesk_run(env: dict[str, str]) -> subprocess.Popen[str]:
    paperdesk = Path(sys.executable).parent / "paperdesk"
    return subprocess.Popen([str(paperdesk), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[3])


def test_paperdesk_run_is_one_instance_and_stops_cleanly_on_sigterm(tmp_path: Path, db_url: str) -> None:
    env = {**os.environ, "PAPERDESK_HOME": str(tmp_path / "home"), "PAPERDESK_POLICY": "rules",
           "PAPERDESK_DATABASE_URL": db_url}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    lock = instance_lock(make_engine(db_url))
    proc = _paperdesk_run(env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and lock.holder() != f"pid {proc.pid}" and proc.poll() is None:
            time.sleep(0.1)
        second = _paperdesk_run(env)
        _, refused = second.communicate(timeout=60)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)  # SIGTERM to exit within 10 s
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Telegram is not configured (TELEGRAM_BOT_TOKEN)" in out
    assert second.returncode == 1
    assert refused.strip().splitlines()[-1] == (f"error: another paperdesk run holds the lock on "
                                                f"{redact(db_url)}; pid {proc.pid}")
    assert lock.try_acquire(), "the lock is released on exit"
    lock.release()


async def test_stop_lets_a_running_cycle_finish_so_nothing_is_half_written(make_app: AppFactory) -> None:
    app = make_app()
    daemon = Daemon(app)
    gate = asyncio.Event()
    broker = app.desk.broker
    submit = broker.submit

    async def gated(request: OrderRequest) -> Order:
        await gate.wait()  # SIGTERM arrives while the first order is at the broker
        return await submit(request)

    broker.submit = gated  # type: ignore[method-assign]
    cycle = asyncio.create_task(daemon.runner.cycle())
    for _ in range(3000):
        if app.store.proposals([ProposalStatus.SUBMITTING]):
            break
        await asyncio.sleep(0.01)
    stopping = asyncio.create_task(daemon.stop())
    await asyncio.sleep(0.1)
    assert daemon.runner.busy and not stopping.done()
    gate.set()
    await asyncio.wait_for(stopping, timeout=daemon.drain_seconds + 1)
    assert cycle.done() and cycle.result().status == "completed"
    open_rows = app.store.proposals([ProposalStatus.SAFE, ProposalStatus.SUBMITTING, ProposalStatus.SUBMITTED])
    assert open_rows == [] and app.store.fills()


async def test_start_reconciles_before_the_first_cycle_and_alerts(make_app: AppFactory) -> None:
    app = make_app()
    report = await run_cycle(app.desk)
    pid = next(p.id for p in report.proposals if p.status == "AWAITING_APPROVAL")
    app.store.transition(pid, ProposalStatus.AWAITING_APPROVAL, ProposalStatus.APPROVED, "cli:alice")
    app.store.transition(pid, ProposalStatus.APPROVED, ProposalStatus.SUBMITTING, "system")  # then killed
    daemon = Daemon(make_app())
    told: list[str] = []
    daemon.notifiers.notifiers.append(_Recorder(told))  # type: ignore[arg-type]
    await daemon.start()
    try:
        assert app.store.get_proposal(pid).status == "CANCELED"
        assert len(told) == 1 and pid in told[0] and "not submitted before crash" in told[0]
    finally:
        await daemon.stop()


class _Recorder:
    def __init__(self, told: list[str]) -> None:
        self.told = told

    async def alert(self, text: str) -> None:
        self.told.append(text)
