"""Room-type mappings: list them, set one (and apply the bookings that were waiting for it)."""

from __future__ import annotations

import logging
from typing import Annotated

import dramatiq.errors
from fastapi import Depends, Path, Query

from qlosync.api.models import (
    SHOP_PATTERN,
    PmsRoomTypeRef,
    RoomTypeMapping,
    RoomTypeMappingList,
    RoomTypeMappingSet,
    RoomTypeMappingUpdate,
)
from qlosync.api.routes.common import errors, operations_router
from qlosync.fields import INT32_MAX
from qlosync.api.services import ApiServices, services
from qlosync.db.config_store import DEFAULT_SHOP
from qlosync.errors import QlosyncError
from qlosync.ops import mappings as mapping_ops

logger = logging.getLogger(__name__)
router = operations_router("mappings")


def _model(info: mapping_ops.RoomTypeMappingInfo) -> RoomTypeMapping:
    return RoomTypeMapping(
        qloapps_room_type_id=info.qloapps_room_type_id, qloapps_name=info.qloapps_name,
        qloapps_hotel_id=info.qloapps_hotel_id,
        pms_room_type=PmsRoomTypeRef(id=info.pms_room_type_id, code=info.pms_room_type_code,
                                     name=info.pms_room_type_name),
    )


@router.get("/mappings", response_model=RoomTypeMappingList, responses=errors(404), summary="Room-type mappings")
def list_mappings(api: Annotated[ApiServices, Depends(services)],
                  shop: Annotated[str, Query(pattern=SHOP_PATTERN)] = DEFAULT_SHOP) -> RoomTypeMappingList:
    return RoomTypeMappingList(mappings=[_model(info) for info in mapping_ops.list_mappings(api.sessions, shop)])


@router.put("/mappings/{qloapps_room_type_id}", response_model=RoomTypeMappingSet, responses=errors(400, 404, 409),
            summary="Map a QloApps room type to a PMS room type")
def set_mapping(qloapps_room_type_id: Annotated[int, Path(ge=1, le=INT32_MAX)], body: RoomTypeMappingUpdate,
                api: Annotated[ApiServices, Depends(services)]) -> RoomTypeMappingSet:
    """Replaces any earlier mapping of this QloApps room type, then applies the bookings that were parked
    for want of it. 409 when the PMS room type is unknown or already mapped to another QloApps room type.
    The mapping stays saved even when QloApps cannot be reached for the parked bookings (`parked_error`)."""
    info = mapping_ops.set_mapping(api.settings, api.sessions, body.shop, qloapps_room_type_id, body.pms_room_type)
    try:
        counts = mapping_ops.apply_parked(api.settings, api.engine, api.sessions, body.shop, broker=api.broker)
    except (QlosyncError, dramatiq.errors.BrokerConnectionError) as exc:
        logger.warning("Mapping saved, parked bookings not applied: %s: %s", type(exc).__name__, exc,
                       extra={"action": "api_apply_parked_failed"})
        return RoomTypeMappingSet(mapping=_model(info), parked={},
                                  parked_error=f"{type(exc).__name__}: {exc}; they stay parked until the next pull")
    return RoomTypeMappingSet(mapping=_model(info), parked=dict(counts), parked_error=None)
