"""Room-type and room mappings between QloApps and the PMS hotel of a shop.

``import_catalog`` reads QloApps' room types and rooms for the shop's QloApps hotel and maps each to the
room type with the same name (rooms: the same number) in the shop's PMS hotel, creating it there when
missing: two shops bound to two PMS hotels get room types and rooms of their own, whatever their names.
Existing mappings are never changed by an import: an operator's ``mappings set`` wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsRoomMapping, QloAppsRoomTypeMapping
from qlosync.errors import PermanentError
from qlosync.pms import open_pms, shop_hotel
from qlosync.pms.port import NewRoomType, PmsId, RoomType
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import RoomType as QloAppsRoomType


class MappingError(PermanentError):
    """A mapping cannot be made as asked (unknown PMS room type, already used, ...)."""


@dataclass
class CatalogImport:
    """What an import did."""

    room_types_mapped: int = 0
    room_types_created: int = 0
    rooms_mapped: int = 0
    rooms_created: int = 0
    already_mapped: int = 0


def room_type_mappings(session: Session, config_id: int) -> dict[int, PmsId]:
    """QloApps room type id → PMS room type id."""
    rows = session.execute(
        select(QloAppsRoomTypeMapping.qloapps_room_type_id, QloAppsRoomTypeMapping.pms_room_type_id).where(
            QloAppsRoomTypeMapping.config_id == config_id
        )
    )
    return {qlo: pms for qlo, pms in rows}


def room_mappings(session: Session, config_id: int) -> dict[int, PmsId]:
    """QloApps room id → PMS room id."""
    rows = session.execute(
        select(QloAppsRoomMapping.qloapps_room_id, QloAppsRoomMapping.pms_room_id).where(
            QloAppsRoomMapping.config_id == config_id
        )
    )
    return {qlo: pms for qlo, pms in rows}


def hotel_room_types(client: QloAppsClient, shop: ShopConfig) -> list[QloAppsRoomType]:
    """The QloApps room types of the shop's hotel: the ones a mapping can be for."""
    return [t for t in client.get_room_types() if t.id_hotel in (None, shop.id_hotel)]


def import_catalog(session: Session, client: QloAppsClient, shop: ShopConfig) -> CatalogImport:
    result = CatalogImport()
    hotels = {hotel.id: hotel.name for hotel in client.get_hotels()}
    if shop.id_hotel not in hotels:
        known = ", ".join(f"{hotel_id} ({name})" for hotel_id, name in sorted(hotels.items())) or "none"
        raise MappingError(f"QloApps has no hotel {shop.id_hotel} (hotels: {known}); fix it with `qlosync config set --hotel-id`")
    pms = open_pms(session)
    hotel = shop_hotel(pms, shop.pms_hotel_id)
    # The room types and rooms created here copy QloApps' own: change capture must not push them back.
    pms.mark_sync_writes()
    types = hotel_room_types(client, shop)
    mapped_types = room_type_mappings(session, shop.id)
    pms_types = hotel.room_types()
    for room_type in types:
        if room_type.id in mapped_types:
            result.already_mapped += 1
            continue
        name = room_type.name.strip()
        pms_type = next((t for t in pms_types if t.name.lower() == name.lower()), None)
        if pms_type is None or pms_type.id in mapped_types.values():
            pms_type = hotel.create_room_type(NewRoomType(
                code=f"QLO-{shop.id}-{room_type.id}", name=name, base_price=room_type.price,
                max_adults=room_type.adults or 2, max_children=room_type.children or 0))
            pms_types.append(pms_type)
            result.room_types_created += 1
        session.add(
            QloAppsRoomTypeMapping(
                config_id=shop.id,
                qloapps_room_type_id=room_type.id,
                qloapps_hotel_id=room_type.id_hotel or shop.id_hotel,
                pms_room_type_id=pms_type.id,
                qloapps_name=room_type.name,
            )
        )
        mapped_types[room_type.id] = pms_type.id
        result.room_types_mapped += 1
    session.flush()

    mapped_rooms = room_mappings(session, shop.id)
    pms_rooms = hotel.rooms()
    numbers = {room.number for room in pms_rooms}
    for room in client.get_hotel_rooms():
        if room.id_hotel != shop.id_hotel or room.id_product not in mapped_types or room.id in mapped_rooms:
            continue
        pms_room = next((r for r in pms_rooms if r.number == room.room_num), None)
        if pms_room is None or pms_room.id in mapped_rooms.values():
            pms_room = hotel.create_room(mapped_types[room.id_product], _free_number(numbers, room.room_num))
            pms_rooms.append(pms_room)
            numbers.add(pms_room.number)
            result.rooms_created += 1
        session.add(
            QloAppsRoomMapping(
                config_id=shop.id,
                qloapps_room_id=room.id,
                qloapps_room_type_id=room.id_product,
                pms_room_id=pms_room.id,
                room_number=room.room_num,
            )
        )
        mapped_rooms[room.id] = pms_room.id
        result.rooms_mapped += 1
    session.flush()
    return result


