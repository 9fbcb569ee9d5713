"""The hotelmanangement PMS left as its TypeScript QloApps workers left it, with the simulator's bookings: the world
`qlosync adopt` is tried on (tests/hms/test_adopt.py, test_adopt_then_sync.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from qlosync.cli import cli
from qlosync.db.session import make_engine
from qlosync.pms.hotelmanangement.workers_key import master_key
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import BookingRequest, CustomerDetail, RoomRequest, RoomTypeRequest
from qlosync.secrets import Secret
from qlosync.settings import Settings
from tests.conftest import TEST_API_KEY
from tests.hms.workers import WORKERS_ENCRYPTION_KEY, WorkersPms, encrypted_key, workers_encrypt

CHECKIN = date.today() + timedelta(days=30)


def book(client: QloAppsClient, email: str, *room_types: int) -> int:
    request = BookingRequest(
        id_property=1, currency="USD", source="webservice",
        customer=CustomerDetail("Sam", "Rivera", email, "+1 555 010 2030"),
        room_types=tuple(RoomTypeRequest(room_type, CHECKIN, CHECKIN + timedelta(days=2),
                                         rooms=(RoomRequest(adults=2),)) for room_type in room_types))
    return client.create_booking(request).id


@dataclass
class TakenOver:
    """The PMS as the workers left it, and what the test needs to know of it."""

    url: str
    engine: Engine  # on the double (plain connections)
    qlosync: Engine  # qlosync's own (its search_path)
    secret_key: Secret
    pms: WorkersPms
    base_url: str
    hotel: str
    other_hotel: str
    room_types: dict[str, str]  # name -> PMS id
    rooms: dict[str, str]
    guest: str
    customer: int
    reservations: dict[str, str]  # a, b1, b2, c, unknown -> PMS id
    orders: dict[str, int]  # a, b, c -> QloApps order id
    lines: dict[str, int]  # a, b1, b2 -> room_bookings id

    def run(self, *args: str, encryption_key: str | None = WORKERS_ENCRYPTION_KEY, **env: str | None) -> Result:
        environ = {"DATABASE_URL": self.url, "QLOSYNC_SECRET_KEY": self.secret_key.reveal(),
                   "ENCRYPTION_KEY": encryption_key, "NODE_ENV": None, "QLOSYNC_PMS": None, **env}
        result = CliRunner().invoke(cli, ["adopt", *args], env=environ)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def snapshot(self) -> dict[str, list[Any]]:
        """Every row adopting may write (qlosync's tables) or must not (the PMS's), as text."""
        tables = ["qloapps_config", "qloapps_room_type_mappings", "qloapps_room_mappings", "qloapps_customer_mappings",
                  "qloapps_reservation_mappings", "qloapps_room_line_mappings", "hms_reservation_groups"]
        names = [f"qlosync.{name}" for name in tables] + [f"public.{name}" for name in (
            "qloapps_config", "qloapps_room_type_mappings", "qloapps_room_mappings", "qloapps_customer_mappings",
            "qloapps_reservation_mappings", "reservations")]
        with self.engine.connect() as connection:
            return {name: sorted(str(tuple(row)) for row in connection.execute(text(f"SELECT * FROM {name}")))
                    for name in names}


@contextmanager
def workers_world(url: str, engine: Engine, simulator: Any, secret_key: Secret,
                  pms_kind: str = "builtin") -> Iterator[TakenOver]:
    """The PMS on *url* (the double with qlosync's schema) filled as the workers left it, with the simulator."""
    qlosync = make_engine(Settings(database_url=url, secret_key=secret_key, pms=pms_kind))
    pms = WorkersPms(engine)
    with QloAppsClient(simulator.base_url, Secret(TEST_API_KEY)) as client:
        # The workers' table is unique on the text of an order id or room_bookings id: c first keeps them apart.
        orders = {"c": book(client, "sam@example.com", 1), "a": book(client, "sam@example.com", 2),
                  "b": book(client, "sam@example.com", 1, 2)}
        customer = client.get_orders([orders["a"]])[0].id_customer
        by_order = {(line.id_order, line.id_product): line.id
                    for line in client.get_room_bookings_for_orders([orders["a"], orders["b"]])}
    lines = {"a": by_order[(orders["a"], 2)], "b1": by_order[(orders["b"], 1)], "b2": by_order[(orders["b"], 2)]}

    hotel = pms.hotel("Seaside Inn")
    room_types = {"general": pms.room_type(hotel, "General"), "delux": pms.room_type(hotel, "Delux"),
                  "old": pms.room_type(hotel, "Old wing", deleted=True)}
    rooms = {"gr-101": pms.room(hotel, room_types["general"], "GR-101"),
             "dr-101": pms.room(hotel, room_types["delux"], "DR-101")}
    guest = pms.guest(hotel, "Sam Rivera", "sam@example.com")
    reservations = {"a": pms.reservation(hotel, guest, room_types["delux"], CHECKIN),
                    "b1": pms.reservation(hotel, guest, room_types["general"], CHECKIN),
                    "b2": pms.reservation(hotel, guest, room_types["delux"], CHECKIN),
                    "c": pms.reservation(hotel, guest, room_types["general"], CHECKIN, source="Direct"),
                    "unknown": pms.reservation(hotel, guest, room_types["general"], CHECKIN)}
    pms.config(hotel, simulator.base_url, encrypted_key(Secret(TEST_API_KEY)))
    pms.map_room_type(hotel, room_types["general"], 1)
    pms.map_room_type(hotel, room_types["delux"], 2)
    pms.map_room_type(hotel, room_types["old"], 3)
    pms.map_room(hotel, rooms["gr-101"], room_types["general"], 1)
    pms.map_room(hotel, rooms["dr-101"], room_types["delux"], 6)
    pms.map_customer(hotel, guest, customer)
    # b2 is recorded before b1 (the workers' rows are in no particular order); b1 is the older reservation.
    pms.map_reservation(hotel, reservations["a"], lines["a"], "qloapps")
    pms.map_reservation(hotel, reservations["b2"], lines["b2"], "qloapps")
    pms.map_reservation(hotel, reservations["b1"], lines["b1"], "qloapps")
    pms.map_reservation(hotel, reservations["c"], orders["c"], "pms")
    pms.map_reservation(hotel, reservations["unknown"], 99999, "qloapps")

    other_hotel = pms.hotel("Hill Lodge")
    pms.config(other_hotel, simulator.base_url, workers_encrypt(TEST_API_KEY, master_key("another passphrase")),
               qloapps_hotel_id=2)
    try:
        yield TakenOver(url, engine, qlosync, secret_key, pms, simulator.base_url, hotel, other_hotel, room_types,
                        rooms, guest, customer, reservations, orders, lines)
    finally:
        qlosync.dispose()
