"""The catalog's schema revision (Alembic): new catalogs start at the newest, older ones are upgraded by
`overwatch db upgrade`, and nothing else runs on an out-of-date schema.

Every schema change is a migration in ``overwatch_core/migrations/versions``; ``catalog.metadata`` is the
newest revision's schema (a test checks that the migrations build exactly it). A catalog made before
migrations existed has the first revision's tables and no version table: the upgrade recognises it.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from overwatch_core.errors import OverwatchError

MIGRATIONS = Path(__file__).with_name("migrations")
#: The revision whose tables a catalog made before migrations existed has.
FIRST = "0001"
VERSION_TABLE = "alembic_version"


class SchemaError(OverwatchError):
    """The catalog was made by other code: upgrade it (or use matching code)."""

    category = "Catalog schema out of date"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision, the one this code's ``catalog.metadata`` describes."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "no migrations found"
    return revision


def current(connection: Connection) -> str | None:
    """The catalog's revision, or None for an empty catalog or one made before migrations existed."""
    return MigrationContext.configure(connection).get_current_revision()


def _has_tables(connection: Connection) -> bool:
    return bool(set(sa.inspect(connection).get_table_names()) - {VERSION_TABLE})


def ensure_current(engine: Engine, metadata: sa.MetaData, create: bool) -> None:
    """Create an empty catalog at the newest revision, accept a current one, refuse anything else."""
    with engine.begin() as connection:
        if not _has_tables(connection):
            if create:
                metadata.create_all(connection)
                command.stamp(_config(connection), "head")
            return
        revision = current(connection)
    if revision != head():
        found = f"revision {revision}" if revision else "a schema from before migrations"
        raise SchemaError(
            f"the catalog {engine.url.render_as_string(hide_password=True)} has {found}, this version of "
            f"Overwatch needs revision {head()}: run `overwatch db upgrade` (back up the catalog first)"
        )


#: Tables each revision added, newest first: code from before migrations created them without a version
#: table (revision 0002's tables were made that way by the commits just before migrations existed).
_ADDED = (
    ("0004", {"api_tokens"}),
    ("0003", {"reference_runs", "check_results"}),
    ("0002", {"skipped_objects", "file_status", "trend_missing"}),
)


def unversioned_revision(tables: set[str]) -> str:
    """The revision a catalog without a version table has: the newest whose added tables all exist."""
    return next((revision for revision, added in _ADDED if added <= tables), FIRST)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the catalog to the newest revision, keeping every row; returns (revision before, after)."""
    with engine.begin() as connection:
        before = current(connection)
        config = _config(connection)
        if before is None and _has_tables(connection):
            found = unversioned_revision(set(sa.inspect(connection).get_table_names()))
            command.stamp(config, found)  # made before migrations existed: mark what its tables are
            before = f"{found} (a catalog from before migrations)"
        command.upgrade(config, "head")
        after = current(connection)
    assert after is not None
    return before, after
