"""The built-in PMS's hotels, room types and rooms."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.pms.builtin.ids import as_keys
from qlosync.pms.builtin.tables import PmsHotel, PmsRoomType
from qlosync.pms.port import Hotel, NewRoomType, PmsId, Room, RoomType


def hotels(session: Session) -> list[Hotel]:
    return [Hotel(str(hid), name) for hid, name in session.execute(
        select(PmsHotel.id, PmsHotel.name).order_by(PmsHotel.id))]


def hotels_of_room_types(session: Session, ids: Collection[PmsId]) -> dict[PmsId, PmsId]:
    keys = as_keys(ids)
    if not keys:
        return {}
    return {str(tid): str(hid) for tid, hid in session.execute(
        select(PmsRoomType.id, PmsRoomType.hotel_id).where(PmsRoomType.id.in_(keys)))}


def room_types(session: Session, hotel_id: PmsId) -> list[RoomType]:
    raise NotImplementedError("issue 20: being written")


def create_room_type(session: Session, hotel_id: PmsId, new: NewRoomType) -> RoomType:
    raise NotImplementedError("issue 20: being written")


def rooms(session: Session, hotel_id: PmsId) -> list[Room]:
    raise NotImplementedError("issue 20: being written")


def create_room(session: Session, hotel_id: PmsId, room_type_id: PmsId, number: str) -> Room:
    raise NotImplementedError("issue 20: being written")