def _free_number(taken: set[str], number: str) -> str:
    """The room number, suffixed if the hotel already has a room with it (mapped elsewhere)."""
    candidate, n = number, 1
    while candidate in taken:
        n += 1
        candidate = f"{number}~{n}"
    return candidate


def set_room_type_mapping(
    session: Session, shop: ShopConfig, qloapps_room_type_id: int, pms_room_type: str
) -> QloAppsRoomTypeMapping:
    """Map a QloApps room type to a room type of the shop's PMS hotel, given by id or code (replacing any earlier
    mapping)."""
    hotel_types = shop_hotel(open_pms(session), shop.pms_hotel_id).room_types()
    pms = next((t for t in hotel_types if t.id == pms_room_type), None) \
        or next((t for t in hotel_types if t.code == pms_room_type), None)
    if pms is None:
        raise MappingError(f"no PMS room type with id or code {pms_room_type!r}")  # in the shop's PMS hotel
    taken = session.scalars(
        select(QloAppsRoomTypeMapping).where(
            QloAppsRoomTypeMapping.config_id == shop.id,
            QloAppsRoomTypeMapping.pms_room_type_id == pms.id,
            QloAppsRoomTypeMapping.qloapps_room_type_id != qloapps_room_type_id,
        )
    ).first()
    if taken is not None:
        raise MappingError(
            f"PMS room type {pms.code} is already mapped to QloApps room type {taken.qloapps_room_type_id}"
        )
    mapping = session.scalars(
        select(QloAppsRoomTypeMapping).where(
            QloAppsRoomTypeMapping.config_id == shop.id,
            QloAppsRoomTypeMapping.qloapps_room_type_id == qloapps_room_type_id,
        )
    ).one_or_none()
    if mapping is None:
        mapping = QloAppsRoomTypeMapping(
            config_id=shop.id,
            qloapps_room_type_id=qloapps_room_type_id,
            qloapps_hotel_id=shop.id_hotel,
            pms_room_type_id=pms.id,
        )
        session.add(mapping)
    mapping.pms_room_type_id = pms.id
    session.flush()
    return mapping


def list_room_type_mappings(session: Session, config_id: int,
                            pms_hotel_id: PmsId | None) -> list[tuple[QloAppsRoomTypeMapping, RoomType]]:
    """The shop's room-type mappings with the PMS room types they name, by QloApps room type id.

    A mapping to a room type the shop's PMS hotel does not have (any more) is left out, like a join would.
    """
    pms_types = {t.id: t for t in shop_hotel(open_pms(session), pms_hotel_id).room_types()}
    mappings = session.scalars(select(QloAppsRoomTypeMapping).where(QloAppsRoomTypeMapping.config_id == config_id)
                               .order_by(QloAppsRoomTypeMapping.qloapps_room_type_id))
    return [(m, pms_types[m.pms_room_type_id]) for m in mappings if m.pms_room_type_id in pms_types]
