"""Migrations build exactly the models' schema, and go down and up again cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from qlosync.db import migrate
from qlosync.db.models import Base


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_from_empty_database_matches_the_models(db_factory):
    # Given an empty database migrated to head
    url = db_factory(migrated=False)
    migrate.upgrade(url)
    # When autogenerate compares it with the models
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    # Then there is nothing to migrate, and every model table exists
    assert diff == []
    assert _tables(url) == set(Base.metadata.tables)


def test_downgrade_to_base_then_upgrade_again(db_factory):
    url = db_factory(migrated=False)
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    assert _tables(url) == set()
    migrate.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)
