"""Loading the test double of the hotelmanangement schema (tests/hms/schema.sql) into a test database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine

SCHEMA_SQL = Path(__file__).with_name("schema.sql")


def load_double(database_url: str) -> Engine:
    """An engine on *database_url* with the double's tables created in ``public`` (the caller disposes it)."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        # In public even on a migrated database, whose default search_path puts qlosync's schema first.
        connection.exec_driver_sql("SET LOCAL search_path TO public")
        connection.exec_driver_sql(SCHEMA_SQL.read_text())
    return engine
