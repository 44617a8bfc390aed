"""One transaction: the session every store method runs in, without importing the stores' tables.

Rows come back detached (``expire_on_commit=False``) so callers never hold a session. A command that
stores only one kind of row (``paperdesk backtest`` its ``backtest_run``) opens it from here and loads
that table alone, not the Store with every table of the live desk.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlmodel import Session


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
