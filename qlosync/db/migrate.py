"""Run Alembic migrations from Python (the CLI, the demo and the test fixtures use this), and create the
database they run in."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from qlosync.db.session import check_database
from qlosync.errors import ConfigurationError
from qlosync.settings import DEFAULT_DB_SCHEMA

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str, schema: str = DEFAULT_DB_SCHEMA, *, pms: str | None = None,
                   ari_days: int | None = None) -> Config:
    """The migrations' config; *pms* (QLOSYNC_PMS, default builtin) decides whether the database must be a PMS
    whose change capture is installed after the migrations (migrations/env.py)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["db_schema"] = schema
    config.attributes["pms"] = pms
    config.attributes["ari_days"] = ari_days
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head", *, schema: str = DEFAULT_DB_SCHEMA, pms: str | None = None,
            ari_days: int | None = None) -> None:
    command.upgrade(alembic_config(database_url, schema, pms=pms, ari_days=ari_days), revision)


def downgrade(database_url: str, revision: str = "base", *, schema: str = DEFAULT_DB_SCHEMA,
              pms: str | None = None) -> None:
    command.downgrade(alembic_config(database_url, schema, pms=pms), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision in the version table the engine's search_path finds first: qlosync's schema, or public for
    a database an older release migrated and this one has not yet upgraded."""
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


def create_database(database_url: str) -> bool:
    """Create the database *database_url* names unless it exists; True if it was created.

    It connects to the server's ``postgres`` database (the one every PostgreSQL has), so it needs a role
    that may create databases; the new one belongs to the URL's user.
    """
    url = make_url(database_url)
    name = url.database
    if not name:
        raise ConfigurationError("DATABASE_URL names no database")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 5})
    try:
        check_database(admin)
        with admin.connect() as connection:
            if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
                return False
            quoted = connection.dialect.identifier_preparer.quote(name)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
        return True
    finally:
        admin.dispose()
