"""Closed nights and out-of-order rooms: taken off sale in QloApps with one stop-sell booking per room type.

QloApps derives what it sells from its rooms and bookings; its inventory call breaks rooms (B42) and a
room status change is all-or-nothing and unproven to hide a room from search (275). A booking is the
one thing the real API reliably honours (B15-B24), so qlosync holds, per room type, one booking of its
own ("Stop Sell", source ``qlosync stop-sell [qlosync:TOKEN]``, price 0) whose room lines take exactly
the rooms the PMS does not want sold:

* a closed night: every room the guests leave free that night;
* out-of-order rooms: as many rooms as are out of order that night (never more than are free).

Counts, not physical rooms: lines are one night each (``number_of_rooms`` = rooms to hold), because a
PUT keeps lines matched by room type and stay and re-allocates changed ones while the old still hold
their rooms (B23, B24): one-night lines change by whole lines and never fight themselves. Guests are
counted on both sides (QloApps' room lines and the PMS's live reservations, the larger), so a walk-in the
PMS has not pushed yet keeps its room. The booking is created exactly once (token, intent, reconcile,
like a reservation), updated with one full PUT, and cancelled when nothing is held any more. The pull
never imports it. See docs/ari.md for the trade-offs.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsRoomMapping, QloAppsStopSellBlock
from qlosync.pms import open_pms, shop_hotel
from qlosync.pms.port import PmsId
from qlosync.states import LogLevel
from qlosync.db.session import transaction
from qlosync.errors import TransientError
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import (
    BOOKING_STATUS_AWAITING,
    PAYMENT_STATUS_AWAITING,
    BookingRequest,
    CustomerDetail,
    RoomBooking,
    RoomRequest,
    RoomTypeRequest,
)
from qlosync.sync.sync_log import sync_log
from qlosync.sync.locks import held_lock
from qlosync.sync.push_token import STOP_SELL_SOURCE, new_token, with_token
from qlosync.sync.ari.rates import qloapps_room_type
from qlosync.db.guest_keys import PLACEHOLDER_DOMAIN
from qlosync.sync.create_once import DEFAULT_SETTLE_WINDOW, earlier_create

logger = logging.getLogger(__name__)

STOP_SELL_CUSTOMER = CustomerDetail("Stop", "Sell", f"stop-sell@{PLACEHOLDER_DOMAIN}", "0000000000")


class AvailabilityPending(TransientError):
    """The stop-sell booking's read-back differs from what was asked (a create still settling is a
    :class:`~qlosync.sync.create_once.CreatePending`)."""


@dataclass
class AvailabilityResult:
    qloapps_room_type_id: int
    action: str  # created, updated, released, unchanged
    held: dict[date, int] = field(default_factory=dict)  # night -> rooms held off sale
    short: dict[date, int] = field(default_factory=dict)  # night -> rooms the PMS wants off sale but guests hold
    requests: int = 0


def _nights(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _line_nights(rb: RoomBooking) -> list[date]:
    return _nights(rb.date_from, rb.date_to - timedelta(days=1))


def pms_calendar(session: Session, shop: ShopConfig, pms_room_type_id: PmsId, first: date,
                 last: date) -> tuple[set[date], Counter[date], Counter[date], int | None]:
    """In first..last, from the shop's PMS hotel: the closed nights, per night how many rooms of the type are out
    of order, per night its live reservation lines (pushed or not), and how many rooms it sells at most (None:
    all that are mapped)."""
    hotel = shop_hotel(open_pms(session), shop.pms_hotel_id)
    return (hotel.closed_nights(pms_room_type_id, first, last),
            hotel.rooms_out_of_order(pms_room_type_id, first, last),
            hotel.rooms_sold(pms_room_type_id, first, last),
            hotel.sellable_rooms(pms_room_type_id))


def plan_holds(nights: list[date], total: int, closed: set[date], out_of_order: Counter[date],
               guests: Counter[date]) -> tuple[dict[date, int], dict[date, int]]:
    """Rooms to hold per night, and per night the rooms that should be off sale but are taken by guests."""
    hold, short = {}, {}
    for night in nights:
        free = max(total - guests[night], 0)
        want = free if night in closed else out_of_order[night]
        if want > free:
            short[night] = want - free
        if min(want, free) > 0:
            hold[night] = min(want, free)
    return hold, short


def _request(qlo_room_type: int, id_hotel: int, hold: dict[date, int], order_id: int | None,
             token: str | None) -> BookingRequest:
    lines = tuple(RoomTypeRequest(qlo_room_type, night, night + timedelta(days=1),
                                  rooms=tuple(RoomRequest(adults=1, unit_price_without_tax=Decimal(0))
                                              for _ in range(count)))
                  for night, count in sorted(hold.items()))
    return BookingRequest(id=order_id, id_property=id_hotel, currency="USD", customer=STOP_SELL_CUSTOMER,
                          room_types=lines, booking_status=BOOKING_STATUS_AWAITING,
                          payment_status=PAYMENT_STATUS_AWAITING if order_id is None else None,
                          source=with_token(STOP_SELL_SOURCE, token) if token else None,
                          remark="Rooms taken off sale by qlosync (closed nights, rooms out of order)"
                          if order_id is None else None)


def push_availability(engine: Engine, client: QloAppsClient, shop: ShopConfig, pms_room_type_id: PmsId, first: date,
                      last: date, *, settle_after: timedelta = DEFAULT_SETTLE_WINDOW,
                      lock_timeout_s: float = 15.0) -> AvailabilityResult:
    """Make QloApps sell none of the rooms the PMS closed or has out of order on nights first..last."""
    before = client.request_count
    with held_lock(engine, "availability", shop.id, pms_room_type_id, timeout_s=lock_timeout_s) as connection:
        factory = sessionmaker(bind=connection, expire_on_commit=False)
        with transaction(factory) as session:
            qlo = qloapps_room_type(session, shop, pms_room_type_id)
            total = _total_rooms(session, shop, qlo)
            block = _block(session, shop, qlo)
            order_id, token, attempted = block.qloapps_order_id, block.push_token, block.push_attempted_at
        if order_id is None:
            order_id = earlier_create(client, token, attempted, [STOP_SELL_CUSTOMER.email], settle_after,
                                      f"the stop-sell booking of QloApps room type {qlo}")
        order_id, held_now, target, short = _plan(factory, client, shop, qlo, total, order_id, pms_room_type_id,
                                                  first, last)
        action = "unchanged"
        if target != held_now:
            if not target:
                # target differs from held_now, so held_now holds nights: only an existing order holds any (_held).
                assert order_id is not None
                client.cancel_booking(order_id)
                order_id, action = None, "released"
            elif order_id is None:
                token = new_token()
                with transaction(factory) as session:
                    row = _block(session, shop, qlo)
                    row.push_token, row.push_attempted_at = token, datetime.now(UTC)
                order_id = client.create_booking(_request(qlo, shop.id_hotel, target, None, token)).id
                action = "created"
            else:
                client.update_booking(_request(qlo, shop.id_hotel, target, order_id, None))
                action = "updated"
        order_id, after = _held(client, order_id) if action != "unchanged" else (order_id, held_now)
        with transaction(factory) as session:
            row = _block(session, shop, qlo)
            row.qloapps_order_id = order_id
            if order_id is None:
                row.push_token = row.push_attempted_at = None
            row.blocked = [[n.isoformat(), c] for n, c in sorted(after.items())]
            row.conflicts = [[n.isoformat(), c] for n, c in sorted(short.items())]
            details: dict[str, Any] = {"pms_room_type_id": pms_room_type_id, "from": first.isoformat(), "to": last.isoformat(),
                       "held_room_nights": sum(after.values())}
            if short:
                sync_log(session, shop, LogLevel.WARNING, qlo, "stop_sell_short",
                         f"{sum(short.values())} room-nights should be off sale but guests hold them, first "
                         f"{min(short)}", entity_type="room_type", **details)
            if after != target:
                sync_log(session, shop, LogLevel.ERROR, qlo, "stop_sell_mismatch",
                         f"QloApps holds {sum(after.values())} room-nights, qlosync asked for {sum(target.values())}",
                         entity_type="room_type", **details)
            elif action != "unchanged":
                sync_log(session, shop, LogLevel.INFO, qlo, f"stop_sell_{action}", None, entity_type="room_type", **details)
    if after != target:
        raise AvailabilityPending(f"QloApps room type {qlo}: the stop-sell booking holds other nights than asked")
    result = AvailabilityResult(qlo, action, {n: c for n, c in after.items() if first <= n <= last}, short,
                                client.request_count - before)
    logger.info("Availability of QloApps room type %s, %s..%s: %s, %s room-nights held, %s short.", qlo, first, last,
                action, sum(result.held.values()), sum(short.values()), extra={"action": "push_availability"})
    return result


def _plan(factory: sessionmaker[Session], client: QloAppsClient, shop: ShopConfig, qlo: int, total: int,
          order_id: int | None, pms_room_type_id: PmsId, first: date, last: date
          ) -> tuple[int | None, dict[date, int], dict[date, int], dict[date, int]]:
    """(usable stop-sell order, what it holds now, what it should hold, what it cannot take) for first..last."""
    order_id, held_now = _held(client, order_id)
    overlapping = client.get_room_bookings_between(qlo, first, last + timedelta(days=1))
    qlo_guests: Counter[date] = Counter()
    for rb in overlapping:
        if rb.id_order != order_id and not rb.is_cancelled:
            qlo_guests.update(n for n in _line_nights(rb) if first <= n <= last)
    with transaction(factory) as session:
        closed, out_of_order, guests, sellable = pms_calendar(session, shop, pms_room_type_id, first, last)
    if sellable is not None:
        # A PMS with a number of sellable rooms of its own: holds are counted against it when it is lower.
        total = min(total, sellable)
    nights = _nights(first, last)
    guests = Counter({n: max(qlo_guests[n], guests[n]) for n in nights})
    hold_in_window, short = plan_holds(nights, total, closed, out_of_order, guests)
    target = {n: c for n, c in held_now.items() if not first <= n <= last} | hold_in_window
    return order_id, held_now, target, short


def availability_diff(session_factory: sessionmaker[Session], client: QloAppsClient, shop: ShopConfig,
                      pms_room_type_id: PmsId, first: date, last: date) -> list[tuple[date, int, int, int]]:
    """(night, rooms held off sale now, rooms to hold, rooms guests keep from being held) where they differ; no writes."""
    with transaction(session_factory) as session:
        qlo = qloapps_room_type(session, shop, pms_room_type_id)
        total = _total_rooms(session, shop, qlo)
        order_id = session.scalar(select(QloAppsStopSellBlock.qloapps_order_id).where(
            QloAppsStopSellBlock.config_id == shop.id, QloAppsStopSellBlock.qloapps_room_type_id == qlo))
    _order, held, target, short = _plan(session_factory, client, shop, qlo, total, order_id, pms_room_type_id, first,
                                        last)
    return [(n, held.get(n, 0), target.get(n, 0), short.get(n, 0)) for n in _nights(first, last)
            if held.get(n, 0) != target.get(n, 0) or short.get(n, 0)]


def _total_rooms(session: Session, shop: ShopConfig, qlo: int) -> int:
    return session.scalar(select(func.count()).select_from(QloAppsRoomMapping).where(
        QloAppsRoomMapping.config_id == shop.id, QloAppsRoomMapping.qloapps_room_type_id == qlo)) or 0


def _block(session: Session, shop: ShopConfig, qlo: int) -> QloAppsStopSellBlock:
    row = session.scalars(select(QloAppsStopSellBlock).where(
        QloAppsStopSellBlock.config_id == shop.id, QloAppsStopSellBlock.qloapps_room_type_id == qlo)
        .with_for_update()).one_or_none()
    if row is None:
        row = QloAppsStopSellBlock(config_id=shop.id, qloapps_room_type_id=qlo)
        session.add(row)
        session.flush()
    return row


def _held(client: QloAppsClient, order_id: int | None) -> tuple[int | None, dict[date, int]]:
    """The stop-sell order still usable (None once cancelled, e.g. by hand) and night -> rooms it holds."""
    if order_id is None:
        return None, {}
    lines = client.get_room_bookings_for_orders([order_id])
    if lines and all(rb.is_cancelled for rb in lines):
        return None, {}  # a cancelled booking cannot be reopened: the next hold makes a new one
    held: Counter[date] = Counter()
    for rb in lines:
        if not rb.is_cancelled:
            held.update(_line_nights(rb))
    return order_id, dict(held)
