"""Adopting the workers' room type, room and customer mappings into qlosync's mapping tables of one shop.

Each row is added when qlosync has nothing for either of its ids, counted as already there when qlosync has
the same, and refused (with the reason) when qlosync, or an earlier row of the same table, maps one of its
ids elsewhere: the first mapping of an id wins, as the unique keys of qlosync's tables require.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync import fields
from qlosync.db.models import QloAppsCustomerMapping, QloAppsRoomMapping, QloAppsRoomTypeMapping
from qlosync.fields import InvalidValueError
from qlosync.ops.adopt.report import HotelAdoption
from qlosync.pms.hotelmanangement.takeover import CustomerLink, RoomLink, RoomTypeLink
from qlosync.states import MatchMethod

#: The workers' ``match_type`` as qlosync's match method ('booking': a guest made from a booking).
MATCH_METHODS = {"email": MatchMethod.EMAIL, "phone": MatchMethod.PHONE_NAME, "manual": MatchMethod.MANUAL,
                 "booking": MatchMethod.CREATED}


def qloapps_id(value: str) -> int | None:
    """A QloApps id the workers stored as text; None when it is not one."""
    try:
        return fields.positive_int32(value)
    except InvalidValueError:
        return None


def other_hotel(qloapps_hotel_id: str, shop_hotel_id: int) -> str | None:
    if qloapps_hotel_id != str(shop_hotel_id):
        return f"it is for QloApps hotel {qloapps_hotel_id}, the shop syncs hotel {shop_hotel_id}"
    return None


INACTIVE = "inactive in the workers' table"


def adopt_room_types(session: Session, config_id: int, qloapps_hotel_id: int, links: tuple[RoomTypeLink, ...],
                     outcome: HotelAdoption) -> dict[str, int]:
    """Adopt the room type mappings; every PMS room type id -> QloApps room type id the shop maps now."""
    tally = outcome.tallies["room types"]
    rows = session.scalars(select(QloAppsRoomTypeMapping).where(QloAppsRoomTypeMapping.config_id == config_id)).all()
    by_qloapps = {row.qloapps_room_type_id: row.pms_room_type_id for row in rows}
    by_pms = {row.pms_room_type_id: row.qloapps_room_type_id for row in rows}
    for link in links:
        what = f"room type mapping QloApps {link.qloapps_product_id} -> PMS {link.local_room_type_id}"
        qid = qloapps_id(link.qloapps_product_id)
        if not link.active:
            outcome.refuse(what, INACTIVE)
        elif qid is None:
            outcome.refuse(what, f"{link.qloapps_product_id!r} is not a QloApps room type id")
        elif (other := other_hotel(link.qloapps_hotel_id, qloapps_hotel_id)) is not None:
            outcome.refuse(what, other)
        elif not link.known:
            outcome.refuse(what, "unknown room type: the PMS has no live room type with that id in this hotel")
        elif by_qloapps.get(qid) == link.local_room_type_id:
            tally.already += 1
        elif qid in by_qloapps:
            outcome.refuse(what, f"QloApps room type {qid} is mapped to PMS room type {by_qloapps[qid]} already")
        elif link.local_room_type_id in by_pms:
            outcome.refuse(what, f"the PMS room type is mapped to QloApps room type "
                                 f"{by_pms[link.local_room_type_id]} already")
        else:
            session.add(QloAppsRoomTypeMapping(config_id=config_id, qloapps_room_type_id=qid,
                                               qloapps_hotel_id=qloapps_hotel_id,
                                               pms_room_type_id=link.local_room_type_id))
            by_qloapps[qid], by_pms[link.local_room_type_id] = link.local_room_type_id, qid
            tally.adopted += 1
    return by_pms


def adopt_rooms(session: Session, config_id: int, qloapps_hotel_id: int, room_types: dict[str, int],
                links: tuple[RoomLink, ...], outcome: HotelAdoption) -> None:
    """Adopt the room mappings; a room's QloApps room type is the one its PMS room type is mapped to."""
    tally = outcome.tallies["rooms"]
    rows = session.scalars(select(QloAppsRoomMapping).where(QloAppsRoomMapping.config_id == config_id)).all()
    by_qloapps = {row.qloapps_room_id: row.pms_room_id for row in rows}
    by_pms = {row.pms_room_id: row.qloapps_room_id for row in rows}
    for link in links:
        what = f"room mapping QloApps {link.qloapps_room_id} -> PMS {link.local_room_id}"
        qid = qloapps_id(link.qloapps_room_id)
        qloapps_room_type = room_types.get(link.local_room_type_id or "")
        if not link.active:
            outcome.refuse(what, INACTIVE)
        elif qid is None:
            outcome.refuse(what, f"{link.qloapps_room_id!r} is not a QloApps room id")
        elif (other := other_hotel(link.qloapps_hotel_id, qloapps_hotel_id)) is not None:
            outcome.refuse(what, other)
        elif link.room_number is None:
            outcome.refuse(what, "unknown room: the PMS has no room with that id in this hotel")
        elif by_qloapps.get(qid) == link.local_room_id:
            tally.already += 1
        elif qid in by_qloapps:
            outcome.refuse(what, f"QloApps room {qid} is mapped to PMS room {by_qloapps[qid]} already")
        elif link.local_room_id in by_pms:
            outcome.refuse(what, f"the PMS room is mapped to QloApps room {by_pms[link.local_room_id]} already")
        elif qloapps_room_type is None:
            outcome.refuse(what, "its room type is not mapped to a QloApps room type")
        else:
            session.add(QloAppsRoomMapping(config_id=config_id, qloapps_room_id=qid,
                                           qloapps_room_type_id=qloapps_room_type, pms_room_id=link.local_room_id,
                                           room_number=link.room_number))
            by_qloapps[qid], by_pms[link.local_room_id] = link.local_room_id, qid
            tally.adopted += 1


def adopt_customers(session: Session, config_id: int, qloapps_hotel_id: int, links: tuple[CustomerLink, ...],
                    outcome: HotelAdoption) -> None:
    """Adopt the customer mappings (a guest may have several QloApps customers, a customer one guest)."""
    tally = outcome.tallies["customers"]
    by_qloapps = {customer: guest for customer, guest in session.execute(
        select(QloAppsCustomerMapping.qloapps_customer_id, QloAppsCustomerMapping.pms_guest_id)
        .where(QloAppsCustomerMapping.config_id == config_id))}
    for link in links:
        what = f"customer mapping QloApps {link.qloapps_customer_id} -> PMS guest {link.local_guest_id}"
        qid = qloapps_id(link.qloapps_customer_id)
        if not link.active:
            outcome.refuse(what, INACTIVE)
        elif qid is None:
            outcome.refuse(what, f"{link.qloapps_customer_id!r} is not a QloApps customer id")
        elif (other := other_hotel(link.qloapps_hotel_id, qloapps_hotel_id)) is not None:
            outcome.refuse(what, other)
        elif not link.known:
            outcome.refuse(what, "unknown guest: the PMS has no live guest with that id in this hotel")
        elif by_qloapps.get(qid) == link.local_guest_id:
            tally.already += 1
        elif qid in by_qloapps:
            outcome.refuse(what, f"QloApps customer {qid} is mapped to PMS guest {by_qloapps[qid]} already")
        else:
            session.add(QloAppsCustomerMapping(config_id=config_id, qloapps_customer_id=qid,
                                               pms_guest_id=link.local_guest_id,
                                               match_method=MATCH_METHODS.get(link.match_type or "",
                                                                              MatchMethod.MANUAL)))
            by_qloapps[qid] = link.local_guest_id
            tally.adopted += 1
