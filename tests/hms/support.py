"""Helpers for the hotelmanangement adapter's tests: hotels, writes, and the PMS's rows as that PMS holds them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from qlosync.pms.hotelmanangement.adapter import HmsHotel, HmsPms
from qlosync.pms.port import Guest, LineWrite, NewRoomType, ReservationWrite

DEFAULT_HOTEL = "00000000-0000-0000-0000-000000000000"  # made by one of that PMS's migrations (and the double)


def hotel(session: Session, hotel_id: str = DEFAULT_HOTEL) -> HmsHotel:
    return HmsPms(session).hotel(hotel_id)


def add_hotel(session: Session, name: str) -> str:
    return str(session.execute(text("INSERT INTO hotels (hotel_name) VALUES (:name) RETURNING id::text"),
                               {"name": name}).scalar_one())


def catalog(session: Session, hotel_id: str = DEFAULT_HOTEL) -> tuple[str, str, str]:
    """A double and a suite room type, and a guest: their ids."""
    at = hotel(session, hotel_id)
    double = at.create_room_type(NewRoomType("DBL", "Double", Decimal("90"), 2, 1)).id
    suite = at.create_room_type(NewRoomType("STE", "Suite", Decimal("190"), 3, 1)).id
    guest = Guest(None, "Ann", "Lee", "ann@example.com", "+1 555 0100")
    at.save_guests([guest])
    assert guest.id is not None
    return double, suite, guest.id


def line(room_type_id: str, checkin: date, nights: int = 2, price: str = "100.00", *, id: str | None = None,
         room_id: str | None = None, adults: int = 2, children: int = 0, tax: str = "10.00") -> LineWrite:
    return LineWrite(id=id, room_type_id=room_type_id, room_id=room_id, checkin=checkin,
                     checkout=date.fromordinal(checkin.toordinal() + nights), adults=adults, children=children,
                     child_ages=(5,) * children, price_without_tax=Decimal(price), tax=Decimal(tax))


def write(guest_id: str, *lines: LineWrite, id: str | None = None, status: str = "confirmed",
          source: str | None = "webservice", paid: str = "50.00") -> ReservationWrite:
    return ReservationWrite(
        id=id, guest_id=guest_id, status=status, source=source, currency="EUR",
        total_without_tax=sum((ln.price_without_tax for ln in lines), Decimal("0")),
        total_tax=sum((ln.tax for ln in lines), Decimal("0")), total_paid=Decimal(paid),
        booked_at=datetime(2031, 1, 2, 3, 4, tzinfo=UTC), remarks="QloApps order 7 (REFABC)", lines=tuple(lines))


def reservation_row(session: Session, reservation_id: str) -> dict[str, Any]:
    return dict(session.execute(text("SELECT * FROM reservations WHERE id = CAST(:id AS uuid)"),
                                {"id": reservation_id}).mappings().one())


def group_members(session: Session, group_id: str) -> list[str]:
    """The reservations qlosync holds in the group, oldest first."""
    return list(session.scalars(text(
        "SELECT g.reservation_id FROM hms_reservation_groups g JOIN reservations r ON r.id = g.reservation_id::uuid"
        " WHERE g.group_id = :group ORDER BY r.created_at"), {"group": group_id}))


def primary_guests(session: Session, reservation_id: str) -> list[tuple[str, str]]:
    """(guest id, hotel id) of the reservation's 'Primary' reservation_guests rows."""
    return [(g, h) for g, h in session.execute(text(
        "SELECT guest_id::text, hotel_id::text FROM reservation_guests WHERE reservation_id = CAST(:id AS uuid)"
        " AND guest_type = 'Primary'"), {"id": reservation_id})]


def member_of(line_id: str) -> str:
    return line_id.rpartition("#")[0]
