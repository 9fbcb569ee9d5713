"""Helpers for sync tests: compare the PMS with the simulator's own tables, and fingerprint writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from qlosync.db.models import QloAppsReservationMapping, QloAppsRoomMapping
from qlosync.db.session import transaction
from qlosync.pms import open_pms
from qlosync.sync.inbound.mapper import ORDER_STATE_TO_STATUS

WRITE_TABLES = (
    "pms_guests", "pms_reservations", "pms_reservation_lines", "qloapps_reservation_mappings",
    "qloapps_room_line_mappings", "qloapps_customer_mappings", "qloapps_sync_logs", "qloapps_sync_cursor",
)


def write_fingerprint(session: Session) -> dict[str, object]:
    """Row count plus the newest xmin of every table sync writes: any insert, update or delete changes it."""
    fingerprint: dict[str, object] = {}
    for table in WRITE_TABLES:
        fingerprint[table] = session.execute(
            text(f"SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM {table}")
        ).one()
    return fingerprint


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


def expected_booking(sim, order_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What the PMS should hold for one simulator order, read from the simulator's own tables."""
    order = sim.store.table("orders")[order_id]
    customer = sim.store.table("customers")[order["id_customer"]]
    lines = [r for r in sim.store.table("room_bookings").values() if r["id_order"] == order_id]
    status = ORDER_STATE_TO_STATUS[order["current_state"]]
    if status not in ("cancelled", "refunded"):
        lines = [r for r in lines if not int(r["is_cancelled"])] or lines
    return {
        "status": status,
        "email": customer["email"],
        "name": (customer["firstname"], customer["lastname"]),
        "lines": sorted(
            (
                _day(r["date_from"]), _day(r["date_to"]), r["room_num"], int(r["adults"]), int(r["children"]),
                Decimal(str(r["total_price_tax_excl"])).quantize(Decimal("0.01")),
                (Decimal(str(r["total_price_tax_incl"])) - Decimal(str(r["total_price_tax_excl"]))).quantize(Decimal("0.01")),
            )
            for r in lines
        ),
        "total_paid": Decimal(str(order["total_paid_real"])).quantize(Decimal("0.01")),
    }


def actual_booking(session: Session, config_id: int, order_id: int) -> dict[str, object]:
    """What the PMS holds for one QloApps order, read through the port (so for every adapter alike)."""
    reservation_id = session.scalars(select(QloAppsReservationMapping.pms_reservation_id).where(
        QloAppsReservationMapping.config_id == config_id, QloAppsReservationMapping.qloapps_order_id == order_id)).one()
    assert reservation_id is not None
    pms = open_pms(session)
    hotel_id = pms.hotels_of_reservations([reservation_id])[reservation_id]
    state = pms.hotel(hotel_id).reservation_states([reservation_id])[reservation_id]
    room_numbers = {room_id: number for room_id, number in session.execute(
        select(QloAppsRoomMapping.pms_room_id, QloAppsRoomMapping.room_number)
        .where(QloAppsRoomMapping.config_id == config_id))}
    return {
        "status": state.status,
        "email": state.guest.email,
        "name": (state.guest.first_name, state.guest.last_name),
        "lines": sorted(
            (line.checkin, line.checkout, room_numbers.get(line.room_id or ""), line.adults, line.children,
             line.price_without_tax, line.tax)
            for line in state.lines
        ),
        "total_paid": state.total_paid.quantize(Decimal("0.01")),
    }


def request_like(client, template_order_id: int, room_types):  # type: ignore[no-untyped-def]
    """A new booking request for the customer of an existing booking, with the given room types and stays."""
    from dataclasses import replace

    from qlosync.qloapps import bodies

    request = bodies.request_from_booking(client.get_booking(template_order_id), 1)
    return replace(request, id=None, room_types=room_types)


def move_booking(client, order_id: int, days: int) -> None:  # type: ignore[no-untyped-def]
    """Shift every stay of a booking by *days* through PUT, like capture 100: rooms are not pinned, so
    QloApps picks rooms again and gives the lines new ids (B24)."""
    from dataclasses import replace
    from datetime import timedelta

    from qlosync.qloapps import bodies
    from qlosync.qloapps.models import RoomRequest, RoomTypeRequest

    request = bodies.request_from_booking(client.get_booking(order_id), None)
    moved = tuple(
        RoomTypeRequest(rt.id_room_type, rt.checkin_date + timedelta(days=days), rt.checkout_date + timedelta(days=days),
                        rooms=tuple(RoomRequest(adults=r.adults) for r in rt.rooms))
        for rt in request.room_types
    )
    client.update_booking(replace(request, room_types=moved))


def pms_guest_name(session_factory, config_id: int, order_id: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(first, last) name of the PMS guest on the reservation QloApps order *order_id* became."""
    with transaction(session_factory) as session:
        reservation_id = session.scalars(select(QloAppsReservationMapping.pms_reservation_id).where(
            QloAppsReservationMapping.config_id == config_id,
            QloAppsReservationMapping.qloapps_order_id == order_id)).one()
        pms = open_pms(session)
        hotel_id = pms.hotels_of_reservations([reservation_id])[reservation_id]
        guest = pms.hotel(hotel_id).reservation_states([reservation_id])[reservation_id].guest
        return guest.first_name, guest.last_name
