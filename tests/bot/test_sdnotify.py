"""sd_notify over a real AF_UNIX datagram socket: path and abstract addresses, watchdog interval, no socket."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.daemon.sdnotify import SystemdNotifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, str(path)
    sock.close()


def test_ready_watchdog_and_stopping_reach_the_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"})
    assert notifier.enabled and notifier.watchdog_interval == 10.0
    assert notifier.ready("scheduler running") and notifier.watchdog() and notifier.stopping()
    assert [sock.recv(4096) for _ in range(3)] == [b"READY=1\nSTATUS=scheduler running", b"WATCHDOG=1",
                                                    b"STOPPING=1"]


def test_an_abstract_socket_is_written_with_a_leading_at() -> None:
    name = f"paperdesk-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(4096) == b"READY=1"


def test_without_systemd_nothing_is_sent_and_nothing_fails(tmp_path: Path) -> None:
    quiet = SystemdNotifier({})
    assert not quiet.enabled and quiet.watchdog_interval is None and not quiet.ready()
    gone = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "missing.sock"), "WATCHDOG_USEC": "junk"})
    assert gone.enabled and gone.watchdog_interval is None
    assert not gone.ready()  # logged, not raised: systemd going away must not stop the desk
