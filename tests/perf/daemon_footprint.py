"""Benchmark: `paperdesk run` start-up time (to systemd's READY=1) and idle memory (VmRSS).

Run as a plain script (not part of the test suite): ``python tests/perf/daemon_footprint.py
[--telegram] [--idle SECONDS]``. It starts the daemon on a fresh SQLite home with the rules
policy and no local embedding model, listening on a NOTIFY_SOCKET it creates (as systemd does);
start-up is the wall time from spawning the process to READY=1, idle RSS is read from
/proc/PID/status after the daemon has been idle for a few seconds. ``--telegram`` runs it against
the local fake Bot API server (tests/fakes/telegram_server.py). It also prints the time of
``paperdesk --help`` (the command line's imports alone) and the load average, since both figures
move with what else the machine is doing. Targets: <= 3 s and <= 200 MB.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_server import CHAT_ID, FakeTelegram  # noqa: E402

TARGET_START_SECONDS = 3.0
TARGET_RSS_MB = 200.0
TOKEN = "123456:PERF-token"


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def environment(home: Path, sock: str, telegram_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PAPERDESK_") and k not in {"TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY"}}
    env.update({"PAPERDESK_HOME": str(home), "PAPERDESK_POLICY": "rules", "PAPERDESK_LOG_LEVEL": "warning",
                "NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "10000000"})
    if telegram_url:
        env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "PAPERDESK_TELEGRAM_API_URL": telegram_url,
                    "PAPERDESK_TELEGRAM_CHAT_ID": str(CHAT_ID), "PAPERDESK_TELEGRAM_ALLOWED_USERS": str(CHAT_ID)})
    return env


def measure(idle: float, telegram_url: str | None) -> tuple[float, float, list[str]]:
    """Start the daemon, wait for READY=1, idle, read RSS, stop it; returns (start s, RSS MB, messages)."""
    with tempfile.TemporaryDirectory() as tmp, socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        path = str(Path(tmp) / "notify.sock")
        sock.bind(path)
        sock.settimeout(60)
        started = time.perf_counter()
        proc = subprocess.Popen([str(Path(sys.executable).parent / "paperdesk"), "run"],
                                env=environment(Path(tmp) / "home", path, telegram_url),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            messages = [sock.recv(4096).decode()]
            startup = time.perf_counter() - started
            if not messages[0].startswith("READY=1"):
                raise RuntimeError(f"expected READY=1, got {messages[0]!r}")
            time.sleep(idle)
            rss = rss_mb(proc.pid)
            proc.send_signal(signal.SIGTERM)
            while not messages[-1].startswith("STOPPING=1"):
                messages.append(sock.recv(4096).decode())
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        if proc.returncode != 0:
            raise RuntimeError(f"paperdesk run exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        return startup, rss, messages


def cli_import_seconds() -> float:
    """Wall time of ``paperdesk --help``: the command line's imports alone, the floor under start-up."""
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "paperdesk"), "--help"], capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegram", action="store_true", help="against the local fake Bot API server")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before reading VmRSS")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    fake = FakeTelegram(TOKEN) if args.telegram else None
    url = fake.start() if fake else None
    try:
        results = [measure(args.idle, url) for _ in range(args.runs)]
    finally:
        if fake:
            fake.stop()
    mode = "with the fake Telegram server" if fake else "without Telegram"
    for startup, rss, messages in results:
        print(f"run: start-up {startup:.2f} s, idle RSS {rss:.0f} MB, sd_notify "  # noqa: T201
              f"{[m.split(chr(10))[0] for m in messages]}")
    print(f"paperdesk --help (imports only): {min(cli_import_seconds() for _ in range(args.runs)):.2f} s, "  # noqa: T201
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    best_start = min(r[0] for r in results)
    worst_rss = max(r[1] for r in results)
    print(f"paperdesk run {mode}: start-up to READY=1 {best_start:.2f} s (target <= {TARGET_START_SECONDS:g} s) "  # noqa: T201
          f"{'OK' if best_start <= TARGET_START_SECONDS else 'OVER'}; idle RSS {worst_rss:.0f} MB "
          f"(target <= {TARGET_RSS_MB:g} MB) {'OK' if worst_rss <= TARGET_RSS_MB else 'OVER'}")


if __name__ == "__main__":
    main()
