"""Helpers for the schema tests: migrate as the release before 0010 did, and see where tables are."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from qlosync.db import migrate
from qlosync.db.models import Base
from qlosync.pms.builtin import tables as builtin_pms_tables  # noqa: F401  (on the metadata too)
from qlosync.db.schema import autogenerate_options, comparison_engine
from qlosync.settings import DEFAULT_DB_SCHEMA

PREVIOUS_RELEASE_HEAD = "0009"


def model_differences(url: str, schema: str = DEFAULT_DB_SCHEMA) -> list[object]:
    """What autogenerate would migrate for *url* laid out in *schema*, compared the way env.py does."""
    engine = comparison_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=autogenerate_options(Base.metadata, schema))
            return list(compare_metadata(context, context.opts["target_metadata"]))
    finally:
        engine.dispose()


def plain_engine(url: str, search_path: str = "public"):  # type: ignore[no-untyped-def]
    """An engine that is not qlosync's: a PMS writer, psql, or the previous release (search_path public)."""
    return create_engine(url, poolclass=NullPool, connect_args={"options": f"-c search_path={search_path}"})


def migrate_like_the_previous_release(url: str, revision: str, *, down: bool = False) -> None:
    """Run the migrations to *revision* the way the release before 0010 did: its env.py kept the version table
    in public and connected with the default search_path, so every table went to public."""
    config: Config = migrate.alembic_config(url)
    script = ScriptDirectory.from_config(config)

    def steps(current, _context):  # type: ignore[no-untyped-def]
        return script._downgrade_revs(revision, current) if down else script._upgrade_revs(revision, current)

    engine = plain_engine(url)
    try:
        with engine.connect() as connection, EnvironmentContext(config, script, fn=steps,
                                                                 destination_rev=revision) as env:
            env.configure(connection=connection)
            with env.begin_transaction():
                env.run_migrations()
    finally:
        engine.dispose()


def tables_in(connection: Connection, schema: str) -> set[str]:
    return set(connection.scalars(text(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = to_regnamespace(:schema)"),
        {"schema": schema}))


def database_settings(connection: Connection) -> list[str]:
    """The current database's own ALTER DATABASE ... SET settings."""
    return list(connection.scalar(text(
        "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
        "WHERE d.datname = current_database() AND s.setrole = 0")) or [])


def functions_in(connection: Connection) -> dict[str, tuple[str, list[str]]]:
    """qlosync's trigger functions: name -> (schema, per-function settings)."""
    rows = connection.execute(text(
        "SELECT proname, pronamespace::regnamespace::text, coalesce(proconfig, '{}') FROM pg_proc "
        "WHERE proname LIKE 'qlosync\\_%'"))
    return {name: (schema, list(config)) for name, schema, config in rows}
