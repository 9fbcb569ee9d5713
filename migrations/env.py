"""Alembic environment: the database comes from DATABASE_URL (or a connection passed in by qlosync), qlosync's
schema from QLOSYNC_DB_SCHEMA (or the schema passed in by qlosync).

After the migrations, in their transaction: with QLOSYNC_PMS naming a PMS whose schema is not qlosync's
(hotelmanangement), the database is checked to be that PMS (else the upgrade is refused, in one line, and
nothing of it is committed) and that PMS's change capture is installed. Below the revision that made its
outbox, its capture is removed (its triggers would fail the PMS's own writes).

The version table lives in qlosync's schema. Bootstrap, before alembic reads it: the schema is created, and a
version table an older release kept in public moves into it. After a downgrade below the revision that moved
qlosync's tables into their schema, it goes back to public, where that older release looks for it.
"""

from __future__ import annotations

import logging
import sys
from logging.config import fileConfig

from alembic import context
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from qlosync import fields
from qlosync.db.models import Base
from qlosync.pms.builtin import tables as builtin_pms_tables  # noqa: F401  (the built-in PMS's tables are ours to migrate)
from qlosync.pms.hotelmanangement import tables as hms_tables  # noqa: F401  (the hotelmanangement adapter's own tables)
from qlosync.db.schema import (OWN_SCHEMA_REVISION, adopt_version_table, autogenerate_options, comparison_engine,
                               release_version_table)
from qlosync.db.session import check_database, make_engine
from qlosync.errors import DatabaseUnavailableError
from qlosync.pms import capture
from qlosync.pms.checks import pms_mismatch
from qlosync.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata
log = logging.getLogger("alembic.env")  # alembic.ini shows its INFO lines
#: The revision that made hms_outbox, which the hotelmanangement PMS's capture triggers write.
HMS_OUTBOX_REVISION = "0012"


def _settings() -> Settings:
    passed_url, passed_schema = config.attributes.get("database_url"), config.attributes.get("db_schema")
    if passed_url and passed_schema:
        # qlosync.db.migrate passes its caller's PMS (the built-in one unless told).
        settings = Settings(database_url=passed_url, db_schema=passed_schema,
                            pms=config.attributes.get("pms") or Settings.pms,
                            ari_days=config.attributes.get("ari_days") or Settings.ari_days)
    else:
        env = Settings.from_env()
        settings = env.with_(database_url=passed_url or env.database_url, db_schema=passed_schema or env.db_schema)
    fields.db_schema(settings.db_schema)  # it is written into SQL as it is
    return settings


def _applied(script: ScriptDirectory, heads: tuple[str, ...], revision: str) -> bool:
    """Whether the database, at *heads*, has *revision* applied."""
    return any(revision in {r.revision for r in script.iterate_revisions(head, "base")} for head in heads)


def _in_own_schema(script: ScriptDirectory, heads: tuple[str, ...]) -> bool:
    """Whether the database, at *heads*, has qlosync's tables in their own schema (OWN_SCHEMA_REVISION applied)."""
    return _applied(script, heads, OWN_SCHEMA_REVISION)


def _pms_capture(connection: Connection, settings: Settings, script: ScriptDirectory, heads: tuple[str, ...]) -> None:
    """Install the configured PMS's change capture if it is installed after the migrations (refusing a database
    that is not that PMS), or remove it below the revision that made its outbox."""
    # rollback_only (the default for a connection already in a transaction): never commits the migrations'.
    with Session(bind=connection) as session:
        if not _applied(script, heads, HMS_OUTBOX_REVISION):
            removed = capture.remove(session, capture.HOTELMANANGEMENT)
            if removed:
                log.info("removed the hotelmanangement PMS's change capture (%s)", ", ".join(removed))
            return
        if settings.pms not in capture.INSTALLED_AFTER_MIGRATIONS:
            return
        problem = pms_mismatch(connection, settings.pms)
        if problem is not None:
            _refuse(problem)  # the transaction rolls back: nothing of the upgrade is left
        created = capture.install(session, settings.pms, ari_days=settings.ari_days)
        log.info("%s PMS's change capture: %s", settings.pms,
                 f"installed {', '.join(created)}" if created else "already installed")


def _refuse(problem: str) -> None:
    """Stop the migrations, saying *problem* in one line. From the alembic command line: that line on stderr
    and exit code 1 (alembic would print a CommandError twice, and exit 255); from qlosync (``qlosync db
    upgrade``, tests): a CommandError for the caller to report."""
    if config.cmd_opts is not None:
        print(problem, file=sys.stderr)
        raise SystemExit(1)
    raise CommandError(problem)


def _autogenerating() -> bool:
    return bool(getattr(config.cmd_opts, "autogenerate", False))


def _moving() -> bool:
    """Whether this run moves the database to a revision (upgrade, downgrade, stamp), not only reads it
    (``alembic current``, ``check``, autogenerate)."""
    return "destination_rev" in context.get_context().opts and not _autogenerating()


def run_with(connection: Connection, settings: Settings) -> None:
    schema = settings.db_schema
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
        if _moving():
            _pms_capture(connection, settings, script, heads)
        if heads and not _in_own_schema(script, heads):
            release_version_table(connection, schema)


def run_migrations_online() -> None:
    settings = _settings()
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection, settings)
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
            run_with(connection, settings)
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
