"""What `paperdesk run` tells the person who started it: its set-up once the scheduler runs (broker, data, policy,
Telegram, memory, the next cycle and weekly report in UTC and local time), then one line per job run. The desk's
clock is the fixed Friday close of tests/bot/conftest.py."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.universe import load_universe
from bot.clock import FixedClock
from bot.daemon.daemon import NO_TELEGRAM, TELEGRAM_ON, Daemon
from bot.daemon.scheduler import guarded, next_run
from bot.daemon.story import Story, setup_lines, when
from bot.settings import Settings
from storage.engine import redact
from tests.bot.conftest import AppFactory

PARIS = ZoneInfo("Europe/Paris")


def test_times_are_shown_in_utc_and_local_time() -> None:
    monday = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)
    assert when(monday, PARIS) == "Mon 2026-11-23 21:30 UTC (22:30 CET here)"
    assert when(monday, ZoneInfo("Asia/Tokyo")) == "Mon 2026-11-23 21:30 UTC (Tue 06:30 JST here)"
    assert when(monday, UTC) == "Mon 2026-11-23 21:30 UTC"
    assert when(None, PARIS) == "not scheduled"


async def test_once_started_the_daemon_tells_its_set_up(make_app: AppFactory) -> None:
    said: list[str] = []
    app = make_app(cycle_cron="0 21 * * mon-fri", monitor_interval_minutes=0)
    daemon = Daemon(app, say=said.append, zone=PARIS)
    assert said == []  # nothing is told before the scheduler runs
    await daemon.start()
    try:
        now = app.desk.clock()
        cycle, report = next_run(daemon.scheduler, "cycle", now), next_run(daemon.scheduler, "weekly_report", now)
        assert cycle is not None and report is not None
        assert said == [
            f"paperdesk run (pid {os.getpid()}; Ctrl-C or SIGTERM stops it): database "
            f"{redact(app.settings.effective_database_url)}",
            "broker: simulated (the built-in paper venue) · data: synthetic (SYNTHETIC prices: not a real market) · "
            "policy: rules",
            "universe: seed (30 instruments, base EUR)",
            NO_TELEGRAM,
            "memory: off",
            f"next cycle: {when(cycle, PARIS)} — cron '0 21 * * mon-fri' (UTC)",
            f"next weekly report: {when(report, PARIS)} — 60 min after the week's last NYSE close",
            "intraday monitor: off",
            "reconcile: 0 open order(s) checked, positions match the recorded fills",
        ]
        assert re.fullmatch(r"next cycle: \w{3} \d{4}-\d\d-\d\d 21:00 UTC \(2[23]:00 CES?T here\) — .*", said[5])
    finally:
        await daemon.stop()


def test_the_set_up_names_an_llm_policy_telegram_and_memory(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, policy="llm", OPENAI_API_KEY="test-key", memory="mem0",
                        memory_embedder="openai", cycle_delay_minutes=45)
    friday = datetime(2026, 11, 20, 21, 45, tzinfo=UTC)
    lines = setup_lines(settings, load_universe("seed"), True, [TELEGRAM_ON], lambda job_id: friday, UTC)
    assert lines[1].endswith("policy: llm (gpt-4o-mini, cache record)")
    assert lines[3:6] == [TELEGRAM_ON, "memory: mem0 (openai embeddings)",
                          "next cycle: Fri 2026-11-20 21:45 UTC — 45 min after each NYSE close, on NYSE trading days"]


async def test_each_job_run_is_one_line_with_its_start_outcome_and_duration(make_app: AppFactory) -> None:
    said: list[str] = []
    daemon = Daemon(make_app(), say=said.append, zone=UTC)
    for job_id in ("cycle", "expire", "monitor", "weekly_report"):  # as the scheduler runs them
        job = daemon.scheduler.get_job(job_id)
        assert job is not None
        await job.func()
    line, watched, reported = said  # nothing expired: expiry, every 5 minutes, says nothing then
    assert re.fullmatch(r"2026-11-20 21:00:00 UTC monitor: done in \d+\.\d s — day [+-]\d+\.\d\d%, trading ACTIVE, "
                        r"\d+ big move\(s\), \d+ stop-loss\(es\), \d+ alert\(s\)", watched), watched
    assert re.fullmatch(r"2026-11-20 21:00:00 UTC weekly report: sent in \d+\.\d s — paperdesk weekly report, "
                        r"2026-11-20 — SYNTHETIC DATA, not real prices \(\d chart\(s\)\); "
                        r"next weekly report Fri 2026-11-20 22:00 UTC", reported), reported
    match = re.fullmatch(r"2026-11-20 21:00:00 UTC cycle: completed in \d+\.\d s — as of 2026-11-20: "
                         r"(\d+) proposal\(s\) \((.+)\) \(paperdesk pending\); equity 100,000\.00 → [\d,]+\.\d\d EUR; "
                         r"next cycle Fri 2026-11-20 21:30 UTC", line)
    assert match is not None, line
    counts = dict(part.rsplit(" ", 1) for part in match[2].split(", "))
    assert sum(map(int, counts.values())) == int(match[1]) and {"filled", "awaiting approval"} <= set(counts)


async def test_a_failed_job_is_one_line_too() -> None:
    said: list[str] = []

    async def broken() -> None:
        raise RuntimeError("prices unavailable")

    await guarded("monitor", broken, Story(said.append, FixedClock(datetime(2026, 11, 20, 15, 0, tzinfo=UTC))))()
    assert len(said) == 1
    assert re.fullmatch(r"2026-11-20 15:00:00 UTC monitor: FAILED after \d+\.\d s — prices unavailable", said[0])


def test_paperdesk_run_prints_its_set_up_on_stdout_and_nothing_on_stderr(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free port for the dashboard (8765 may be taken on this machine)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PAPERDESK_HOME": str(tmp_path / "home"), "PAPERDESK_POLICY": "rules", "TZ": "Asia/Tokyo",
           "PAPERDESK_WEB_PORT": str(port)}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    paperdesk = Path(sys.executable).parent / "paperdesk"
    proc = subprocess.Popen([str(paperdesk), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    guard = threading.Timer(60, proc.kill)  # a daemon that never says its set-up must not hang the suite
    guard.start()
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(10)]
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=30)
    finally:
        guard.cancel()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert lines[0].startswith(f"paperdesk run (pid {proc.pid}; Ctrl-C or SIGTERM stops it): database sqlite:///")
    assert lines[1].startswith("broker: simulated") and lines[3] == NO_TELEGRAM
    assert lines[4].startswith(f"dashboard: http://127.0.0.1:{port}/ (log in with /web") and lines[5] == "memory: off"
    assert re.fullmatch(r"next cycle: \w{3} [\d-]+ \d\d:\d\d UTC \((\w{3} )?\d\d:\d\d JST here\) — 30 min after .*",
                        lines[6])
    assert lines[9].startswith("reconcile: ") and rest == "" and err == ""
