"""Whether a database holds the built-in PMS's tables (``qlosync pms check --pms builtin``).

The built-in PMS is qlosync's own: its tables are whatever the migrations made, so the check is that each
``pms_*`` table of the ORM exists in ``public`` with its columns (a database not migrated lacks them all).
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect

from qlosync.db.base import Base
from qlosync.pms.builtin import tables as _tables  # noqa: F401  (registers the pms_* tables on Base)

SCHEMA = "public"


def check(connection: Connection, schema: str = SCHEMA) -> list[str]:
    """What the database lacks of the built-in PMS, one line each; an empty list: migrated."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names(schema=schema))
    wanted = [table for table in Base.metadata.sorted_tables if table.name.startswith("pms_")]
    if not present.intersection(table.name for table in wanted):
        return [f"no table of the built-in PMS in {schema} (run `qlosync db upgrade`)"]
    problems: list[str] = []
    for table in wanted:
        if table.name not in present:
            problems.append(f"table {table.name} missing (run `qlosync db upgrade`)")
            continue
        live = {column["name"] for column in inspector.get_columns(table.name, schema=schema)}
        problems.extend(f"column {table.name}.{column.name} missing (run `qlosync db upgrade`)"
                        for column in table.columns if column.name not in live)
    return problems
