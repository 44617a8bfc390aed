"""Shared fixtures: an isolated environment per test and real databases (SQLite, PostgreSQL).

PostgreSQL tests run when PAPERDESK_TEST_DATABASE_URL is set; each gets a fresh database created
on that server and dropped afterwards. With PAPERDESK_REQUIRE_POSTGRES=1 (CI) a missing server
fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

_KEEP = {"PAPERDESK_TEST_DATABASE_URL", "PAPERDESK_REQUIRE_POSTGRES"}
_SECRETS = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "TELEGRAM_BOT_TOKEN", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"}


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting leaks in from the developer's shell; PAPERDESK_HOME is a fresh directory."""
    for key in list(os.environ):
        if (key.startswith("PAPERDESK_") and key not in _KEEP) or key in _SECRETS:
            monkeypatch.delenv(key)
    monkeypatch.delenv("COLUMNS", raising=False)  # the CLI fits the terminal: a shell's width would change its output
    home = tmp_path / "home"
    monkeypatch.setenv("PAPERDESK_HOME", str(home))
    return home


def _server_url() -> str | None:
    url = os.environ.get("PAPERDESK_TEST_DATABASE_URL")
    if url:
        return url
    if os.environ.get("PAPERDESK_REQUIRE_POSTGRES") == "1":
        pytest.fail("PAPERDESK_REQUIRE_POSTGRES=1 but PAPERDESK_TEST_DATABASE_URL is not set")
    pytest.skip("PostgreSQL tests need PAPERDESK_TEST_DATABASE_URL")
    return None


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test."""
    server = _server_url()
    assert server is not None
    name = f"paperdesk_t_{uuid.uuid4().hex[:12]}"
    admin = _libpq(server)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"cannot reach PostgreSQL at {make_url(server).render_as_string()}: {exc}")
    url = make_url(server).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("pg_url"))
