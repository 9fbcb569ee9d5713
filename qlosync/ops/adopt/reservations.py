"""Adopting the workers' reservation mappings: what makes the next pull and push find each booking again.

The workers kept one row per PMS reservation, and what its ``qloapps_order_id`` holds depends on its source:

* 'pms' (their push made the order): the ORDER id. qlosync maps the order to that PMS reservation, a group of
  its own (origin pms): the relay updates that order instead of creating another.
* 'qloapps' and 'ota' (their pull made the reservation): the id of one ROOM_BOOKINGS row (one booked room).
  Its order is asked of the shop's QloApps, for all rows at once (:func:`resolve`). The PMS reservations of one
  order become ONE port reservation: a group in ``hms_reservation_groups`` named by its oldest live member
  (the anchor), one reservation mapping per order (origin qloapps), and each room line mapped to line 1 of
  its PMS reservation (``"<reservation uuid>#1"``). The next pull then updates them instead of importing
  the order again.

A row that qlosync (or an earlier row) already maps differently is refused with the reason, never changed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from qlosync.db.models import QloAppsReservationMapping, QloAppsRoomLineMapping
from qlosync.ops.adopt.catalog import INACTIVE, other_hotel, qloapps_id
from qlosync.ops.adopt.report import HotelAdoption
from qlosync.pms.hotelmanangement.tables import HmsReservationGroup
from qlosync.pms.hotelmanangement.takeover import ReservationLink
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.errors import QloAppsError
from qlosync.states import Side

PUSHED = "pms"  # the workers' source of a reservation their push sent to QloApps (an order id)


@dataclass(frozen=True)
class Resolution:
    """room_bookings id -> (its order, its QloApps hotel), as QloApps answered; or why it could not answer."""

    lines: dict[int, tuple[int, int]] = field(default_factory=dict)
    error: str | None = None


def line_id(reservation_id: str) -> str:
    """The port's id of the first line of a PMS reservation (the adapter's ``"<uuid>#<k>"``)."""
    return f"{reservation_id}#1"


def _problem(link: ReservationLink, qloapps_hotel_id: int) -> str | None:
    """Why a row cannot be adopted whatever QloApps says (None: it may be)."""
    if not link.active:
        return INACTIVE
    if link.created_at is None:
        return "unknown reservation: the PMS has no reservation with that id in this hotel"
    if (other := other_hotel(link.qloapps_hotel_id, qloapps_hotel_id)) is not None:
        return other
    if qloapps_id(link.qloapps_order_id) is None:
        return f"{link.qloapps_order_id!r} is not a QloApps id"
    return None


def _describe(link: ReservationLink) -> str:
    held = "QloApps order" if link.source == PUSHED else "room_bookings"
    return f"reservation {link.local_reservation_id} ({held} {link.qloapps_order_id}, source {link.source})"


def room_booking_ids(links: tuple[ReservationLink, ...], qloapps_hotel_id: int) -> list[int]:
    """The room_bookings ids to resolve: those of the pulled rows that may be adopted."""
    out = []
    for link in links:
        number = qloapps_id(link.qloapps_order_id)
        if link.source != PUSHED and number is not None and _problem(link, qloapps_hotel_id) is None:
            out.append(number)
    return sorted(set(out))


def resolve(client: QloAppsClient, ids: list[int]) -> Resolution:
    """Ask QloApps which order each room_bookings id belongs to: one request per page of ids (filter[id])."""
    if not ids:
        return Resolution()
    try:
        found = client.get_room_bookings(ids)
    except QloAppsError as exc:
        return Resolution(error=f"{type(exc).__name__}: {exc}")
    return Resolution({line.id: (line.id_order, line.id_hotel) for line in found})


@dataclass
class _Known:
    """What qlosync already maps, for the reservations and lines at stake."""

    orders: dict[int, str | None]  # this shop's QloApps order -> PMS reservation
    reservations: dict[str, tuple[int, int | None]]  # PMS reservation -> (shop, order), any shop
    groups: dict[str, str]  # PMS reservation -> its group
    by_line: dict[int, str]  # this shop's room_bookings id -> PMS line
    lines: dict[str, tuple[int, int]]  # PMS line -> (shop, room_bookings id), any shop

    @classmethod
    def load(cls, session: Session, config_id: int, links: tuple[ReservationLink, ...]) -> _Known:
        ids = [link.local_reservation_id for link in links]
        booking_ids = [n for link in links if link.source != PUSHED and (n := qloapps_id(link.qloapps_order_id))]
        mappings = session.execute(select(QloAppsReservationMapping.config_id, QloAppsReservationMapping.qloapps_order_id,
                                          QloAppsReservationMapping.pms_reservation_id).where(or_(
            QloAppsReservationMapping.config_id == config_id,
            QloAppsReservationMapping.pms_reservation_id.in_(ids)))).all()
        line_rows = session.execute(select(
            QloAppsRoomLineMapping.config_id, QloAppsRoomLineMapping.qloapps_room_booking_id,
            QloAppsRoomLineMapping.pms_reservation_line_id).where(or_(
                (QloAppsRoomLineMapping.config_id == config_id)
                & QloAppsRoomLineMapping.qloapps_room_booking_id.in_(booking_ids),
                QloAppsRoomLineMapping.pms_reservation_line_id.in_([line_id(i) for i in ids])))).all()
        return cls(
            orders={order: reservation for shop, order, reservation in mappings
                    if shop == config_id and order is not None},
            reservations={reservation: (shop, order) for shop, order, reservation in mappings
                          if reservation is not None and reservation in set(ids)},
            groups={reservation: group for reservation, group in session.execute(
                select(HmsReservationGroup.reservation_id, HmsReservationGroup.group_id)
                .where(HmsReservationGroup.reservation_id.in_(ids)))},
            by_line={booking: line for shop, booking, line in line_rows if shop == config_id},
            lines={line: (shop, booking) for shop, booking, line in line_rows})


def adopt_reservations(session: Session, config_id: int, hotel_id: str, qloapps_hotel_id: int,
                       links: tuple[ReservationLink, ...], resolution: Resolution, outcome: HotelAdoption) -> None:
    known = _Known.load(session, config_id, links)
    pulled: dict[int, list[tuple[ReservationLink, int]]] = defaultdict(list)
    for link in links:
        problem = _problem(link, qloapps_hotel_id)
        number = qloapps_id(link.qloapps_order_id)
        if problem is not None or number is None:
            outcome.refuse(_describe(link), problem or "not a QloApps id")
        elif link.source == PUSHED:
            _adopt_pushed(session, config_id, link, number, known, outcome)
        elif resolution.error is not None:
            outcome.refuse(_describe(link), f"QloApps could not be asked which order it belongs to: {resolution.error}")
        elif number not in resolution.lines:
            outcome.refuse(_describe(link), f"QloApps has no room_bookings {number}")
        elif resolution.lines[number][1] != qloapps_hotel_id:
            outcome.refuse(_describe(link), f"QloApps has room_bookings {number} in hotel {resolution.lines[number][1]}, "
                                            f"the shop syncs hotel {qloapps_hotel_id}")
        else:
            pulled[resolution.lines[number][0]].append((link, number))
    for order in sorted(pulled):
        _adopt_pulled(session, config_id, hotel_id, order, pulled[order], known, outcome)


def _adopt_pushed(session: Session, config_id: int, link: ReservationLink, order: int, known: _Known,
                  outcome: HotelAdoption) -> None:
    reservation = link.local_reservation_id
    tally = outcome.tallies["reservations"]
    if known.orders.get(order) == reservation:
        tally.already += 1
    elif order in known.orders:
        outcome.refuse(_describe(link), f"qlosync maps QloApps order {order} to PMS reservation "
                                        f"{known.orders[order]} already")
    elif reservation in known.reservations:
        outcome.refuse(_describe(link), f"qlosync maps the PMS reservation to QloApps order "
                                        f"{known.reservations[reservation][1]} already")
    elif known.groups.get(reservation, reservation) != reservation:
        outcome.refuse(_describe(link), f"the PMS reservation is in group {known.groups[reservation]} already")
    else:
        session.add(QloAppsReservationMapping(config_id=config_id, qloapps_order_id=order,
                                              pms_reservation_id=reservation, origin=Side.PMS))
        known.orders[order], known.reservations[reservation] = reservation, (config_id, order)
        tally.adopted += 1
        outcome.orders += 1


def _oldest_live_first(member: tuple[ReservationLink, int]) -> tuple[bool, datetime, str]:
    link = member[0]
    assert link.created_at is not None  # unknown reservations were refused before
    return (link.deleted, link.created_at, link.local_reservation_id)


def _adopt_pulled(session: Session, config_id: int, hotel_id: str, order: int,
                  members: list[tuple[ReservationLink, int]], known: _Known, outcome: HotelAdoption) -> None:
    """One QloApps order's PMS reservations as one group, mapped whole or not at all."""
    members = sorted(members, key=_oldest_live_first)
    anchor = members[0][0].local_reservation_id
    problems = []
    if order in known.orders and known.orders[order] != anchor:
        problems.append(f"qlosync maps the order to PMS reservation {known.orders[order]} already")
    for link, booking in members:
        reservation = link.local_reservation_id
        mapped = known.reservations.get(reservation)
        if mapped is not None and (reservation != anchor or mapped != (config_id, order)):
            problems.append(f"qlosync maps PMS reservation {reservation} to QloApps order {mapped[1]} already")
        if known.groups.get(reservation, anchor) != anchor:
            problems.append(f"PMS reservation {reservation} is in group {known.groups[reservation]} already")
        if known.by_line.get(booking, line_id(reservation)) != line_id(reservation):
            problems.append(f"qlosync maps room_bookings {booking} to PMS line {known.by_line[booking]} already")
        if known.lines.get(line_id(reservation), (config_id, booking)) != (config_id, booking):
            problems.append(f"qlosync maps PMS line {line_id(reservation)} to room_bookings "
                            f"{known.lines[line_id(reservation)][1]} already")
    tally = outcome.tallies["reservations"]
    if problems:
        reservations = ", ".join(link.local_reservation_id for link, _ in members)
        outcome.refuse(f"QloApps order {order} (PMS reservation(s) {reservations})", "; ".join(problems))
        return
    new = False
    if order not in known.orders:
        session.add(QloAppsReservationMapping(config_id=config_id, qloapps_order_id=order, pms_reservation_id=anchor,
                                              origin=Side.QLOAPPS))
        known.orders[order], known.reservations[anchor] = anchor, (config_id, order)
        new = True
    for link, booking in members:
        reservation = link.local_reservation_id
        if reservation not in known.groups:
            session.add(HmsReservationGroup(reservation_id=reservation, group_id=anchor, hotel_id=hotel_id))
            known.groups[reservation] = anchor
            new = True
        if booking not in known.by_line:
            session.add(QloAppsRoomLineMapping(config_id=config_id, qloapps_order_id=order,
                                               qloapps_room_booking_id=booking,
                                               pms_reservation_line_id=line_id(reservation)))
            known.by_line[booking], known.lines[line_id(reservation)] = line_id(reservation), (config_id, booking)
            new = True
    if new:
        tally.adopted += len(members)
        outcome.orders += 1
    else:
        tally.already += len(members)
