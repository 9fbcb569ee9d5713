"""Migration 0011: PMS ids are text in qlosync's tables, and the built-in PMS has hotels.

Written as a PMS writer would (plain SQL on search_path public), since that is who the triggers serve."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from qlosync.db import migrate
from tests.integration.schema_support import plain_engine


@pytest.fixture
def pms_sql(database_url):  # type: ignore[no-untyped-def]
    engine = plain_engine(database_url)
    yield engine
    engine.dispose()


def _shop(connection) -> int:  # type: ignore[no-untyped-def]
    return connection.scalar(text(
        "INSERT INTO qlosync.qloapps_config (name, base_url, api_key_encrypted, sync_enabled, id_hotel, "
        "conflict_strategy) VALUES ('s', 'http://shop.test', '\\x00', false, 1, 'qloapps_wins') RETURNING id"))


def test_a_writer_that_names_no_hotel_gets_the_only_one_and_is_refused_once_there_are_two(pms_sql):
    with pms_sql.begin() as c:
        assert c.execute(text("SELECT id, name FROM pms_hotels")).all() == [(1, "Default hotel")]
        c.execute(text("INSERT INTO pms_room_types (code, name) VALUES ('DBL', 'Double')"))
        assert c.scalar(text("SELECT hotel_id FROM pms_room_types WHERE code = 'DBL'")) == 1
        second = c.scalar(text("INSERT INTO pms_hotels (name) VALUES ('Seaside') RETURNING id"))
        # The same code and room number in another hotel is another room type and room
        c.execute(text("INSERT INTO pms_room_types (hotel_id, code, name) VALUES (:h, 'DBL', 'Double')"),
                  {"h": second})
    with pytest.raises(DBAPIError, match="must name its hotel_id: the PMS has 2 hotels"), pms_sql.begin() as c:
        c.execute(text("INSERT INTO pms_guests (first_name, last_name) VALUES ('Ann', 'Lee')"))
    with pytest.raises(DBAPIError, match="uq_pms_room_types_hotel_id_code"), pms_sql.begin() as c:
        c.execute(text("INSERT INTO pms_room_types (hotel_id, code, name) VALUES (1, 'DBL', 'Again')"))


def test_deleting_pms_rows_does_what_the_foreign_keys_did(pms_sql):
    with pms_sql.begin() as c:
        config = _shop(c)
        room_type = c.scalar(text("INSERT INTO pms_room_types (code, name) VALUES ('T', 'Twin') RETURNING id"))
        guest = c.scalar(text("INSERT INTO pms_guests (first_name, last_name) VALUES ('A', 'B') RETURNING id"))
        reservation = c.scalar(text("INSERT INTO pms_reservations (guest_id) VALUES (:g) RETURNING id"),
                               {"g": guest})
        c.execute(text("INSERT INTO qlosync.qloapps_room_type_mappings (config_id, qloapps_room_type_id, "
                       "qloapps_hotel_id, pms_room_type_id) VALUES (:c, 7, 1, :t)"), {"c": config, "t": str(room_type)})
        mapping = c.scalar(text(
            "INSERT INTO qlosync.qloapps_reservation_mappings (config_id, qloapps_order_id, pms_reservation_id, "
            "origin) VALUES (:c, 70, :r, 'qloapps') RETURNING id"), {"c": config, "r": str(reservation)})
        c.execute(text("DELETE FROM pms_reservations WHERE id = :r"), {"r": reservation})
        c.execute(text("DELETE FROM pms_room_types WHERE id = :t"), {"t": room_type})
        assert c.scalar(text("SELECT pms_reservation_id FROM qlosync.qloapps_reservation_mappings WHERE id = :m"),
                        {"m": mapping}) is None
        assert c.scalar(text("SELECT count(*) FROM qlosync.qloapps_room_type_mappings")) == 0
        # The delete's change still names the mapping it unlinked, so the push can cancel the QloApps order
        assert c.scalar(text("SELECT payload -> 'mapping_ids' FROM pms_outbox WHERE aggregate_id = :r "
                             "AND operation = 'cancel'"), {"r": reservation}) == [mapping]


def test_a_pms_id_that_is_not_an_integer_fits_and_stops_a_downgrade(pms_sql, database_url, engine, builtin_pms):
    with pms_sql.begin() as c:
        config = _shop(c)
        c.execute(text("INSERT INTO qlosync.qloapps_customer_mappings (config_id, qloapps_customer_id, pms_guest_id, "
                       "match_method) VALUES (:c, 5, '0b7e6f4e-5d1c-4c58-9a43-1f0c2d3e4a5b', 'email')"),
                  {"c": config})
    with pytest.raises(RuntimeError, match="pms_guest_id holds an id that is not an integer"):
        migrate.downgrade(database_url, "0010")
    assert migrate.current_revision(engine) == migrate.head_revision(database_url)
