"""Migrations build exactly the models' schema, and go down and up again cleanly."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from qlosync.db import migrate
from qlosync.db.models import Base
from qlosync.pms.builtin import tables as builtin_pms_tables  # noqa: F401  (on the metadata too)
from qlosync.db.session import make_engine
from qlosync.settings import DEFAULT_DB_SCHEMA, Settings
from tests.integration.schema_support import model_differences


def _tables(url: str, schema: str = DEFAULT_DB_SCHEMA) -> set[str]:
    """The tables in qlosync's schema and public (the PMS's), but the version table."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return set(inspector.get_table_names(schema) + inspector.get_table_names("public")) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_from_empty_database_matches_the_models(db_factory):
    # Given an empty database migrated to head
    url = db_factory(migrated=False)
    migrate.upgrade(url)
    # When autogenerate compares it with the models
    diff = model_differences(url)
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


def test_a_shop_paused_on_its_configuration_stays_paused_across_the_upgrade(db_factory):
    from sqlalchemy import text

    from qlosync.sync.inbound.runs import CONFIGURATION_PAUSE

    # Given a database at 0008 holding a run stopped by its shop's configuration and an ordinary failed run
    url = db_factory(migrated=False)
    migrate.upgrade(url, "0008")
    engine = make_engine(Settings(database_url=url))
    try:
        with engine.begin() as c:
            shop = c.execute(text("INSERT INTO qloapps_config (name, base_url, api_key_encrypted, sync_enabled, "
                                  "id_hotel, conflict_strategy) VALUES ('s', 'http://x.example', '\\x00', true, 1, "
                                  "'qloapps_wins') RETURNING id")).scalar_one()
            for error in ("credentials in the URL" + CONFIGURATION_PAUSE, "QloApps answered 500"):
                c.execute(text("INSERT INTO qloapps_sync_state (config_id, kind, trigger, status, error, seen, "
                               "created, updated, unchanged, failed, parked, requests) VALUES "
                               "(:shop, 'incremental', 'schedule', 'failed', :error, 0, 0, 0, 0, 0, 0, 0)"),
                          {"shop": shop, "error": error})
        # When it is upgraded
        migrate.upgrade(url)
        # Then only the run that the configuration stopped is marked so
        with engine.begin() as c:
            rows = c.execute(text("SELECT error, stopped_by_configuration FROM qloapps_sync_state ORDER BY id")).all()
        assert [stopped for _error, stopped in rows] == [True, False]
        # And the column goes away on a downgrade, leaving the error texts as they were
        migrate.downgrade(url, "0008")
        with engine.begin() as c:
            errors = c.execute(text("SELECT error FROM qloapps_sync_state ORDER BY id")).scalars().all()
        assert errors == [error for error, _stopped in rows]
    finally:
        engine.dispose()
