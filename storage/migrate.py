"""Schema migrations run in code (``paperdesk db upgrade``) from the packaged Alembic scripts.

A brand-new database is brought to head automatically on first use; a database at an older
revision is refused with a message telling the operator to run ``paperdesk db upgrade``, so an
upgrade of a production database is always a deliberate step.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    """The database schema is older than this version of paperdesk."""


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def head_revision(engine: Engine) -> str | None:
    """The newest migration shipped with this version."""
    return ScriptDirectory.from_config(_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to head; returns (before, after) revisions."""
    before = current_revision(engine)
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, current_revision(engine)


def ensure_schema(engine: Engine) -> None:
    """Create the schema on an empty database; refuse one that needs an upgrade."""
    current = current_revision(engine)
    head = head_revision(engine)
    if current == head:
        return
    if current is None:
        upgrade(engine)
        return
    raise SchemaOutOfDate(
        f"the database schema is at revision {current}, this paperdesk needs {head}: run `paperdesk db upgrade`"
    )
