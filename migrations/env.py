"""Alembic environment: the database comes from DATABASE_URL (or a connection passed in by qlosync)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Connection

from qlosync.db.models import Base
from qlosync.db.session import check_database, make_engine
from qlosync.errors import DatabaseUnavailableError
from qlosync.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = config.attributes.get("database_url") or Settings.from_env().database_url
    engine = make_engine(Settings(database_url=url))
    try:
        try:
            check_database(engine)
        except DatabaseUnavailableError as exc:
            # alembic prints a CommandError as one "FAILED: ..." line; anything else would be a traceback.
            raise CommandError(str(exc)) from None
        with engine.connect() as connection:
            run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=Settings.from_env().database_url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
