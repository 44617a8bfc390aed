"""systemd's notify protocol without a dependency: READY=1, WATCHDOG=1, STOPPING=1 to ``$NOTIFY_SOCKET``.

Policy: the socket is an AF_UNIX datagram socket named by ``NOTIFY_SOCKET`` (a path, or an
abstract name written with a leading ``@``); without that variable every call does nothing, so
the daemon runs the same under a terminal. The watchdog interval is half of ``WATCHDOG_USEC``
(None when the unit has no ``WatchdogSec``). Failure contract: a send that fails is logged and
returns False; it never raises into the daemon.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

log = structlog.get_logger("paperdesk.sdnotify")


class SystemdNotifier:
    """Sends state lines to systemd when started by it; a no-op otherwise."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = _address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_usec = _positive_int(env.get("WATCHDOG_USEC"))

    @property
    def enabled(self) -> bool:
        """Is there a socket to notify?"""
        return self.address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between WATCHDOG=1 pings (half the watchdog timeout), or None without a watchdog."""
        return None if self.watchdog_usec is None else self.watchdog_usec / 2_000_000

    def notify(self, state: str) -> bool:
        """Send one state line (e.g. ``READY=1``); True if it was sent."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self.address)
                sock.sendall(state.encode())
        except OSError as exc:
            log.warning("sd_notify_failed", state=state, error=str(exc))
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """The service is up."""
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def watchdog(self) -> bool:
        """Still alive."""
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        """Shutting down."""
        return self.notify("STOPPING=1")


def _address(value: str) -> str | None:
    if not value:
        return None
    return "\0" + value[1:] if value.startswith("@") else value


def _positive_int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number > 0 else None
