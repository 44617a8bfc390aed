"""uvicorn's ``Server`` on the caller's event loop: the daemon's loop, or ``paperdesk web``'s own.

Policy: we bind the socket ourselves before serving, so a taken port is an ``OSError`` raised
here (``WebServerError`` naming the address) rather than uvicorn exiting the process; the server
installs no signal handlers (the caller owns SIGINT/SIGTERM and sets ``stop``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import structlog
import uvicorn
from fastapi import FastAPI

log = structlog.get_logger("paperdesk.web")


class WebServerError(RuntimeError):
    """The dashboard could not start (the address is in use or not ours)."""


class _Quiet(uvicorn.Server):
    """A uvicorn Server that leaves signals to its caller."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """No signal handling: the caller's stop event ends the server."""
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port); ``WebServerError`` when it cannot bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY only then
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise WebServerError(f"the dashboard cannot listen on {host}:{port}: {exc.strerror or exc}; "
                             "set PAPERDESK_WEB_PORT to a free port, or 0 to turn it off") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class WebServer:
    """One running dashboard: start on this loop, stop when told."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.socket = bind(host, port)
        self.host, self.port = host, int(self.socket.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", server_header=False)
        self.server = _Quiet(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Serve in a task of the running loop (the socket already listens: early connections wait in its backlog)."""
        self._task = asyncio.create_task(self.server.serve(sockets=[self.socket]))
        await asyncio.sleep(0)
        log.info("web_started", host=self.host, port=self.port)

    async def stop(self) -> None:
        """Finish the requests in flight, close, wait."""
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.socket.close()
        log.info("web_stopped")


async def serve_web(app: FastAPI, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``app`` on ``host:port`` until ``stop`` is set."""
    server = WebServer(app, host, port)
    await server.start()
    try:
        await stop.wait()
    finally:
        await server.stop()
