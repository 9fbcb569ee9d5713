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


def test_guest_keys_survive_a_downgrade_and_are_generated_again_after_upgrade(db_factory):
    from sqlalchemy import text

    url = db_factory(migrated=False)
    migrate.upgrade(url)
    engine = create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(text("INSERT INTO pms_guests (first_name, last_name, email, phone) "
                           "VALUES ('Ana', 'Lima', ' Ana@Lima.example ', '+46 70 123 4567')"))
        migrate.downgrade(url, "0007")
        with engine.begin() as c:
            keys = c.execute(text("SELECT email_normalized, phone_normalized FROM pms_guests")).one()
            assert tuple(keys) == ("ana@lima.example", "+46701234567")
            # A plain column again: an old qlosync can write it
            c.execute(text("UPDATE pms_guests SET email_normalized = 'x@y.example'"))
        migrate.upgrade(url)
        with engine.begin() as c:
            assert c.execute(text("SELECT email_normalized FROM pms_guests")).scalar_one() == "ana@lima.example"
    finally:
        engine.dispose()
