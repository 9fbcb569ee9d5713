"""`qlosync pms check`: the hotelmanangement schema check on the test double, and the built-in PMS's check.

The double (schema.sql) was written from the digest, then checked against a database migrated with that PMS's
own 53 migrations (catalogs compared; constraint and index names are the real ones, so the DDL below names them
as there); that migrated database passes the check too (`qlosync pms check`, run by hand: the tests do not run
the PMS's node tooling).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine

from qlosync.cli import cli
from qlosync.pms import ADAPTERS
from qlosync.pms.builtin.check import check as check_builtin
from qlosync.pms.checks import SCHEMA_CHECKS
from qlosync.pms.hotelmanangement.schema import TABLES, check
from tests.hms.double import load_double


@pytest.fixture
def empty_url(db_factory) -> str:  # type: ignore[no-untyped-def]
    url: str = db_factory(migrated=False)
    return url


@pytest.fixture
def double(empty_url: str) -> Iterator[Engine]:
    engine = load_double(empty_url)
    yield engine
    engine.dispose()


def problems_after(engine: Engine, ddl: str) -> list[str]:
    with engine.begin() as connection:
        connection.exec_driver_sql(ddl)
    with engine.connect() as connection:
        return check(connection)


def run(url: str, *args: str, pms: str | None = None) -> Result:
    env = {"DATABASE_URL": url, "QLOSYNC_PMS": pms}
    return CliRunner().invoke(cli, ["pms", "check", *args], env=env)


def test_the_double_is_drivable(double: Engine) -> None:
    with double.connect() as connection:
        assert check(connection) == []


def test_the_check_covers_these_tables() -> None:
    # A table added to or dropped from the schema module shows here (and, missing from the double, above).
    assert {table.name for table in TABLES} == {
        "hotels", "guests", "room_types", "rooms", "reservations", "reservation_guests", "qloapps_config",
        "qloapps_reservation_mappings", "qloapps_customer_mappings", "qloapps_room_type_mappings",
        "qloapps_room_mappings"}


@pytest.mark.parametrize(("ddl", "expected"), [
    ("DROP TABLE reservation_guests", "table reservation_guests missing"),
    ("ALTER TABLE reservations DROP COLUMN units_requested", "column reservations.units_requested missing"),
    ("ALTER TABLE guests DROP COLUMN deleted_at", "column guests.deleted_at missing"),
    ("ALTER TABLE reservations DROP CONSTRAINT reservations_hotel_id_foreign, ALTER COLUMN hotel_id TYPE text",
     "column reservations.hotel_id is text, expected uuid"),
    ("ALTER TABLE room_types ALTER COLUMN price_per_night TYPE double precision",
     "column room_types.price_per_night is double precision, expected numeric"),
    ("ALTER TABLE guests ALTER COLUMN hotel_id DROP NOT NULL", "column guests.hotel_id allows NULL, expected NOT NULL"),
    ("ALTER TABLE reservations DROP CONSTRAINT check_reservations_status; "
     "ALTER TABLE reservations ADD CHECK (status IN ('Confirmed', 'Checked-in', 'Checked-out'))",
     "CHECK on reservations.status lacks 'Cancelled'"),
    ("ALTER TABLE reservations DROP CONSTRAINT check_reservations_source; "
     "ALTER TABLE reservations ADD CHECK (source IN ('Direct', 'Beds24', 'Booking.com', 'Expedia', 'Other'))",
     "CHECK on reservations.source lacks 'QloApps'"),
    ("ALTER TABLE rooms DROP CONSTRAINT check_rooms_status",
     "no CHECK on rooms.status (expected one allowing Available, Occupied, Cleaning, Out of Service)"),
    # A unique index, not a constraint, in that PMS.
    ("DROP INDEX idx_reservation_guests_unique",
     "no unique constraint on reservation_guests (reservation_id, guest_id)"),
    ("ALTER TABLE reservations ADD COLUMN beds24_property text NOT NULL",
     "column reservations.beds24_property is NOT NULL without a default, and the adapter does not write it"),
    # The adapter creates rooms: a new NOT NULL column there would make that fail.
    ("ALTER TABLE rooms ADD COLUMN wing text NOT NULL",
     "column rooms.wing is NOT NULL without a default, and the adapter does not write it"),
    ("ALTER TABLE rooms DROP CONSTRAINT check_rooms_type; "
     "ALTER TABLE rooms ADD CHECK (type IN ('Single', 'Double', 'General', 'Other'))",
     "CHECK on rooms.type lacks 'Suite'"),
    ("ALTER TABLE qloapps_customer_mappings DROP CONSTRAINT qloapps_customer_mappings_pkey",
     "primary key of qloapps_customer_mappings is (none), expected (id)"),
])
def test_the_check_names_what_is_missing_or_different(double: Engine, ddl: str, expected: str) -> None:
    assert problems_after(double, ddl) == [expected]


def test_a_not_null_column_without_default_on_a_table_only_read_is_fine(double: Engine) -> None:
    # qlosync reads the PMS's QloApps config rows and updates their sync state, never inserts one.
    assert problems_after(double, "ALTER TABLE qloapps_config ADD COLUMN wing text NOT NULL") == []


def test_a_table_in_another_schema_is_not_taken(double: Engine) -> None:
    with double.connect() as connection:
        problems = check(connection, schema="elsewhere")
    assert problems == [f"table {table.name} missing" for table in TABLES]


def test_cli_ok_on_the_double(double: Engine, empty_url: str) -> None:
    result = run(empty_url, "--pms", "hotelmanangement")
    assert result.exit_code == 0, result.output
    assert result.output == "ok: the database is a hotelmanangement PMS qlosync can drive\n"


def test_cli_lists_the_problems_and_exits_1(double: Engine, empty_url: str) -> None:
    problems_after(double, "DROP TABLE reservation_guests; ALTER TABLE guests DROP COLUMN name")
    result = run(empty_url, "--pms", "hotelmanangement")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:2] == ["column guests.name missing", "table reservation_guests missing"]
    assert "not a hotelmanangement PMS qlosync can drive (2 problems)" in lines[2]


def test_cli_hotelmanangement_on_a_qlosync_database_fails(db_factory) -> None:  # type: ignore[no-untyped-def]
    result = run(db_factory(), "--pms", "hotelmanangement")
    assert result.exit_code == 1
    assert "table reservations missing" in result.output.splitlines()


def test_a_freshly_migrated_database_passes_builtin(db_factory) -> None:  # type: ignore[no-untyped-def]
    url = db_factory()
    result = run(url, "--pms", "builtin")
    assert result.exit_code == 0, result.output
    assert result.output == "ok: the database is a builtin PMS qlosync can drive\n"
    # QLOSYNC_PMS is the default.
    assert run(url, pms="builtin").output == result.output


def test_builtin_on_an_unmigrated_database_says_to_migrate(empty_url: str) -> None:
    result = run(empty_url)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "no table of the built-in PMS in public (run `qlosync db upgrade`)"


def test_builtin_names_a_missing_column(db_factory) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(db_factory())
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE public.pms_guests DROP COLUMN first_name CASCADE")
        with engine.connect() as connection:
            assert check_builtin(connection) == ["column pms_guests.first_name missing (run `qlosync db upgrade`)"]
    finally:
        engine.dispose()


def test_every_adapter_has_a_schema_check() -> None:
    assert set(ADAPTERS) <= set(SCHEMA_CHECKS)
