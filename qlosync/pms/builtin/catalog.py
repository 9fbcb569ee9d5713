"""The built-in PMS's hotels, room types and rooms."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.errors import PermanentError
from qlosync.pms.builtin.ids import as_key, as_keys
from qlosync.pms.builtin.tables import PmsHotel, PmsRoom, PmsRoomType
from qlosync.pms.port import Hotel, NewRoomType, PmsId, Room, RoomType


class NotInHotel(PermanentError):
    """A room type (or reservation, guest, line) that the hotel written to does not have."""


def hotels(session: Session) -> list[Hotel]:
    return [Hotel(str(hid), name) for hid, name in session.execute(
        select(PmsHotel.id, PmsHotel.name).order_by(PmsHotel.id))]


def has_hotel(session: Session, hotel_id: PmsId) -> bool:
    """Whether the id is one of the PMS's hotels, written as the PMS writes it (``"2"``, not ``"02"``)."""
    key = as_key(hotel_id)
    return key is not None and str(key) == hotel_id and session.get(PmsHotel, key) is not None


def hotels_of_room_types(session: Session, ids: Collection[PmsId]) -> dict[PmsId, PmsId]:
    keys = as_keys(ids)
    if not keys:
        return {}
    return {str(tid): str(hid) for tid, hid in session.execute(
        select(PmsRoomType.id, PmsRoomType.hotel_id).where(PmsRoomType.id.in_(keys)))}


def hotel_key(hotel_id: PmsId) -> int:
    key = as_key(hotel_id)
    if key is None:
        raise NotInHotel(f"the built-in PMS has no hotel {hotel_id!r}")
    return key


def _room_type(row: PmsRoomType) -> RoomType:
    return RoomType(str(row.id), row.code, row.name, row.max_adults, row.max_children)


def room_types(session: Session, hotel_id: PmsId) -> list[RoomType]:
    """The hotel's room types, oldest first."""
    return [_room_type(row) for row in session.scalars(
        select(PmsRoomType).where(PmsRoomType.hotel_id == hotel_key(hotel_id)).order_by(PmsRoomType.id))]


def create_room_type(session: Session, hotel_id: PmsId, new: NewRoomType) -> RoomType:
    row = PmsRoomType(hotel_id=hotel_key(hotel_id), code=new.code, name=new.name, base_price=new.base_price,
                      max_adults=new.max_adults, max_children=new.max_children)
    session.add(row)
    session.flush()
    return _room_type(row)


def rooms(session: Session, hotel_id: PmsId) -> list[Room]:
    """The hotel's rooms, oldest first."""
    return [Room(str(rid), str(tid), number) for rid, tid, number in session.execute(
        select(PmsRoom.id, PmsRoom.room_type_id, PmsRoom.number).where(PmsRoom.hotel_id == hotel_key(hotel_id))
        .order_by(PmsRoom.id))]


def create_room(session: Session, hotel_id: PmsId, room_type_id: PmsId, number: str) -> Room:
    """A room of one of the hotel's room types (a room type of another hotel is refused)."""
    hotel, room_type = hotel_key(hotel_id), as_key(room_type_id)
    if room_type is None or session.scalar(select(PmsRoomType.hotel_id).where(PmsRoomType.id == room_type)) != hotel:
        raise NotInHotel(f"hotel {hotel_id} has no room type {room_type_id!r}")
    row = PmsRoom(hotel_id=hotel, room_type_id=room_type, number=number)
    session.add(row)
    session.flush()
    return Room(str(row.id), str(row.room_type_id), row.number)
