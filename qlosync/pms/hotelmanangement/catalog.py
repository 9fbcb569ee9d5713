"""The hotelmanangement PMS's hotels, room types and rooms.

Hotels and room types have a soft delete (``deleted_at``): the deleted ones are not listed. A room type that
qlosync creates sells ``qty`` 1 until rooms are added: :func:`create_room` raises ``qty`` (that PMS's number of
sellable rooms, 1..99) to the number of the type's rooms, as the PMS's own API keeps one room per unit of ``qty``.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.orm import Session

from qlosync.pms.hotelmanangement.ids import NotInHotel, as_uuid, as_uuids, new_id
from qlosync.pms.port import Hotel, NewRoomType, PmsId, Room, RoomType

MAX_QTY = 99  # room_types.qty's CHECK
CODE_LENGTH = 50  # room_types.room_type is varchar(50)
#: rooms.type (a legacy column, NOT NULL) by words of the room type: 'Single', 'Suite', else 'Double', the three
#: values that PMS's own API writes there.
ROOM_KINDS = (("suite", "Suite"), ("single", "Single"))
DEFAULT_ROOM_KIND = "Double"

_ROOM_TYPE_COLUMNS = ("id::text, room_type, name, COALESCE(max_adult, max_people, 2), COALESCE(max_children, 0)")


def hotels(session: Session) -> list[Hotel]:
    return [Hotel(hid, name) for hid, name in session.execute(text(
        "SELECT id::text, hotel_name FROM hotels WHERE deleted_at IS NULL ORDER BY id"))]


def has_hotel(session: Session, hotel_id: PmsId) -> bool:
    """Whether the id is one of the PMS's live hotels, written as the PMS writes it."""
    key = as_uuid(hotel_id)
    return key is not None and session.scalar(text(
        "SELECT 1 FROM hotels WHERE id = CAST(:id AS uuid) AND deleted_at IS NULL"), {"id": key}) is not None


def hotel_key(hotel_id: PmsId) -> str:
    key = as_uuid(hotel_id)
    if key is None:
        raise NotInHotel(f"the hotelmanangement PMS has no hotel {hotel_id!r}")
    return key


def hotels_of_room_types(session: Session, ids: Collection[PmsId]) -> dict[PmsId, PmsId]:
    keys = as_uuids(ids)
    if not keys:
        return {}
    return {tid: hid for tid, hid in session.execute(text(
        "SELECT id::text, hotel_id::text FROM room_types WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": keys})}


def room_types(session: Session, hotel_id: PmsId) -> list[RoomType]:
    """The hotel's live room types, oldest first."""
    return [RoomType(tid, code, name, adults, children) for tid, code, name, adults, children in session.execute(text(
        f"SELECT {_ROOM_TYPE_COLUMNS} FROM room_types WHERE hotel_id = CAST(:hotel AS uuid) AND deleted_at IS NULL"
        " ORDER BY created_at, id"), {"hotel": hotel_key(hotel_id)})]


def create_room_type(session: Session, hotel_id: PmsId, new: NewRoomType) -> RoomType:
    room_type_id, code = new_id(), new.code[:CODE_LENGTH]
    row = {"id": room_type_id, "hotel": hotel_key(hotel_id), "name": new.name, "code": code,
           "price": new.base_price, "adults": new.max_adults, "children": new.max_children,
           "people": new.max_adults + new.max_children}
    # created_at by the clock, not the transaction's start: room types made together still list in order.
    session.execute(text(
        "INSERT INTO room_types (id, hotel_id, name, room_type, qty, price_per_night, max_adult, max_children,"
        " max_people, created_at, updated_at) VALUES (CAST(:id AS uuid), CAST(:hotel AS uuid), :name, :code, 1,"
        " :price, :adults, :children, :people, clock_timestamp(), now())"), row)
    return RoomType(room_type_id, code, new.name, new.max_adults, new.max_children)


def rooms(session: Session, hotel_id: PmsId) -> list[Room]:
    """The hotel's rooms that have a room type, by number."""
    return [Room(rid, tid, number) for rid, tid, number in session.execute(text(
        "SELECT id::text, room_type_id::text, room_number FROM rooms"
        " WHERE hotel_id = CAST(:hotel AS uuid) AND room_type_id IS NOT NULL ORDER BY room_number, id"),
        {"hotel": hotel_key(hotel_id)})]


def room_kind(code: str, name: str) -> str:
    """The legacy ``rooms.type`` for a room of this type: read off its code and name, else 'Double'."""
    words = f"{code} {name}".casefold()
    return next((kind for word, kind in ROOM_KINDS if word in words), DEFAULT_ROOM_KIND)


def floor_of(number: str) -> int:
    """The floor a room number names the usual way ("305" → 3, "1204" → 12); 0 when it does not."""
    return int(number[:-2]) if number.isascii() and number.isdigit() and len(number) >= 3 else 0


def create_room(session: Session, hotel_id: PmsId, room_type_id: PmsId, number: str) -> Room:
    """A room of one of the hotel's room types (a room type of another hotel is refused)."""
    hotel, room_type = hotel_key(hotel_id), as_uuid(room_type_id)
    found = None if room_type is None else session.execute(text(
        "SELECT room_type, name, price_per_night FROM room_types WHERE id = CAST(:id AS uuid)"
        " AND hotel_id = CAST(:hotel AS uuid) AND deleted_at IS NULL"), {"id": room_type, "hotel": hotel}).first()
    if found is None or room_type is None:
        raise NotInHotel(f"hotel {hotel_id} has no room type {room_type_id!r}")
    code, name, price = found
    room_id = new_id()
    # The legacy columns are NOT NULL without a default: filled from the room type, as that PMS's API does.
    session.execute(text(
        "INSERT INTO rooms (id, hotel_id, room_number, room_type_id, status, type, room_type, price_per_night, floor)"
        " VALUES (CAST(:id AS uuid), CAST(:hotel AS uuid), :number, CAST(:room_type AS uuid), 'Available', :kind,"
        " :code, :price, :floor)"),
        {"id": room_id, "hotel": hotel, "number": number, "room_type": room_type, "kind": room_kind(code, name),
         "code": code, "price": price, "floor": floor_of(number)})
    session.execute(text(
        "UPDATE room_types t SET qty = n.rooms, updated_at = now()"
        " FROM (SELECT LEAST(count(*), :most) AS rooms FROM rooms WHERE room_type_id = CAST(:id AS uuid)) n"
        " WHERE t.id = CAST(:id AS uuid) AND t.qty < n.rooms"), {"id": room_type, "most": MAX_QTY})
    return Room(room_id, room_type, number)
