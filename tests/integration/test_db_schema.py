"""qlosync's tables in a schema of their own: downgrade to the previous release's layout, a database shared with
a PMS, a schema other than the default, and PMS writers that know nothing of qlosync's search_path."""

from __future__ import annotations

import logging

import pytest
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import text

from qlosync.cli import cli
from qlosync.crypto import KeyCipher
from qlosync.db import migrate
from qlosync.db.config_store import load_shop, save_config
from qlosync.db.session import make_engine, make_sessionmaker, transaction
from qlosync.secrets import Secret
from qlosync.settings import DEFAULT_DB_SCHEMA, Settings
from tests.conftest import TEST_API_KEY
from tests.integration.schema_support import (PREVIOUS_RELEASE_HEAD, database_settings, functions_in,
                                              migrate_like_the_previous_release, model_differences, plain_engine,
                                              tables_in)

SHOP_SQL = ("INSERT INTO qloapps_config (name, base_url, api_key_encrypted, sync_enabled, id_hotel, conflict_strategy) "
            "VALUES ('s', 'http://x.example', '\\x00', true, 1, 'qloapps_wins') RETURNING id")


def _save_and_load_a_shop(url: str, secret_key: Secret, schema: str = DEFAULT_DB_SCHEMA) -> str:
    engine = make_engine(Settings(database_url=url, secret_key=secret_key, db_schema=schema))
    try:
        factory, cipher = make_sessionmaker(engine), KeyCipher(secret_key)
        with transaction(factory) as session:
            save_config(session, cipher, base_url="http://shop.example", api_key=Secret(TEST_API_KEY))
        with transaction(factory) as session:
            return load_shop(session, cipher).base_url
    finally:
        engine.dispose()


def test_downgrade_puts_every_table_back_where_the_previous_release_looks(db_factory):
    # Given a database at head holding a shop
    url = db_factory(migrated=False)
    migrate.upgrade(url)
    plain = plain_engine(url, f"{DEFAULT_DB_SCHEMA},public")
    with plain.begin() as c:
        c.execute(text(SHOP_SQL))
    # When it is downgraded to the previous release's head
    migrate.downgrade(url, PREVIOUS_RELEASE_HEAD)
    # Then every table is in public again with its data, the functions too, and the database's search_path is reset
    with plain_engine(url).connect() as c:
        assert tables_in(c, DEFAULT_DB_SCHEMA) == set()
        assert "qloapps_config" in tables_in(c, "public") and "alembic_version" in tables_in(c, "public")
        assert c.scalar(text("SELECT count(*) FROM public.qloapps_config")) == 1
        assert {place for place, _config in functions_in(c).values()} == {"public"}
        assert all(config == [] for _place, config in functions_in(c).values())
        assert database_settings(c) == []
        # And the previous release reads its version table where it always did
        assert MigrationContext.configure(c).get_current_revision() == PREVIOUS_RELEASE_HEAD
    # And the previous release can migrate it on (down one step and up again)
    migrate_like_the_previous_release(url, "0008", down=True)
    migrate_like_the_previous_release(url, PREVIOUS_RELEASE_HEAD)
    # And this release takes it back
    migrate.upgrade(url)
    with plain_engine(url).connect() as c:
        assert c.scalar(text(f"SELECT count(*) FROM {DEFAULT_DB_SCHEMA}.qloapps_config")) == 1
        assert "alembic_version" not in tables_in(c, "public")
    assert model_differences(url) == []
    plain.dispose()


def test_a_database_shared_with_a_pms_keeps_the_pms_tables_and_settings(db_factory, secret_key, caplog):
    # Given a PMS's database with its own qloapps_config and alembic_version in public
    url = db_factory(migrated=False)
    pms = plain_engine(url)
    with pms.begin() as c:
        c.execute(text("CREATE TABLE qloapps_config (hotel text PRIMARY KEY, channel_manager text)"))
        c.execute(text("INSERT INTO qloapps_config VALUES ('main', 'qloapps')"))
        c.execute(text("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"))
        c.execute(text("INSERT INTO alembic_version VALUES ('pms_3f2a')"))
    # When qlosync is installed into it
    with caplog.at_level(logging.WARNING, logger="qlosync.migrations"):
        migrate.upgrade(url)
    # Then qlosync works, in its own schema
    assert _save_and_load_a_shop(url, secret_key) == "http://shop.example"
    assert migrate.current_revision(make_engine(Settings(database_url=url))) == migrate.head_revision(url)
    # And the PMS's tables are untouched, and the database's search_path is left alone, saying why
    with pms.connect() as c:
        assert c.execute(text("SELECT * FROM qloapps_config")).all() == [("main", "qloapps")]
        assert c.scalar(text("SELECT version_num FROM alembic_version")) == "pms_3f2a"
        assert c.scalar(text(f"SELECT base_url FROM {DEFAULT_DB_SCHEMA}.qloapps_config")) == "http://shop.example"
        assert database_settings(c) == []
    assert any("shared" in record.getMessage() and "qloapps_config" in record.getMessage()
               for record in caplog.records), caplog.text
    # And a downgrade to a release that keeps its tables in public is refused before it changes anything
    with pytest.raises(RuntimeError, match="public already has qloapps_config"):
        migrate.downgrade(url, PREVIOUS_RELEASE_HEAD)
    with pms.connect() as c:
        assert c.scalar(text(f"SELECT count(*) FROM {DEFAULT_DB_SCHEMA}.qloapps_config")) == 1
    pms.dispose()


