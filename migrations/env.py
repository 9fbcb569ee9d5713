"""Alembic environment: the database comes from DATABASE_URL (or a connection passed in by qlosync), qlosync's
schema from QLOSYNC_DB_SCHEMA (or the schema passed in by qlosync).

The version table lives in qlosync's schema. Bootstrap, before alembic reads it: the schema is created, and a
version table an older release kept in public moves into it. After a downgrade below the revision that moved
qlosync's tables into their schema, it goes back to public, where that older release looks for it.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection

from qlosync import fields
from qlosync.db.models import Base
from qlosync.pms.builtin import tables as builtin_pms_tables  # noqa: F401  (the built-in PMS's tables are ours to migrate)
from qlosync.pms.hotelmanangement import tables as hms_tables  # noqa: F401  (the hotelmanangement adapter's own tables)
from qlosync.db.schema import (OWN_SCHEMA_REVISION, adopt_version_table, autogenerate_options, comparison_engine,
                               release_version_table)
from qlosync.db.session import check_database, make_engine
from qlosync.errors import DatabaseUnavailableError
from qlosync.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _settings() -> Settings:
    passed_url, passed_schema = config.attributes.get("database_url"), config.attributes.get("db_schema")
    if passed_url and passed_schema:
        settings = Settings(database_url=passed_url, db_schema=passed_schema)
    else:
        env = Settings.from_env()
        settings = env.with_(database_url=passed_url or env.database_url, db_schema=passed_schema or env.db_schema)
    fields.db_schema(settings.db_schema)  # it is written into SQL as it is
    return settings


def _in_own_schema(script: ScriptDirectory, heads: tuple[str, ...]) -> bool:
    """Whether the database, at *heads*, has qlosync's tables in their own schema (OWN_SCHEMA_REVISION applied)."""
    return any(OWN_SCHEMA_REVISION in {r.revision for r in script.iterate_revisions(head, "base")} for head in heads)


def _autogenerating() -> bool:
    return bool(getattr(config.cmd_opts, "autogenerate", False))


def run_with(connection: Connection, schema: str) -> None:
    options: dict[str, object] = {"target_metadata": target_metadata, "compare_type": True,
                                  "version_table_schema": schema}
    if _autogenerating():
        options = autogenerate_options(target_metadata, schema)
    context.configure(connection=connection, **options)  # type: ignore[arg-type]
    script = ScriptDirectory.from_config(config)
    with context.begin_transaction():
        adopt_version_table(connection, schema, {r.revision for r in script.walk_revisions()})
        context.run_migrations()
        heads = context.get_context().get_current_heads()
        if heads and not _in_own_schema(script, heads):
            release_version_table(connection, schema)


def run_migrations_online() -> None:
    settings = _settings()
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection, settings.db_schema)
        return
    # `alembic revision --autogenerate` compares from search_path public (see qlosync.db.schema.located_metadata).
    engine = comparison_engine(settings.database_url) if _autogenerating() else make_engine(settings)
    try:
        try:
            check_database(engine)
        except DatabaseUnavailableError as exc:
            # alembic prints a CommandError as one "FAILED: ..." line; anything else would be a traceback.
            raise CommandError(str(exc)) from None
        with engine.connect() as connection:
            run_with(connection, settings.db_schema)
    finally:
        engine.dispose()


if context.is_offline_mode():
    offline = _settings()
    context.configure(url=offline.database_url, target_metadata=target_metadata, literal_binds=True,
                      version_table_schema=offline.db_schema)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
