"""Schema migrations run in code (``paperdesk db upgrade``) from the packaged Alembic scripts.

A brand-new database is brought to head automatically on first use; a database at an older
revision is refused with a message telling the operator to run ``paperdesk db upgrade``, so an
upgrade of a production database is always a deliberate step.

Start-up: ``ensure_schema`` first compares the ``alembic_version`` row (one plain query) with the
head read from the scripts' ``revision`` / ``down_revision`` lines (``shipped_head``, no Alembic
import). Only when they differ, or the scripts cannot be read that simply, does it ask Alembic,
whose answer then decides: the cheap check can only skip work, never accept an old schema.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"


class SchemaOutOfDate(RuntimeError):
    """The database schema is older than this version of paperdesk."""


def _config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def head_revision(engine: Engine) -> str | None:
    """The newest migration shipped with this version (as Alembic computes it)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def shipped_head(versions: Path = VERSIONS) -> str | None:
    """The single head of the scripts in ``versions``, read from their source; None when that is not simple."""
    revisions: dict[str, tuple[str, ...]] = {}
    for path in sorted(versions.glob("*.py")):
        if path.name == "__init__.py":
            continue
        ids = _revision_ids(path)
        if ids is None:
            return None
        revisions[ids[0]] = ids[1]
    parents = {parent for downs in revisions.values() for parent in downs}
    heads = [revision for revision in revisions if revision not in parents]
    return heads[0] if len(heads) == 1 else None


def _revision_ids(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """(revision, down revisions) of one script; None unless both are module-level literals."""
    try:
        values = dict(_literal_assignments(ast.parse(path.read_text(encoding="utf-8"))))
    except (OSError, SyntaxError, ValueError):
        return None
    revision, down = values.get("revision"), values.get("down_revision")
    downs = () if down is None else (down,) if isinstance(down, str) else down
    if not isinstance(revision, str) or not isinstance(downs, tuple) or not all(isinstance(d, str) for d in downs):
        return None
    return revision, downs


def _literal_assignments(tree: ast.Module) -> list[tuple[str, object]]:
    """``name = literal`` and ``name: type = literal`` at module level (ValueError if not a literal)."""
    found = []
    for node in tree.body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in {"revision", "down_revision"}:
            found.append((target.id, ast.literal_eval(value)))
    return found


def is_current(engine: Engine) -> bool:
    """Whether the schema is at the shipped head, known without loading Alembic (False when unsure)."""
    shipped = shipped_head()
    return shipped is not None and stored_revisions(engine) == [shipped]


def stored_revisions(engine: Engine) -> list[str]:
    """The rows of ``alembic_version`` with one plain query ([] when the table does not exist)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return []
        return [str(v) for v in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()]  # noqa: S608


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to head; returns (before, after) revisions."""
    from alembic import command

    before = current_revision(engine)
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, current_revision(engine)


def ensure_schema(engine: Engine) -> None:
    """Create the schema on an empty database; refuse one that needs an upgrade."""
    if is_current(engine):
        return  # up to date, known without loading Alembic
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