def test_a_schema_other_than_the_default(db_factory, secret_key):
    # Given QLOSYNC_DB_SCHEMA=hotel_sync
    url = db_factory(migrated=False)
    env = {"DATABASE_URL": url, "QLOSYNC_DB_SCHEMA": "hotel_sync"}
    # When `qlosync db upgrade` runs
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    # Then qlosync's tables, functions and version table are in hotel_sync, and nothing in a "qlosync" schema
    with plain_engine(url).connect() as c:
        assert "qloapps_config" in tables_in(c, "hotel_sync") and "alembic_version" in tables_in(c, "hotel_sync")
        assert c.scalar(text("SELECT to_regnamespace('qlosync')")) is None
        assert {place for place, _config in functions_in(c).values()} == {"hotel_sync"}
        assert {tuple(config) for _place, config in functions_in(c).values()} == {("search_path=hotel_sync, public",)}
        assert database_settings(c) == ["search_path=hotel_sync, public"]
        assert {name for name in tables_in(c, "public")} == {name for name in tables_in(c, "public")
                                                             if name.startswith("pms_")}
    assert model_differences(url, "hotel_sync") == []
    # And qlosync reads and writes there, and its CLI sees the schema as current
    assert _save_and_load_a_shop(url, secret_key, "hotel_sync") == "http://shop.example"
    current = CliRunner().invoke(cli, ["db", "current"], env=env)
    assert current.exit_code == 0 and "(run" not in current.output, current.output
    # And it goes down and up again
    migrate.downgrade(url, "base", schema="hotel_sync")
    with plain_engine(url).connect() as c:
        assert tables_in(c, "public") == set() and tables_in(c, "hotel_sync") == {"alembic_version"}
        assert database_settings(c) == []
    migrate.upgrade(url, schema="hotel_sync")
    assert model_differences(url, "hotel_sync") == []


def test_a_pms_writer_with_search_path_public_fills_the_outbox(database_url):
    # Given a migrated database with a reservation mapped to a QloApps order, written by qlosync
    qlosync_side = make_engine(Settings(database_url=database_url))
    writer = plain_engine(database_url)  # a PMS connection: search_path public, nothing of qlosync's
    with writer.begin() as c:
        assert c.scalar(text("SHOW search_path")) == "public"
        room_type = c.scalar(text("INSERT INTO pms_room_types (code, name) VALUES ('DLX', 'Deluxe') RETURNING id"))
        guest = c.scalar(text("INSERT INTO pms_guests (first_name, last_name) VALUES ('Ana', 'Lima') RETURNING id"))
        reservation = c.scalar(text("INSERT INTO pms_reservations (guest_id) VALUES (:g) RETURNING id"), {"g": guest})
        c.execute(text("INSERT INTO pms_reservation_lines (reservation_id, room_type_id, checkin, checkout) "
                       "VALUES (:r, :t, '2027-01-10', '2027-01-12')"), {"r": reservation, "t": room_type})
    with qlosync_side.begin() as c:
        shop = c.scalar(text(SHOP_SQL))
        mapping = c.scalar(text("INSERT INTO qloapps_reservation_mappings (config_id, pms_reservation_id, "
                                "qloapps_order_id, origin) VALUES (:s, :r, 41, 'pms') RETURNING id"),
                           {"s": shop, "r": reservation})
        c.execute(text("DELETE FROM pms_outbox"))
    # When the PMS writer changes the reservation and the availability, and deletes the reservation
    with writer.begin() as c:
        c.execute(text("UPDATE pms_reservations SET remarks = 'late arrival' WHERE id = :r"), {"r": reservation})
        c.execute(text("INSERT INTO pms_closed_nights (room_type_id, night) VALUES (:t, '2027-01-11')"),
                  {"t": room_type})
        c.execute(text("DELETE FROM pms_reservations WHERE id = :r"), {"r": reservation})
        touched = c.scalar(text("SELECT updated_at > created_at FROM pms_room_types WHERE id = :t"), {"t": room_type})
    # Then qlosync's triggers queued every change, and the delete carries the mapping found in qlosync's schema
    with writer.connect() as c:
        rows = c.execute(text("SELECT aggregate, aggregate_id, operation, payload FROM pms_outbox ORDER BY id")).all()
    queued = [(a, i, o) for a, i, o, _p in rows]
    assert [row for row in queued if row[0] == "reservation"] == [
        ("reservation", reservation, "update"), ("reservation", reservation, "cancel")]
    # (the closed night, then the stay it overlapped going away with the reservation's lines)
    assert [row for row in queued if row[0] == "room_type"] == [("room_type", room_type, "availability")] * 2
    assert [p for a, _i, o, p in rows if o == "cancel"] == [{"deleted": True, "mapping_ids": [mapping]}]
    assert touched is not None
    qlosync_side.dispose()
    writer.dispose()
