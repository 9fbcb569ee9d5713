"""Where qlosync's tables live: a PostgreSQL schema of their own (QLOSYNC_DB_SCHEMA, default ``qlosync``).

The models and every raw SQL statement name tables unqualified; each connection qlosync opens runs with
``search_path = <schema>, public``. qlosync's tables (``qloapps_*``, ``qlosync_*``, ``alembic_version``) resolve
to its schema first, so they shadow a PMS's same-named tables in public, and the built-in PMS's ``pms_*``
tables resolve to public, where a PMS keeps its own. The schema is not written into the models, so one set of
models serves any configured schema.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, text
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.schema import ForeignKeyConstraint, SchemaConst

from qlosync import fields
from qlosync.db.base import NAMING_CONVENTION

log = logging.getLogger(__name__)

PMS_SCHEMA = "public"
PMS_TABLE_PREFIX = "pms_"
VERSION_TABLE = "alembic_version"
#: The revision that moved qlosync's tables out of public; below it, an older release's layout.
OWN_SCHEMA_REVISION = "0010"


def is_qlosync_table(name: str) -> bool:
    return not name.startswith(PMS_TABLE_PREFIX)


def connect_options(schema: str) -> str:
    """libpq ``options`` that give a new connection qlosync's search_path."""
    return f"-c search_path={fields.db_schema(schema)},{PMS_SCHEMA}"


def located_metadata(metadata: MetaData, schema: str) -> MetaData:
    """A copy of *metadata* with qlosync's tables in *schema* and the PMS's tables unqualified (public).

    For comparing the models with a database (autogenerate) from a connection whose search_path is public.
    """
    # An index's column label would now carry the schema: name it as the models do, from the bare table name.
    located = MetaData(naming_convention={**NAMING_CONVENTION, "ix": "ix_%(table_name)s_%(column_0_name)s"})

    def referred_schema(_table: Table, _to_schema: str | None, constraint: ForeignKeyConstraint,
                        _referred: str | None) -> str | None:
        return schema if is_qlosync_table(constraint.elements[0].column.table.name) else None

    for table in metadata.sorted_tables:
        # The PMS's tables keep the models' (unqualified) schema.
        table.to_metadata(located, schema=schema if is_qlosync_table(table.name) else SchemaConst.RETAIN_SCHEMA,
                          referred_schema_fn=referred_schema)
    return located


def comparison_engine(database_url: str) -> Engine:
    """An engine whose connections have search_path public, whatever the database's default: from there,
    qlosync's tables reflect with their schema and the PMS's without, as in located_metadata."""
    return create_engine(database_url, poolclass=NullPool, connect_args={"options": f"-c search_path={PMS_SCHEMA}"})


def autogenerate_options(metadata: MetaData, schema: str) -> dict[str, object]:
    """MigrationContext options that compare *metadata* with a database laid out in *schema* and public,
    on a connection of comparison_engine."""

    def include_name(name: str | None, type_: str, _parent: object) -> bool:
        return type_ != "schema" or name in (None, schema)

    return {"target_metadata": located_metadata(metadata, schema), "include_schemas": True,
            "include_name": include_name, "compare_type": True, "version_table_schema": schema}


def adopt_version_table(connection: Connection, schema: str, revisions: set[str]) -> bool:
    """Bootstrap before migrating: create *schema*, and move into it the version table an older release kept in
    public (only if it records one of qlosync's *revisions*: a PMS may have an alembic_version of its own).
    True if it moved."""
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {fields.db_schema(schema)}"))
    if _exists(connection, f"{schema}.{VERSION_TABLE}") or not _exists(connection, f"{PMS_SCHEMA}.{VERSION_TABLE}"):
        return False
    recorded = set(connection.scalars(text(f"SELECT version_num FROM {PMS_SCHEMA}.{VERSION_TABLE}")))
    if not recorded or not recorded <= revisions:
        return False
    connection.execute(text(f"ALTER TABLE {PMS_SCHEMA}.{VERSION_TABLE} SET SCHEMA {schema}"))
    log.info("moved %s.%s into schema %s", PMS_SCHEMA, VERSION_TABLE, schema)
    return True


def release_version_table(connection: Connection, schema: str) -> bool:
    """After migrating below OWN_SCHEMA_REVISION: put the version table back in public, where an older release
    looks for it. True if it moved."""
    if not _exists(connection, f"{schema}.{VERSION_TABLE}"):
        return False
    if _exists(connection, f"{PMS_SCHEMA}.{VERSION_TABLE}"):
        log.warning("%s.%s exists (not qlosync's): the version table stays in schema %s",
                    PMS_SCHEMA, VERSION_TABLE, schema)
        return False
    connection.execute(text(f"ALTER TABLE {fields.db_schema(schema)}.{VERSION_TABLE} SET SCHEMA {PMS_SCHEMA}"))
    log.info("moved the version table back to %s for an older release", PMS_SCHEMA)
    return True


def _exists(connection: Connection, qualified_name: str) -> bool:
    return connection.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": qualified_name}) is True
