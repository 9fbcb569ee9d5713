"""What the outbound actors and commands do, as plain functions of a Runtime (tests call these without a broker).

A reservation is pushed to the shop of its PMS hotel: the shop that already has its mapping, else the one shop
bound to the reservation's hotel (a shop that names no hotel is bound to the PMS's only hotel). A reservation of
a hotel that no shop syncs is not pushed: the error says so. Rates and availability go to every shop that maps
the room type, each through its own hotel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsConfig, QloAppsReservationMapping, QloAppsRoomTypeMapping
from qlosync.errors import PermanentError
from qlosync.pms import Pms, PmsId, only_hotel_id, open_pms
from qlosync.pms.port import RoomTypeNotInHotel
from qlosync.qloapps.client import QloAppsClient
from qlosync.runtime.context import Runtime
from qlosync.settings import Settings
from qlosync.states import PushAction
from qlosync.sync.conflicts import Side, close_conflict
from qlosync.sync.create_once import settle_window_of
from qlosync.sync.outbound.mapper import PushRejected
from qlosync.sync.outbound.push import PushDeps, PushOptions, PushResult, cancel_deleted, flag_refused, push_reservation
from qlosync.sync.ari.availability import AvailabilityResult, push_availability
from qlosync.sync.ari.rates import RatesResult, push_rates
from qlosync.sync.service import load_shop_config, open_client

logger = logging.getLogger(__name__)
R = TypeVar("R")


class NoShopForReservation(PermanentError):
    """No QloApps shop syncs the PMS hotel of this reservation (or several do and none maps it)."""


class HotelWithoutShop(NoShopForReservation):
    """The reservation's PMS hotel is synced with no QloApps shop: not every hotel of a PMS sells on QloApps."""


@dataclass(frozen=True)
class _Shop:
    name: str
    pms_hotel_id: PmsId | None


def _shops(session: Session) -> list[_Shop]:
    return [_Shop(name, hotel) for name, hotel in session.execute(
        select(QloAppsConfig.name, QloAppsConfig.pms_hotel_id).order_by(QloAppsConfig.name))]


def shops_of_hotel(pms: Pms, shops: Sequence[_Shop], hotel_id: PmsId) -> list[str]:
    """The shops bound to a hotel, enabled or not; a shop naming no hotel counts for the PMS's only one."""
    only = only_hotel_id(pms.hotels()) if any(shop.pms_hotel_id is None for shop in shops) else None
    return [shop.name for shop in shops if (shop.pms_hotel_id if shop.pms_hotel_id is not None else only) == hotel_id]


def shop_name_for(session: Session, reservation_id: PmsId) -> str | None:
    """The shop a reservation is pushed to; None when the PMS has no such reservation (nothing to push)."""
    mapped = session.scalar(select(QloAppsConfig.name).join(
        QloAppsReservationMapping, QloAppsReservationMapping.config_id == QloAppsConfig.id).where(
        QloAppsReservationMapping.pms_reservation_id == reservation_id))
    if mapped is not None:
        return mapped
    pms = open_pms(session)
    hotel_id = pms.hotels_of_reservations([reservation_id]).get(reservation_id)
    if hotel_id is None:
        return None
    names = shops_of_hotel(pms, _shops(session), hotel_id)
    if len(names) == 1:
        return names[0]
    if names:
        raise NoShopForReservation(f"reservation {reservation_id} is in PMS hotel {hotel_id}, which several QloApps "
                                   f"shops sync ({', '.join(names)}), and none of them has it yet")
    raise HotelWithoutShop(f"reservation {reservation_id} is in PMS hotel {hotel_id}, which no QloApps shop "
                           f"syncs: not pushed (`qlosync shops set NAME --pms-hotel {hotel_id}`)")


@contextmanager
def push_deps(settings: Settings, engine: Engine, shop: ShopConfig) -> Iterator[PushDeps]:
    with open_client(settings, shop, engine) as client:
        yield PushDeps(engine=engine, client=client, shop=shop, options=PushOptions.from_settings(settings))


def push(runtime: Runtime, reservation_id: PmsId, mapping_ids: Sequence[int] = (), *,
         prefer: Side | None = None) -> list[PushResult]:
    """Push one reservation (or cancel what a deleted one left in QloApps) to its shop."""
    with runtime.transaction() as session:
        if mapping_ids:
            name = session.scalar(select(QloAppsConfig.name).join(
                QloAppsReservationMapping, QloAppsReservationMapping.config_id == QloAppsConfig.id).where(
                QloAppsReservationMapping.id.in_(list(mapping_ids))))
            if name is None:
                return []
        else:
            try:
                name = shop_name_for(session, reservation_id)
            except HotelWithoutShop as exc:
                # Skipped, not dead-lettered: a hotel that is not on QloApps would fill the DLQ with every change.
                logger.warning("%s", exc, extra={"action": "push", "pms_reservation_id": reservation_id})
                return [PushResult(PushAction.SKIPPED, reservation_id, note=str(exc))]
            if name is None:
                return [PushResult(PushAction.SKIPPED, reservation_id, note="the reservation no longer exists")]
    shop = load_shop_config(runtime.settings, runtime.session_factory, name)
    if not shop.sync_enabled:
        # Not lost: flagged, and `qlosync push --failed` sends it once sync is on again.
        refused = PushRejected(f"sync is disabled for QloApps shop {name!r} (`qlosync config set --enable`, then "
                               f"`qlosync push --failed`)")
        flag_refused(runtime.session_factory, shop, reservation_id, refused)
        raise refused
    with push_deps(runtime.settings, runtime.engine, shop) as deps:
        if mapping_ids:
            return cancel_deleted(deps, mapping_ids, reservation_id)
        return [push_reservation(deps, reservation_id, prefer=prefer)]


