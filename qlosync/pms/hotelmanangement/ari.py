"""What the hotelmanangement PMS sells, per night of one room type: rates, closed nights, rooms out of order,
rooms sold, and how many rooms it sells at all.

That PMS has no calendar: one price a night (``room_types.price_per_night``) for every night, no stop-sell,
and a room is out of order while its status is 'Out of Service' (every night: it has no dates). A reservation
holds ``units_requested`` rooms every night of its stay while it is neither 'Cancelled' nor soft-deleted. The
type sells ``qty`` rooms (1..99), which may be fewer than the rooms QloApps has mapped.

Each takes a room type key found in the hotel by :func:`room_type_key` (the adapter checks a room type once per
session). A room type of another hotel is an error, not an empty answer: pushed as it is, "no rates, nothing
closed" would change what the other hotel's shop sells.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from qlosync.pms.hotelmanangement import statuses
from qlosync.pms.hotelmanangement.ids import as_uuid
from qlosync.pms.port import PmsId, RoomTypeNotInHotel

CENT = Decimal("0.01")
OUT_OF_SERVICE = "Out of Service"


def _nights(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def room_type_key(session: Session, hotel_id: PmsId, room_type_id: PmsId) -> str:
    """The room type's id, once it is known to be the hotel's (the functions below take only such keys)."""
    key, hotel = as_uuid(room_type_id), as_uuid(hotel_id)
    found = None if key is None or hotel is None else session.scalar(text(
        "SELECT id::text FROM room_types WHERE id = CAST(:id AS uuid) AND hotel_id = CAST(:hotel AS uuid)"),
        {"id": key, "hotel": hotel})
    if found is None:
        raise RoomTypeNotInHotel(f"the PMS has no room type {room_type_id!r} in hotel {hotel_id!r}")
    return str(found)


def rates(session: Session, key: str, first: date, last: date) -> dict[date, Decimal]:
    price = session.scalar(text("SELECT price_per_night FROM room_types WHERE id = CAST(:id AS uuid)"), {"id": key})
    if price is None:
        return {}
    return {night: Decimal(price).quantize(CENT) for night in _nights(first, last)}


def closed_nights(session: Session, key: str, first: date, last: date) -> set[date]:
    return set()  # that PMS cannot close a night


def rooms_out_of_order(session: Session, key: str, first: date, last: date) -> Counter[date]:
    """Per night, the rooms of the type out of service (all nights alike)."""
    count = session.scalar(text(
        "SELECT count(*) FROM rooms WHERE room_type_id = CAST(:id AS uuid) AND status = :status"),
        {"id": key, "status": OUT_OF_SERVICE}) or 0
    return Counter({night: int(count) for night in _nights(first, last)} if count else {})


def rooms_sold(session: Session, key: str, first: date, last: date) -> Counter[date]:
    """Per night, the rooms the live reservations of the type hold, pushed to QloApps or not."""
    counts: Counter[date] = Counter()
    for checkin, checkout, units in session.execute(text(
            "SELECT check_in, check_out, COALESCE(units_requested, 1) FROM reservations"
            " WHERE room_type_id = CAST(:id AS uuid) AND status <> :cancelled AND deleted_at IS NULL"
            " AND check_in <= :last AND check_out > :first"),
            {"id": key, "cancelled": statuses.CANCELLED, "first": first, "last": last}):
        for night in _nights(max(checkin, first), min(checkout - timedelta(days=1), last)):
            counts[night] += max(int(units), 1)
    return counts


def sellable_rooms(session: Session, key: str) -> int | None:
    qty = session.scalar(text("SELECT qty FROM room_types WHERE id = CAST(:id AS uuid)"), {"id": key})
    return None if qty is None else int(qty)
