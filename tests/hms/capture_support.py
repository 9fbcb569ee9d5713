"""For the change-capture tests: a database with the hotelmanangement double and qlosync's schema migrated with
QLOSYNC_PMS=hotelmanangement (so the capture is installed), and writes to the PMS's tables in plain SQL, as that
PMS's API makes them (uuid ids, hotel_id on every row, a reservation and its Primary guest row together)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from qlosync.db import migrate
from qlosync.db.session import make_engine
from qlosync.pms.hotelmanangement.changes import ARI_DAYS
from qlosync.settings import Settings
from tests.conftest import RUN_ID, database_url_for
from tests.hms.double import load_double

HOTEL = "00000000-0000-0000-0000-000000000000"  # the PMS's default hotel (its migration makes it)
HMS = "hotelmanangement"


def hms_database(url: str) -> None:
    """Load the double into the (empty) database *url*, then migrate it as a deployment beside that PMS would."""
    load_double(url).dispose()
    migrate.upgrade(url, pms=HMS)


def create_hms_database(pg_admin: Engine) -> tuple[str, str]:
    """(name, url) of a new database holding the double and qlosync's schema (the caller drops it)."""
    name = f"qlosync_test_{RUN_ID}_{uuid.uuid4().hex[:8]}_hms"
    with pg_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = database_url_for(name)
    hms_database(url)
    return name, url


def drop_database(pg_admin: Engine, name: str) -> None:
    with pg_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def qlosync_engine(url: str) -> Engine:
    """qlosync's engine (search_path: its schema, then public)."""
    return make_engine(Settings(database_url=url, pms=HMS))


def new_id() -> str:
    return str(uuid.uuid4())


def horizon() -> tuple[str, str]:
    """The nights a rate or room change is captured for: today (UTC) and ARI_DAYS - 1 more."""
    today = datetime.now(UTC).date()
    return today.isoformat(), (today + timedelta(days=ARI_DAYS - 1)).isoformat()


def add_guest(connection: Connection, name: str = "Ann Lee", email: str | None = None, hotel: str = HOTEL) -> str:
    guest = new_id()
    connection.execute(text("INSERT INTO public.guests (id, hotel_id, name, email) VALUES (:id, :hotel, :name, :email)"),
                       {"id": guest, "hotel": hotel, "name": name, "email": email})
    return guest


def add_room_type(connection: Connection, qty: int = 2, price: int = 100, hotel: str = HOTEL) -> str:
    """A room type and its qty rooms, as the PMS's API creates them."""
    room_type = new_id()
    connection.execute(text(
        "INSERT INTO public.room_types (id, hotel_id, name, room_type, qty, price_per_night) "
        "VALUES (:id, :hotel, :name, 'double', :qty, :price)"),
        {"id": room_type, "hotel": hotel, "name": f"Double {room_type[:8]}", "qty": qty, "price": price})
    for number in range(1, qty + 1):
        add_room(connection, room_type, f"{room_type[:8]}-{number}", hotel=hotel)
    return room_type


def add_room(connection: Connection, room_type: str | None, number: str, hotel: str = HOTEL) -> str:
    room = new_id()
    connection.execute(text(
        "INSERT INTO public.rooms (id, hotel_id, room_number, type, price_per_night, floor, room_type, room_type_id) "
        "VALUES (:id, :hotel, :number, 'Double', 100, 1, 'double', :room_type)"),
        {"id": room, "hotel": hotel, "number": number, "room_type": room_type})
    return room


def add_reservation(connection: Connection, guest: str, room_type: str, check_in: date, check_out: date,
                    units: int = 1, hotel: str = HOTEL) -> str:
    """A reservation and its Primary reservation_guests row, in the caller's transaction (as the API does)."""
    reservation = new_id()
    nights = (check_out - check_in).days
    connection.execute(text(
        "INSERT INTO public.reservations (id, hotel_id, primary_guest_id, room_type_id, units_requested, check_in, "
        "check_out, total_amount, source) VALUES (:id, :hotel, :guest, :room_type, :units, :check_in, :check_out, "
        "100 * :nights * :units, 'Direct')"),
        {"id": reservation, "hotel": hotel, "guest": guest, "room_type": room_type, "units": units,
         "check_in": check_in, "check_out": check_out, "nights": nights})
    connection.execute(text(
        "INSERT INTO public.reservation_guests (hotel_id, reservation_id, guest_id, guest_type) "
        "VALUES (:hotel, :reservation, :guest, 'Primary')"), {"hotel": hotel, "reservation": reservation, "guest": guest})
    return reservation


@dataclass(frozen=True)
class Row:
    aggregate: str
    aggregate_id: str
    operation: str
    payload: dict[str, Any]


def outbox(engine: Engine) -> list[Row]:
    with engine.connect() as connection:
        return [Row(*row) for row in connection.execute(text(
            "SELECT aggregate, aggregate_id, operation, payload FROM hms_outbox ORDER BY id"))]


def clear_outbox(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM hms_outbox"))
        connection.execute(text("DELETE FROM hms_reservation_groups"))


def nights(first: date, last: date) -> dict[str, str]:
    """An availability payload: first..last night, inclusive."""
    return {"from": first.isoformat(), "to": last.isoformat()}
