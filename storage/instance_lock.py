"""Named locks scoped to one database, released by the OS or the server when their process dies.

Policy: on PostgreSQL a lock is a session-level advisory lock (``pg_try_advisory_lock``) held on a
dedicated autocommit connection for as long as the lock is held; advisory locks are per database,
so two desks on two databases never collide. On a SQLite file it is an exclusive ``fcntl.flock``
on ``<database>.<name>.lock`` next to the file, which records the holder's pid. An in-memory SQLite
database is private to its process, so its locks are process-local. A ``kill -9`` frees every
kind: the kernel drops the flock, the server ends the session when its socket closes.

Three locks exist: ``run`` (one ``paperdesk run`` per database, held for the daemon's life);
``book`` (held by whoever changes the book — a cycle from reading the portfolio it sizes against to
its last recorded order, an approval from its re-check to its recorded order, the stop-loss watch,
the reconciler — so every classification sees the book its order will be executed against, in any
process); and ``submit`` (held from the SUBMITTING commit to the recorded outcome of one order, and
by the reconciler, so reconciliation never mistakes an order in flight for one lost in a crash).
When both are needed, ``book`` is taken first.

Failure contract: ``try_acquire`` returns False when another holder has the lock and never
blocks; ``acquire`` polls until a deadline without blocking the event loop; database and OS
errors propagate unchanged. ``release`` is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
import zlib
from pathlib import Path

from sqlalchemy import Connection, Engine, text

LOCK_SPACE = 0x70647368  # "pdsh": the first key of every paperdesk advisory lock
_LOCAL_HELD: set[str] = set()


class DatabaseLock:
    """One named lock on one database; ``try_acquire`` / ``release``, or ``async with acquired(...)``."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = zlib.crc32(name.encode()) & 0x7FFFFFFF
        self._connection: Connection | None = None
        self._fd: int | None = None
        self._local = False
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self.path = (Path(f"{Path(database).expanduser()}.{name}.lock")
                     if database and database != ":memory:" else None)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._connection is not None or self._fd is not None or self._local

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False at once if somebody does."""
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            return self._try_postgres()
        if self.path is None:
            return self._try_local()
        return self._try_file(self.path)

    async def acquire(self, within: float, poll: float = 0.02) -> bool:
        """Try until ``within`` seconds have passed, yielding to the event loop between tries."""
        deadline = time.monotonic() + within
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(poll)
        return True

    def release(self) -> None:
        """Give the lock back (nothing happens when it is not held)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.closing(connection):
                connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), {"a": LOCK_SPACE, "b": self.key})
                connection.execute(text("RESET application_name"))
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        if self._local:
            self._local = False
            _LOCAL_HELD.discard(self._local_key)

    def holder(self) -> str | None:
        """Who holds the lock, as far as the database or lock file tells ("pid 1234"), or None."""
        if self.engine.dialect.name == "postgresql":
            return self._postgres_holder()
        if self.path is not None and self.path.exists():
            return self.path.read_text(encoding="utf-8").strip() or None
        return None

    @property
    def where(self) -> str:
        """The database (or lock file) this lock guards, for messages."""
        if self.path is not None:
            return str(self.path)
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def _local_key(self) -> str:
        return f"{id(self.engine)}:{self.name}"

    def _try_local(self) -> bool:
        if self._local_key in _LOCAL_HELD:
            return False
        _LOCAL_HELD.add(self._local_key)
        self._local = True
        return True

    def _try_file(self, path: Path) -> bool:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        self._fd = fd
        return True

    def _try_postgres(self) -> bool:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:a, :b)"),
                                     {"a": LOCK_SPACE, "b": self.key}).scalar_one()
            if got:
                connection.execute(text("SELECT set_config('application_name', :n, false)"),
                                   {"n": f"paperdesk {self.name} pid {os.getpid()}"})
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def _postgres_holder(self) -> str | None:
        query = text(
            "SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :a AND l.objid = :b AND l.objsubid = 2 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        with self.engine.connect() as connection:
            row = connection.execute(query, {"a": LOCK_SPACE, "b": self.key}).first()
        if row is None:
            return None
        name, backend = row
        prefix = f"paperdesk {self.name} "
        return name[len(prefix):] if name and name.startswith(prefix) else f"server backend pid {backend}"


def instance_lock(engine: Engine) -> DatabaseLock:
    """The lock a ``paperdesk run`` holds for its whole life."""
    return DatabaseLock(engine, "run")


def book_lock(engine: Engine) -> DatabaseLock:
    """The lock held around read-the-book -> classify -> execute, so nothing changes the book in between."""
    return DatabaseLock(engine, "book")


def submission_lock(engine: Engine) -> DatabaseLock:
    """The lock held around one order's SUBMITTING -> broker -> recorded outcome, and by reconcile."""
    return DatabaseLock(engine, "submit")
