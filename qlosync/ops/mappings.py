"""Room-type mappings between QloApps and the PMS: import, list, set, then apply the bookings they unpark."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import dramatiq
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.config_store import ShopConfig, get_config_row
from qlosync.db.session import transaction
from qlosync.sync.service import load_shop_config
from qlosync.ops.sync import booking_retrier
from qlosync.qloapps.errors import QloAppsError
from qlosync.settings import Settings
from qlosync.sync.inbound.catalog import (
    CatalogImport,
    MappingError,
    hotel_room_types,
    import_catalog,
    list_room_type_mappings,
    room_type_mappings,
    set_room_type_mapping,
)
from qlosync.sync.inbound.pull import retry_parked
from qlosync.sync.service import open_client, pull_deps


@dataclass(frozen=True)
class RoomTypeMappingInfo:
    qloapps_room_type_id: int
    qloapps_name: str | None
    qloapps_hotel_id: int
    pms_room_type_id: str
    pms_room_type_code: str
    pms_room_type_name: str


def list_mappings(sessions: sessionmaker[Session], shop: str) -> list[RoomTypeMappingInfo]:
    """The shop's room-type mappings, by QloApps room type id."""
    with transaction(sessions) as session:
        row = get_config_row(session, shop)
        return [
            RoomTypeMappingInfo(mapping.qloapps_room_type_id, mapping.qloapps_name, mapping.qloapps_hotel_id,
                                room_type.id, room_type.code, room_type.name)
            for mapping, room_type in list_room_type_mappings(session, row.id, row.pms_hotel_id)
        ]


def set_mapping(settings: Settings, sessions: sessionmaker[Session], shop: str, qloapps_room_type_id: int,
                pms_room_type: str) -> RoomTypeMappingInfo:
    """Map a QloApps room type the shop has to a PMS room type (id or code); call :func:`apply_parked`
    afterwards. Used alike by `qlosync mappings set` and PUT /mappings/{id}."""
    config = load_shop_config(settings, sessions, shop)
    check_room_type(settings, sessions, config, qloapps_room_type_id)
    with transaction(sessions) as session:
        set_room_type_mapping(session, config, qloapps_room_type_id, pms_room_type)
    return next(m for m in list_mappings(sessions, shop) if m.qloapps_room_type_id == qloapps_room_type_id)


def check_room_type(settings: Settings, sessions: sessionmaker[Session], config: ShopConfig,
                    qloapps_room_type_id: int) -> None:
    """MappingError unless QloApps has this room type in the shop's hotel: a mapping of a room type that does
    not exist would never match a booking, and would hide the typo that made it. While QloApps cannot be
    asked, a room type it listed before (an existing mapping) is trusted, so remapping works offline."""
    try:
        with open_client(settings, config) as client:
            known = sorted(t.id for t in hotel_room_types(client, config))
    except QloAppsError as exc:
        with transaction(sessions) as session:
            if qloapps_room_type_id in room_type_mappings(session, config.id):
                return
        raise MappingError(f"cannot check that QloApps shop {config.name!r} has room type {qloapps_room_type_id} "
                           f"({exc}), and no mapping of it exists yet; try again when QloApps answers") from None
    if qloapps_room_type_id not in known:
        raise MappingError(f"QloApps shop {config.name!r} has no room type {qloapps_room_type_id} in hotel "
                           f"{config.id_hotel} (its room types: {', '.join(map(str, known)) or 'none'}; "
                           "`qlosync mappings import` maps them all)")


def import_mappings(settings: Settings, sessions: sessionmaker[Session], shop: str) -> CatalogImport:
    """Map QloApps room types and rooms to PMS ones by name/number, creating what the PMS lacks."""
    config = load_shop_config(settings, sessions, shop)
    with open_client(settings, config) as client, transaction(sessions) as session:
        return import_catalog(session, client, config)


def apply_parked(settings: Settings, engine: Engine, sessions: sessionmaker[Session], shop: str, *,
                 broker: dramatiq.Broker | None = None) -> Counter[str]:
    """Apply the bookings parked for want of a mapping that now exists; outcome counts (empty: none were)."""
    config = load_shop_config(settings, sessions, shop)
    with pull_deps(settings, engine, sessions, config, booking_retrier(shop, broker)) as deps:
        return retry_parked(deps)
