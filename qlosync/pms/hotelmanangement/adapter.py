"""The hotelmanangement PMS as a :class:`~qlosync.pms.port.Pms`: that PMS's tables in ``public`` over one session.

Its ids are its uuids as text. The port's reservation is a group of that PMS's reservations (one per room type
and stay: :mod:`.grouping`); qlosync remembers the groups in its own schema (:mod:`.tables`). Each concern lives
in a module of its own (``catalog``, ``guests``, ``writer``, ``reading``, ``ari``, ``changes``); this one only
binds them to a session and a hotel.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from qlosync.pms import UnknownHotel
from qlosync.pms.hotelmanangement import ari, catalog, changes, guests, reading, writer
from qlosync.pms.port import (
    ChangeFeed,
    Guest,
    Hotel,
    HotelPms,
    NewRoomType,
    Pms,
    PmsId,
    PmsState,
    ReservationWrite,
    Room,
    RoomType,
)


class HmsHotel:
    """One hotel of the hotelmanangement PMS."""

    def __init__(self, session: Session, hotel_id: PmsId) -> None:
        self.session = session
        self.hotel_id = hotel_id
        self._room_type_keys: dict[PmsId, str] = {}

    def _room_type_key(self, room_type_id: PmsId) -> str:
        # An availability push asks several questions of one room type: check it is the hotel's once.
        if room_type_id not in self._room_type_keys:
            self._room_type_keys[room_type_id] = ari.room_type_key(self.session, self.hotel_id, room_type_id)
        return self._room_type_keys[room_type_id]

    def room_types(self) -> list[RoomType]:
        return catalog.room_types(self.session, self.hotel_id)

    def create_room_type(self, new: NewRoomType) -> RoomType:
        return catalog.create_room_type(self.session, self.hotel_id, new)

    def rooms(self) -> list[Room]:
        return catalog.rooms(self.session, self.hotel_id)

    def create_room(self, room_type_id: PmsId, number: str) -> Room:
        return catalog.create_room(self.session, self.hotel_id, room_type_id, number)

    def guests_matching(self, ids: Collection[PmsId], emails: Collection[str],
                        phones: Collection[str]) -> list[Guest]:
        return guests.guests_matching(self.session, self.hotel_id, ids, emails, phones)

    def save_guests(self, found: Sequence[Guest]) -> None:
        guests.save_guests(self.session, self.hotel_id, found)

    def write_reservations(self, writes: Sequence[ReservationWrite]) -> list[PmsState]:
        return writer.write_reservations(self.session, self.hotel_id, writes)

    def reservation_states(self, ids: Collection[PmsId]) -> dict[PmsId, PmsState]:
        return reading.reservation_states(self.session, self.hotel_id, ids)

    def rates(self, room_type_id: PmsId, first: date, last: date) -> dict[date, Decimal]:
        return ari.rates(self.session, self._room_type_key(room_type_id), first, last)

    def closed_nights(self, room_type_id: PmsId, first: date, last: date) -> set[date]:
        return ari.closed_nights(self.session, self._room_type_key(room_type_id), first, last)

    def rooms_out_of_order(self, room_type_id: PmsId, first: date, last: date) -> Counter[date]:
        return ari.rooms_out_of_order(self.session, self._room_type_key(room_type_id), first, last)

    def rooms_sold(self, room_type_id: PmsId, first: date, last: date) -> Counter[date]:
        return ari.rooms_sold(self.session, self._room_type_key(room_type_id), first, last)

    def sellable_rooms(self, room_type_id: PmsId) -> int | None:
        return ari.sellable_rooms(self.session, self._room_type_key(room_type_id))


class HmsPms:
    """The hotelmanangement PMS over one session."""

    name = "hotelmanangement"

    def __init__(self, session: Session) -> None:
        self.session = session
        self.changes: ChangeFeed = changes.HmsFeed(session)

    def hotels(self) -> list[Hotel]:
        return catalog.hotels(self.session)

    def hotel(self, hotel_id: PmsId) -> HmsHotel:
        if not catalog.has_hotel(self.session, hotel_id):
            raise UnknownHotel(f"the PMS has no hotel {hotel_id!r}")
        return HmsHotel(self.session, hotel_id)

    def hotels_of_reservations(self, ids: Collection[PmsId]) -> dict[PmsId, PmsId]:
        return reading.hotels_of_reservations(self.session, ids)

    def hotels_of_room_types(self, ids: Collection[PmsId]) -> dict[PmsId, PmsId]:
        return catalog.hotels_of_room_types(self.session, ids)

    def mark_sync_writes(self) -> None:
        changes.mark_sync_writes(self.session)

    def install_change_capture(self) -> None:
        changes.install(self.session)

    def remove_change_capture(self) -> None:
        changes.remove(self.session)


def _conforms(session: Session) -> tuple[Pms, HotelPms]:
    # mypy holds the classes to the port here.
    return HmsPms(session), HmsHotel(session, "")
