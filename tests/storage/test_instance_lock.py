"""Database-scoped locks on SQLite files, in-memory SQLite and PostgreSQL; a dead holder frees them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from storage.engine import make_engine
from storage.instance_lock import DatabaseLock, instance_lock, submission_lock


def test_a_second_holder_is_refused_until_the_first_releases(db_url: str) -> None:
    engine = make_engine(db_url)
    first, second = instance_lock(engine), instance_lock(make_engine(db_url))
    try:
        assert first.try_acquire() and first.held
        assert not second.try_acquire() and not second.held
        assert second.holder() == f"pid {os.getpid()}"
        assert submission_lock(engine).try_acquire()  # another name is another lock
        first.release()
        first.release()  # idempotent
        assert second.try_acquire()
    finally:
        first.release()
        second.release()


async def test_acquire_waits_for_the_holder_then_gives_up_at_its_deadline(db_url: str) -> None:
    engine = make_engine(db_url)
    holder, waiter = submission_lock(engine), submission_lock(engine)
    assert holder.try_acquire()
    assert not await waiter.acquire(within=0.1)
    holder.release()
    assert await waiter.acquire(within=1)
    waiter.release()


def test_a_killed_holder_frees_the_lock(db_url: str) -> None:
    script = textwrap.dedent(f"""
        import os, signal, sys
        from storage.engine import make_engine
        from storage.instance_lock import instance_lock
        lock = instance_lock(make_engine({db_url!r}))
        assert lock.try_acquire()
        print("held", flush=True)
        sys.stdin.readline()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "held"
    lock = instance_lock(make_engine(db_url))
    assert not lock.try_acquire()
    assert lock.holder() == f"pid {child.pid}"
    child.stdin.write("\n")
    child.stdin.close()
    assert child.wait(timeout=30) == -9
    assert _eventually(lock.try_acquire)
    lock.release()


def test_in_memory_sqlite_locks_are_per_process() -> None:
    engine = make_engine("sqlite://")
    first, second = DatabaseLock(engine, "run"), DatabaseLock(engine, "run")
    assert first.try_acquire() and not second.try_acquire()
    assert DatabaseLock(make_engine("sqlite://"), "run").try_acquire()  # another in-memory database
    first.release()
    assert second.try_acquire()
    second.release()


def test_the_lock_file_sits_next_to_the_database(tmp_path: Path) -> None:
    lock = instance_lock(make_engine(f"sqlite:///{tmp_path}/x.db"))
    assert lock.where == f"{tmp_path}/x.db.run.lock"
    assert lock.try_acquire()
    lock.release()


def _eventually(check: Callable[[], bool], tries: int = 100) -> bool:
    for _ in range(tries):
        if check():
            return True
        time.sleep(0.05)
    return False
