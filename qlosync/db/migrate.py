"""Run Alembic migrations from Python (the CLI, the demo and the test fixtures use this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from qlosync.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


class SchemaNotCurrentError(ConfigurationError):
    """The database's schema is not the revision this qlosync needs (never migrated, or behind)."""


def schema_problem(current: str | None, head: str | None) -> str | None:
    """What is wrong with the database's schema revision, in one line naming the fix, or None if it is current.

    The one check behind `qlosync status` and every command that reads or writes qlosync's tables.
    """
    if current == head:
        return None
    return f"database schema is at {current or '(empty)'}, this qlosync needs {head}: run `qlosync db upgrade`"


def require_current_schema(engine: Engine, database_url: str) -> None:
    problem = schema_problem(current_revision(engine), head_revision(database_url))
    if problem is not None:
        raise SchemaNotCurrentError(problem)
