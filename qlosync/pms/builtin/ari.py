"""What the built-in PMS sells: rates per night, closed nights, rooms out of order, rooms sold.

Each takes nights first..last (inclusive) of one room type, by a key :func:`room_type_key` found in the hotel
(the adapter checks a room type once per session). A room type of another hotel is an error, not an empty answer: pushed as it is, "no rates, nothing closed" would change what the other hotel's
shop sells.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.pms.builtin.ids import as_key
from qlosync.pms.builtin.tables import (
    PmsClosedNight,
    PmsReservation,
    PmsReservationLine,
    PmsRoom,
    PmsRoomOutage,
    PmsRoomType,
    PmsRoomTypeRate,
)
from qlosync.pms.port import PmsId, RoomTypeNotInHotel
from qlosync.states import CLOSED_STATUSES

CENT = Decimal("0.01")


def _nights(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def room_type_key(session: Session, hotel_id: PmsId, room_type_id: PmsId) -> int:
    """The room type's key, once it is known to be the hotel's (the functions below take only such keys)."""
    key, hotel = as_key(room_type_id), as_key(hotel_id)
    found = None if key is None or hotel is None else session.scalar(
        select(PmsRoomType.id).where(PmsRoomType.id == key, PmsRoomType.hotel_id == hotel))
    if found is None:
        raise RoomTypeNotInHotel(f"the PMS has no room type {room_type_id!r} in hotel {hotel_id!r}")
    return found


def rates(session: Session, key: int, first: date, last: date) -> dict[date, Decimal]:
    rows = session.execute(select(PmsRoomTypeRate.night, PmsRoomTypeRate.price).where(
        PmsRoomTypeRate.room_type_id == key, PmsRoomTypeRate.night.between(first, last)))
    return {night: Decimal(price).quantize(CENT) for night, price in rows}


def closed_nights(session: Session, key: int, first: date, last: date) -> set[date]:
    return set(session.scalars(select(PmsClosedNight.night).where(
        PmsClosedNight.room_type_id == key, PmsClosedNight.night.between(first, last))))


def rooms_out_of_order(session: Session, key: int, first: date,
                       last: date) -> Counter[date]:
    """Per night, how many rooms of the type are out of order (a room with overlapping outages counts once)."""
    rows = session.execute(select(PmsRoomOutage.room_id, PmsRoomOutage.date_from, PmsRoomOutage.date_to)
                           .join(PmsRoom, PmsRoom.id == PmsRoomOutage.room_id)
                           .where(PmsRoom.room_type_id == key, PmsRoomOutage.date_from <= last,
                                  PmsRoomOutage.date_to > first))
    per_night: dict[date, set[int]] = {}
    for room_id, start, end in rows:
        for night in _nights(max(start, first), min(end - timedelta(days=1), last)):
            per_night.setdefault(night, set()).add(room_id)
    return Counter({night: len(rooms) for night, rooms in per_night.items()})


def rooms_sold(session: Session, key: int, first: date, last: date) -> Counter[date]:
    """Per night, the live (not closed) reservation lines of the room type, pushed to QloApps or not."""
    counts: Counter[date] = Counter()
    for checkin, checkout in session.execute(
            select(PmsReservationLine.checkin, PmsReservationLine.checkout)
            .join(PmsReservation, PmsReservation.id == PmsReservationLine.reservation_id)
            .where(PmsReservationLine.room_type_id == key, PmsReservation.status.not_in(CLOSED_STATUSES),
                   PmsReservationLine.checkin <= last, PmsReservationLine.checkout > first)):
        counts.update(_nights(max(checkin, first), min(checkout - timedelta(days=1), last)))
    return counts
