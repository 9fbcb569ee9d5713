"""Helpers for sync tests: compare the PMS with the simulator's own tables, and fingerprint writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from qlosync.db.models import QloAppsReservationMapping, QloAppsRoomMapping, QloAppsRoomTypeMapping
from qlosync.db.session import transaction
from qlosync.pms import open_pms, shop_hotel
from qlosync.pms.port import Guest, GuestState, PmsId, PmsState
from qlosync.sync.inbound.mapper import ORDER_STATE_TO_STATUS
from tests.pms_desk import BookedLine, desk_for

#: qlosync's own tables a sync writes; the PMS's are its front desk's (tests/pms_desk.py write_fingerprint).
WRITE_TABLES = (
    "qloapps_reservation_mappings", "qloapps_room_line_mappings", "qloapps_customer_mappings", "qloapps_sync_logs",
    "qloapps_sync_cursor",
)


def write_fingerprint(session: Session) -> dict[str, object]:
    """Row count plus the newest xmin of every qlosync table sync writes, and the PMS desk's fingerprint of its
    own: any committed insert, update or delete changes it. The PMS part is read on a connection of its own,
    so call it where the writes to compare are committed."""
    fingerprint: dict[str, object] = {}
    for table in WRITE_TABLES:
        fingerprint[table] = session.execute(
            text(f"SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM {table}")
        ).one()
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    fingerprint.update(desk_for(engine).write_fingerprint())  # keyed as the desk names them
    return fingerprint


def reservation_of_order(session: Session, order_id: int, config_id: int | None = None) -> PmsId:
    """The PMS reservation QloApps order *order_id* became (of shop *config_id*, else of the only shop)."""
    query = select(QloAppsReservationMapping.pms_reservation_id).where(
        QloAppsReservationMapping.qloapps_order_id == order_id)
    if config_id is not None:
        query = query.where(QloAppsReservationMapping.config_id == config_id)
    reservation_id = session.scalars(query).one()
    assert reservation_id is not None
    return reservation_id


def reservation_state(session: Session, reservation_id: PmsId) -> PmsState:
    """A PMS reservation as it is now, read through the port in whichever hotel holds it."""
    pms = open_pms(session)
    hotel_id = pms.hotels_of_reservations([reservation_id])[reservation_id]
    return pms.hotel(hotel_id).reservation_states([reservation_id])[reservation_id]


def guest_of_order(session: Session, order_id: int, config_id: int | None = None) -> GuestState:
    """The PMS guest on the reservation QloApps order *order_id* became, read through the port."""
    return reservation_state(session, reservation_of_order(session, order_id, config_id)).guest


def pms_guest(session: Session, guest_id: PmsId) -> Guest:
    """One guest of the PMS's only hotel, read through the port."""
    (guest,) = shop_hotel(open_pms(session), None).guests_matching([guest_id], (), ())
    return guest


def guest_ids_keyed_by(session: Session, *, email: str | None = None, phone: str | None = None) -> list[PmsId]:
    """The guests of the PMS's only hotel that matching finds by this normalised e-mail or phone."""
    found = shop_hotel(open_pms(session), None).guests_matching(
        (), [email] if email is not None else (), [phone] if phone is not None else ())
    return [guest.id for guest in found if guest.id is not None]


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


def sorted_lines(lines: list[BookedLine]) -> list[BookedLine]:
    """In one order whatever the PMS left empty (a line without a room has None where others have a number)."""
    return sorted(lines, key=lambda line: tuple(str(value) for value in line))


def _pms_engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def expected_booking(sim, order_id: int, session: Session) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What the PMS of *session* should hold for one simulator order, read from the simulator's own tables:
    its lines as that PMS keeps them (the front desk's ``kept_lines``: one that folds a room type's rooms of
    one stay into one reservation gives them back shared out)."""
    order = sim.store.table("orders")[order_id]
    customer = sim.store.table("customers")[order["id_customer"]]
    lines = [r for _, r in sorted(sim.store.table("room_bookings").items()) if r["id_order"] == order_id]
    status = ORDER_STATE_TO_STATUS[order["current_state"]]
    if status not in ("cancelled", "refunded"):
        lines = [r for r in lines if not int(r["is_cancelled"])] or lines
    booked: list[BookedLine] = [
        (int(r["id_product"]), _day(r["date_from"]), _day(r["date_to"]), r["room_num"], int(r["adults"]),
         int(r["children"]), Decimal(str(r["total_price_tax_excl"])).quantize(Decimal("0.01")),
         (Decimal(str(r["total_price_tax_incl"])) - Decimal(str(r["total_price_tax_excl"]))).quantize(Decimal("0.01")))
        for r in lines  # in QloApps' order of its room lines, which is the order a pull writes them in
    ]
    return {
        "status": status,
        "email": customer["email"],
        "name": (customer["firstname"], customer["lastname"]),
        "lines": sorted_lines(desk_for(_pms_engine(session)).kept_lines(booked)),
        "total_paid": Decimal(str(order["total_paid_real"])).quantize(Decimal("0.01")),
    }


def actual_booking(session: Session, config_id: int, order_id: int) -> dict[str, object]:
    """What the PMS holds for one QloApps order, read through the port (so for every adapter alike)."""
    state = reservation_state(session, reservation_of_order(session, order_id, config_id))
    room_numbers = {room_id: number for room_id, number in session.execute(
        select(QloAppsRoomMapping.pms_room_id, QloAppsRoomMapping.room_number)
        .where(QloAppsRoomMapping.config_id == config_id))}
    room_types = {pms: qloapps for pms, qloapps in session.execute(
        select(QloAppsRoomTypeMapping.pms_room_type_id, QloAppsRoomTypeMapping.qloapps_room_type_id)
        .where(QloAppsRoomTypeMapping.config_id == config_id))}
    return {
        "status": state.status,
        "email": state.guest.email,
        "name": (state.guest.first_name, state.guest.last_name),
        "lines": sorted_lines([
            (room_types.get(line.room_type_id, -1), line.checkin, line.checkout, room_numbers.get(line.room_id or ""),
             line.adults, line.children, line.price_without_tax, line.tax)
            for line in state.lines
        ]),
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
        guest = guest_of_order(session, order_id, config_id)
        return guest.first_name, guest.last_name
