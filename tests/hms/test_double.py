"""The test double (schema.sql) takes and refuses rows as that PMS's migrated database does.

Each refusal below was seen on a database migrated with the PMS's own 53 migrations; the digest states few of
them, and an adapter tried only on a laxer double would fail there (a varchar that overflows, a column that is
not there, a delete a RESTRICT refuses).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg.errors
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from tests.hms.double import load_double

DEFAULT_HOTEL = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def double(db_factory) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = load_double(db_factory(migrated=False))
    yield engine
    engine.dispose()


def insert(connection: Connection, table: str, **values: object) -> str:
    columns = ", ".join(values)
    placeholders = ", ".join(f":{name}" for name in values)
    row_id: str = connection.execute(
        text(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id::text"), values).scalar_one()
    return row_id


@pytest.fixture
def booked(double: Engine) -> dict[str, str]:
    """A room type with one room, a guest and a reservation with its Primary row, written with the NOT NULL
    columns that have no default and nothing more."""
    with double.begin() as connection:
        hotel = DEFAULT_HOTEL
        guest = insert(connection, "guests", hotel_id=hotel, name="Ada Lovelace")
        room_type = insert(connection, "room_types", hotel_id=hotel, name="Double", room_type="double",
                           price_per_night=80)
        room = insert(connection, "rooms", hotel_id=hotel, room_number="double-1", room_type_id=room_type,
                      type="Double", room_type="double", price_per_night=80, floor=1)
        reservation = insert(connection, "reservations", hotel_id=hotel, primary_guest_id=guest,
                             room_type_id=room_type, check_in="2030-05-01", check_out="2030-05-03",
                             total_amount=160)
        insert(connection, "reservation_guests", hotel_id=hotel, reservation_id=reservation, guest_id=guest)
    return {"guest": guest, "room_type": room_type, "room": room, "reservation": reservation}


def test_the_defaults_fill_the_rest(double: Engine, booked: dict[str, str]) -> None:
    with double.connect() as connection:
        reservation = connection.execute(text(
            "SELECT status, source, units_requested, num_child, created_at IS NOT NULL AS stamped "
            "FROM reservations WHERE id = :id"), {"id": booked["reservation"]}).one()
        room = connection.execute(text("SELECT status, qty FROM rooms WHERE id = :id"), {"id": booked["room"]}).one()
        room_type = connection.execute(text("SELECT qty, unit_allocation FROM room_types WHERE id = :id"),
                                       {"id": booked["room_type"]}).one()
        guest_type = connection.execute(text("SELECT guest_type FROM reservation_guests")).scalar_one()
    assert tuple(reservation) == ("Confirmed", "Direct", 1, 0, True)
    assert tuple(room) == ("Available", 1)
    assert tuple(room_type) == (1, "perBooking")
    assert guest_type == "Primary"


REFUSED = [
    # The legacy room columns are NOT NULL without a default.
    ("INSERT INTO rooms (hotel_id, room_number, type, room_type, price_per_night) "
     "VALUES (:hotel, 'x-1', 'Double', 'double', 80)", psycopg.errors.NotNullViolation),
    ("UPDATE rooms SET type = 'Twin'", psycopg.errors.CheckViolation),
    ("UPDATE reservations SET channel = repeat('b', 51)", psycopg.errors.StringDataRightTruncation),
    ("UPDATE reservations SET reference = repeat('r', 101)", psycopg.errors.StringDataRightTruncation),
    ("UPDATE reservations SET source = 'Airbnb'", psycopg.errors.CheckViolation),
    ("UPDATE reservations SET check_out = check_in", psycopg.errors.CheckViolation),
    ("UPDATE reservation_guests SET updated_at = now()", psycopg.errors.UndefinedColumn),
    ("UPDATE reservation_guests SET guest_type = 'Child'", psycopg.errors.CheckViolation),
    ("INSERT INTO reservation_guests (hotel_id, reservation_id, guest_id) "
     "SELECT hotel_id, reservation_id, guest_id FROM reservation_guests", psycopg.errors.UniqueViolation),
    ("INSERT INTO rooms (hotel_id, room_number, type, room_type, price_per_night, floor) "
     "VALUES (:hotel, 'double-1', 'Double', 'double', 80, 1)", psycopg.errors.UniqueViolation),
    ("UPDATE room_types SET qty = 100", psycopg.errors.CheckViolation),
    ("DELETE FROM room_types", psycopg.errors.ForeignKeyViolation),
    # A guest named only by a reservation_guests row still cannot go: RESTRICT there too.
    ("INSERT INTO guests (id, hotel_id, name) VALUES ('11111111-1111-1111-1111-111111111111', :hotel, 'B'); "
     "INSERT INTO reservation_guests (hotel_id, reservation_id, guest_id, guest_type) "
     "SELECT hotel_id, reservation_id, '11111111-1111-1111-1111-111111111111', 'Secondary' FROM reservation_guests; "
     "DELETE FROM guests WHERE id = '11111111-1111-1111-1111-111111111111'", psycopg.errors.ForeignKeyViolation),
    ("INSERT INTO hotels (hotel_name) VALUES (NULL)", psycopg.errors.NotNullViolation),
]


@pytest.mark.parametrize(("sql", "error"), REFUSED)
def test_what_the_pms_refuses_the_double_refuses(double: Engine, booked: dict[str, str], sql: str,
                                                  error: type[Exception]) -> None:
    with pytest.raises(DBAPIError) as raised, double.begin() as connection:
        for statement in sql.split("; "):
            connection.execute(text(statement), {"hotel": DEFAULT_HOTEL})
    assert isinstance(raised.value.orig, error), raised.value.orig


def test_a_checked_in_reservation_cannot_be_deleted_nor_checked_in_twice(double: Engine,
                                                                         booked: dict[str, str]) -> None:
    check_in = ("INSERT INTO check_ins (hotel_id, reservation_id, actual_room_id, check_in_time) "
                "VALUES (:hotel, :reservation, :room, now())")
    params = {"hotel": DEFAULT_HOTEL, "reservation": booked["reservation"], "room": booked["room"]}
    with double.begin() as connection:
        connection.execute(text(check_in), params)
    with pytest.raises(DBAPIError) as twice, double.begin() as connection:
        connection.execute(text(check_in), params)
    assert isinstance(twice.value.orig, psycopg.errors.UniqueViolation)
    with pytest.raises(DBAPIError) as deleted, double.begin() as connection:
        connection.execute(text("DELETE FROM reservations"))
    assert isinstance(deleted.value.orig, psycopg.errors.ForeignKeyViolation)


def test_the_mapping_tables_keep_their_own_updated_at(double: Engine, booked: dict[str, str]) -> None:
    with double.begin() as connection:
        insert(connection, "qloapps_room_type_mappings", hotel_id=DEFAULT_HOTEL,
               local_room_type_id=booked["room_type"], qloapps_product_id="11", qloapps_hotel_id="1",
               updated_at="2001-01-01T00:00:00Z")
    with double.begin() as connection:
        connection.execute(text("UPDATE qloapps_room_type_mappings SET qloapps_product_id = '12'"))
        year = connection.execute(text(
            "SELECT extract(year FROM updated_at)::int FROM qloapps_room_type_mappings")).scalar_one()
    assert year > 2001
