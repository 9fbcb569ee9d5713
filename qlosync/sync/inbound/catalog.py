"""Room-type and room mappings between QloApps and the PMS.

``import_catalog`` reads QloApps' room types and rooms for the shop's hotel and maps each to the PMS
one with the same name (room types) or number (rooms), creating it in the reference PMS when missing.
Existing mappings are never changed by an import: an operator's ``mappings set`` wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsRoomMapping, QloAppsRoomTypeMapping
from qlosync.pms.builtin.tables import PmsRoom, PmsRoomType
from qlosync.errors import PermanentError
from qlosync.fields import INT32_MAX
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import RoomType


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


def room_type_mappings(session: Session, config_id: int) -> dict[int, int]:
    """QloApps room type id → PMS room type id."""
    rows = session.execute(
        select(QloAppsRoomTypeMapping.qloapps_room_type_id, QloAppsRoomTypeMapping.pms_room_type_id).where(
            QloAppsRoomTypeMapping.config_id == config_id
        )
    )
    return {qlo: pms for qlo, pms in rows}


def room_mappings(session: Session, config_id: int) -> dict[int, int]:
    """QloApps room id → PMS room id."""
    rows = session.execute(
        select(QloAppsRoomMapping.qloapps_room_id, QloAppsRoomMapping.pms_room_id).where(
            QloAppsRoomMapping.config_id == config_id
        )
    )
    return {qlo: pms for qlo, pms in rows}


def hotel_room_types(client: QloAppsClient, shop: ShopConfig) -> list[RoomType]:
    """The QloApps room types of the shop's hotel: the ones a mapping can be for."""
    return [t for t in client.get_room_types() if t.id_hotel in (None, shop.id_hotel)]


def import_catalog(session: Session, client: QloAppsClient, shop: ShopConfig) -> CatalogImport:
    result = CatalogImport()
    hotels = {hotel.id: hotel.name for hotel in client.get_hotels()}
    if shop.id_hotel not in hotels:
        known = ", ".join(f"{hotel_id} ({name})" for hotel_id, name in sorted(hotels.items())) or "none"
        raise MappingError(f"QloApps has no hotel {shop.id_hotel} (hotels: {known}); fix it with `qlosync config set --hotel-id`")
    types = hotel_room_types(client, shop)
    mapped_types = room_type_mappings(session, shop.id)
    for room_type in types:
        if room_type.id in mapped_types:
            result.already_mapped += 1
            continue
        pms_type = session.scalars(
            select(PmsRoomType).where(func.lower(PmsRoomType.name) == room_type.name.strip().lower())
        ).first()
        if pms_type is None or pms_type.id in mapped_types.values():
            pms_type = PmsRoomType(
                code=f"QLO-{shop.id}-{room_type.id}",
                name=room_type.name.strip(),
                base_price=room_type.price,
                max_adults=room_type.adults or 2,
                max_children=room_type.children or 0,
            )
            session.add(pms_type)
            session.flush()
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
    for room in client.get_hotel_rooms():
        if room.id_hotel != shop.id_hotel or room.id_product not in mapped_types or room.id in mapped_rooms:
            continue
        pms_room = session.scalars(select(PmsRoom).where(PmsRoom.number == room.room_num)).first()
        if pms_room is None or pms_room.id in mapped_rooms.values():
            pms_room = PmsRoom(room_type_id=mapped_types[room.id_product], number=_free_number(session, room.room_num))
            session.add(pms_room)
            session.flush()
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


def _free_number(session: Session, number: str) -> str:
    """The room number, suffixed if the PMS already uses it for a room mapped elsewhere."""
    candidate, n = number, 1
    while session.scalars(select(PmsRoom.id).where(PmsRoom.number == candidate)).first() is not None:
        n += 1
        candidate = f"{number}~{n}"
    return candidate


def set_room_type_mapping(
    session: Session, shop: ShopConfig, qloapps_room_type_id: int, pms_room_type: str
) -> QloAppsRoomTypeMapping:
    """Map a QloApps room type to a PMS room type given by id or code (replacing any earlier mapping)."""
    # An id is ASCII digits within PostgreSQL's integer; anything else can only be a code.
    as_id = int(pms_room_type) if pms_room_type.isascii() and pms_room_type.isdigit() else None
    pms = session.get(PmsRoomType, as_id) if as_id is not None and as_id <= INT32_MAX else None
    if pms is None:
        pms = session.scalars(select(PmsRoomType).where(PmsRoomType.code == pms_room_type)).first()
    if pms is None:
        raise MappingError(f"no PMS room type with id or code {pms_room_type!r}")
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


def list_room_type_mappings(session: Session, config_id: int) -> list[tuple[QloAppsRoomTypeMapping, PmsRoomType]]:
    rows = session.execute(
        select(QloAppsRoomTypeMapping, PmsRoomType)
        .join(PmsRoomType, PmsRoomType.id == QloAppsRoomTypeMapping.pms_room_type_id)
        .where(QloAppsRoomTypeMapping.config_id == config_id)
        .order_by(QloAppsRoomTypeMapping.qloapps_room_type_id)
    )
    return [(m, t) for m, t in rows]
