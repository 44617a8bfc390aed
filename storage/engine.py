"""Engine factory: a SQLite file by default, PostgreSQL through psycopg 3.

``postgres://`` and ``postgresql://`` URLs are rewritten to ``postgresql+psycopg://``. ``check_url``
parses a URL the way ``make_engine`` will (scheme, numeric port in range), so settings refuse a bad
one at start-up with one line instead of a traceback at the first connection. SQLite runs
in WAL mode with ``synchronous=NORMAL`` (durable on commit across process crashes, fast enough
for a cycle of hundreds of proposals) and a busy timeout so a CLI call and the daemon can share
the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

__all__ = ["DatabaseError", "DatabaseUrlError", "Engine", "check_url", "make_engine", "normalize_url", "redact",
           "sqlite_file"]

DatabaseError = SQLAlchemyError
"""Any failure of the database layer (re-exported so callers need not import SQLAlchemy)."""


class DatabaseUrlError(ValueError):
    """The database URL cannot be used."""


def normalize_url(url: str) -> str:
    """Route PostgreSQL URLs to the psycopg 3 driver and validate the scheme."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("postgresql+psycopg://", "sqlite://")):
        return url
    raise DatabaseUrlError(
        f"unsupported database URL {redact(url)!r}: use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
    )


def check_url(url: str) -> None:
    """Raise ``DatabaseUrlError`` unless ``url`` is a supported URL that parses, with a port in 1..65535."""
    normalized = normalize_url(url)
    try:
        port = make_url(normalized).port
    except ValueError:  # SQLAlchemy parses the port with int()
        raise DatabaseUrlError(f"invalid database URL {redact(url)!r}: the port must be a number") from None
    except ArgumentError:
        raise DatabaseUrlError(f"invalid database URL {redact(url)!r}: cannot be parsed") from None
    if port is not None and not 0 < port < 65536:
        raise DatabaseUrlError(f"invalid database URL {redact(url)!r}: port {port} is out of range")


def redact(url: str) -> str:
    """The URL with any password replaced, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show only its scheme
        return url.split("://", 1)[0] + "://…"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` (creating the SQLite file's directory if needed)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo)
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for another database or one in memory."""
    url = normalize_url(url)
    database = make_url(url).database if url.startswith("sqlite") else None
    return Path(database).expanduser() if database and database != ":memory:" else None


def _sqlite_engine(url: str, echo: bool) -> Engine:
    file = sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if file is not None:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine
