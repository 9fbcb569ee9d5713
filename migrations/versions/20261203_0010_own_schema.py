"""qlosync's tables in a PostgreSQL schema of their own (QLOSYNC_DB_SCHEMA, default ``qlosync``)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:00:00+00:00

So that qlosync can live in a PMS's database next to tables with the same names. Every qlosync connection runs
with ``search_path = <schema>, public`` (qlosync.db.schema), so unqualified names keep working.

* qlosync's tables move from public into the schema with their data, indexes, constraints and owned sequences
  (env.py has moved the version table already). A database migrated from empty by this release created them
  there under that search_path, and its PMS tables with them: those move to public, where a PMS's tables are.
* The trigger functions are qlosync's code: they move into the schema too, and run with qlosync's search_path
  whoever fires them, since a PMS writer's search_path is just public.
* A database qlosync owns gets that search_path as its default, so ``psql`` finds qlosync's tables unqualified;
  a database shared with a PMS (public has a table named like one of qlosync's) is left alone.

Downgrade moves everything back to public (refused while public holds a table named like one of qlosync's:
an older release cannot share the database), and resets the database's search_path if this set it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("qlosync.migrations")

# Frozen copies: the tables and functions as of 0009.
QLOSYNC_TABLES = (
    "qloapps_config", "qloapps_shop_gate", "qloapps_request_lanes", "qloapps_sync_cursor", "qloapps_sync_state",
    "qloapps_room_type_mappings", "qloapps_room_mappings", "qloapps_reservation_mappings",
    "qloapps_room_line_mappings", "qloapps_customer_mappings", "qloapps_sync_logs", "qloapps_dead_letters",
    "qloapps_conflicts", "qloapps_rate_rules", "qloapps_stop_sell_blocks", "qlosync_processes",
)
PMS_TABLES = ("pms_room_types", "pms_rooms", "pms_guests", "pms_reservations", "pms_reservation_lines",
              "pms_room_type_rates", "pms_closed_nights", "pms_room_outages", "pms_outbox")
FUNCTIONS = ("qlosync_touch_updated_at()", "qlosync_capture_pms_change()", "qlosync_capture_rate_change()",
             "qlosync_capture_pms_closed_nights()", "qlosync_capture_pms_room_outages()",
             "qlosync_queue_availability(integer, date, date)", "qlosync_capture_stay_change()")
PUBLIC = "public"
VERSION_TABLE = "alembic_version"


def _schema() -> str:
    schema = context.get_context().version_table_schema
    if not schema:
        raise RuntimeError("migration 0010 needs qlosync's env.py, which puts the version table in qlosync's schema")
    return schema


def _array(names: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{name}'" for name in names) + "]"


def _move_tables(names: Sequence[str], source: str, target: str) -> None:
    """Move each table found in *source* (and not yet in *target*) to *target*. Plain SQL, so ``--sql`` writes it
    too; no ``%`` in it (offline SQL would double it)."""
    op.execute(f"""
DO $$
DECLARE name text;
BEGIN
    FOREACH name IN ARRAY {_array(names)} LOOP
        IF to_regclass('{source}.' || quote_ident(name)) IS NOT NULL
           AND to_regclass('{target}.' || quote_ident(name)) IS NULL THEN
            EXECUTE 'ALTER TABLE {source}.' || quote_ident(name) || ' SET SCHEMA {target}';
        END IF;
    END LOOP;
END $$""")


def _move_functions(source: str, target: str, *, search_path: str | None) -> None:
    setting = f"SET search_path = {search_path}" if search_path else "RESET search_path"
    op.execute(f"""
DO $$
DECLARE signature text;
BEGIN
    FOREACH signature IN ARRAY {_array(FUNCTIONS)} LOOP
        IF to_regprocedure('{source}.' || signature) IS NOT NULL THEN
            EXECUTE 'ALTER FUNCTION {source}.' || signature || ' SET SCHEMA {target}';
        END IF;
        EXECUTE 'ALTER FUNCTION {target}.' || signature || ' {setting}';
    END LOOP;
END $$""")


def _public_clashes(bind: sa.Connection, names: Sequence[str]) -> list[str]:
    return list(bind.scalars(sa.text(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relkind IN ('r', 'p', 'v', 'm', 'f') AND relname = ANY(:names) ORDER BY relname"),
        {"names": list(names)}))


def _database_setting(bind: sa.Connection) -> tuple[str, list[str]]:
    """The current database's quoted name, and its own settings (``name=value``; not those of a role)."""
    name = bind.scalar(sa.text("SELECT current_database()"))
    settings = bind.scalar(sa.text(
        "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
        "WHERE d.datname = current_database() AND s.setrole = 0"))
    return bind.dialect.identifier_preparer.quote(str(name)), list(settings or [])


def _own_search_path(schema: str) -> str:
    return f"{schema}, {PUBLIC}"


def _set_database_search_path(schema: str) -> None:
    if context.is_offline_mode():
        log.warning("offline SQL: the database's search_path is left alone (set it to %s if qlosync owns the "
                    "database)", _own_search_path(schema))
        return
    bind = op.get_bind()
    clashes = _public_clashes(bind, (*QLOSYNC_TABLES, VERSION_TABLE))
    if clashes:
        log.warning("public has tables named like qlosync's (%s): the database is shared, so its search_path is "
                    "left alone; qualify qlosync's tables with %s. in psql", ", ".join(clashes), schema)
        return
    if not bind.scalar(sa.text("SELECT pg_has_role(datdba, 'MEMBER') FROM pg_database "
                               "WHERE datname = current_database()")):
        log.warning("this role does not own the database: its search_path is left alone (the owner can run "
                    "ALTER DATABASE ... SET search_path TO %s)", _own_search_path(schema))
        return
    database, _settings = _database_setting(bind)
    op.execute(f"ALTER DATABASE {database} SET search_path TO {_own_search_path(schema)}")


def _reset_database_search_path(schema: str) -> None:
    if context.is_offline_mode():
        return
    bind = op.get_bind()
    database, settings = _database_setting(bind)
    ours = f"search_path={_own_search_path(schema)}"
    if any(setting.replace(" ", "") == ours.replace(" ", "") for setting in settings):
        op.execute(f"ALTER DATABASE {database} RESET search_path")


def upgrade() -> None:
    schema = _schema()
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    _move_tables(QLOSYNC_TABLES, PUBLIC, schema)
    _move_tables(PMS_TABLES, schema, PUBLIC)
    _move_functions(PUBLIC, schema, search_path=_own_search_path(schema))
    _set_database_search_path(schema)


def downgrade() -> None:
    schema = _schema()
    if not context.is_offline_mode():
        clashes = _public_clashes(op.get_bind(), QLOSYNC_TABLES)
        if clashes:
            raise RuntimeError(f"cannot downgrade below 0010: public already has {', '.join(clashes)} (a PMS's?), "
                               "and an older qlosync keeps its tables there")
    _reset_database_search_path(schema)
    _move_functions(schema, PUBLIC, search_path=None)
    _move_tables(QLOSYNC_TABLES, schema, PUBLIC)