def missing_reservations(session: Session, reservation_ids: Sequence[PmsId]) -> set[PmsId]:
    """Which of these ids no PMS reservation has (a push by hand of one is a mistake, not a skip)."""
    return set(reservation_ids) - set(open_pms(session).hotels_of_reservations(reservation_ids))


def flagged_reservations(session: Session) -> list[PmsId]:
    """Reservations whose last push was refused (shown by status; `qlosync push --failed` retries them)."""
    return list(session.scalars(select(QloAppsReservationMapping.pms_reservation_id).where(
        QloAppsReservationMapping.push_error.is_not(None), QloAppsReservationMapping.pms_reservation_id.is_not(None))
        .order_by(QloAppsReservationMapping.pms_reservation_id)))


def resolve_conflict(runtime: Runtime, conflict_id: int, keep: Side) -> PushResult | None:
    """End a manual conflict: *keep*'s version is written to the other side now.

    The conflict is closed first (an open one stops every sync of the reservation); should the push then
    fail, the next change of either side is compared afresh and may open a new conflict.
    """
    with runtime.transaction() as session:
        conflict = close_conflict(session, conflict_id, keep)
        reservation_id = conflict.pms_reservation_id
    if reservation_id is None:
        return None
    return push(runtime, reservation_id, prefer=keep)[0]


def rate_shops(session: Session, pms_room_type_id: PmsId) -> list[str]:
    """The enabled shops that sell this PMS room type (its rates go to each)."""
    return list(session.scalars(
        select(QloAppsConfig.name).join(QloAppsRoomTypeMapping, QloAppsRoomTypeMapping.config_id == QloAppsConfig.id)
        .where(QloAppsRoomTypeMapping.pms_room_type_id == pms_room_type_id, QloAppsConfig.sync_enabled.is_(True))
        .order_by(QloAppsConfig.name)))


def _for_each_shop_selling(runtime: Runtime, pms_room_type_id: PmsId, what: str,
                           push: Callable[[ShopConfig, QloAppsClient], R]) -> list[R]:
    """Run *push* for every enabled shop that sells the PMS room type, each with its own client and hotel.

    A shop bound to another hotel than the room type's (its mapping is wrong) is sent nothing, and does not
    stop the others: the error naming it is raised once they are done.
    """
    with runtime.transaction() as session:
        names = rate_shops(session, pms_room_type_id)
        pms = open_pms(session)
        owner = pms.hotels_of_room_types([pms_room_type_id]).get(pms_room_type_id)
        bound = set(shops_of_hotel(pms, _shops(session), owner)) if owner is not None and names else set()
    if not names:
        logger.info("%s of PMS room type %s: no enabled shop sells it; nothing pushed.", what, pms_room_type_id,
                    extra={"action": "push_skipped"})
    results = []
    for name in (n for n in names if n in bound):
        shop = load_shop_config(runtime.settings, runtime.session_factory, name)
        with open_client(runtime.settings, shop, runtime.engine) as client:
            results.append(push(shop, client))
    misplaced = [n for n in names if n not in bound]
    if misplaced:
        where = f"is in PMS hotel {owner}" if owner is not None else "is not in the PMS"
        raise RoomTypeNotInHotel(f"{what} of PMS room type {pms_room_type_id} not pushed to QloApps shop(s) "
                                 f"{', '.join(misplaced)}: the room type {where}, not in the shop's hotel (map the "
                                 "shop's QloApps room types to its own hotel's: `qlosync mappings set`)")
    return results


def push_rates_job(runtime: Runtime, pms_room_type_id: PmsId, start: date, end: date) -> list[RatesResult]:
    """Push one PMS room type's rates for nights start..end to every enabled shop that sells it."""
    return _for_each_shop_selling(runtime, pms_room_type_id, "Rates", lambda shop, client: push_rates(
        runtime.engine, client, shop, pms_room_type_id, start, end))


def push_availability_job(runtime: Runtime, pms_room_type_id: PmsId, start: date,
                          end: date) -> list[AvailabilityResult]:
    """Hold off sale, in every enabled shop that sells the room type, what the PMS closed or has out of order."""
    settle_after = settle_window_of(runtime.settings)
    return _for_each_shop_selling(runtime, pms_room_type_id, "Availability",
                                  lambda shop, client: push_availability(runtime.engine, client, shop, pms_room_type_id,
                                                                         start, end, settle_after=settle_after))


def rate_reconciliations(session: Session, today: date, days: int) -> list[tuple[PmsId, date, date]]:
    """(PMS room type, first night, last night) for every room type an enabled shop sells: the daily check of
    rates and availability."""
    room_types = sorted(set(session.scalars(
        select(QloAppsRoomTypeMapping.pms_room_type_id).join(
            QloAppsConfig, QloAppsConfig.id == QloAppsRoomTypeMapping.config_id)
        .where(QloAppsConfig.sync_enabled.is_(True)))))
    return [(room_type, today, today + timedelta(days=days - 1)) for room_type in room_types]
