"""PMS reservation → QloApps booking request, the PMS-side content hash, and the checks before sending.

Pure functions over :class:`PmsState` (read by :func:`load_state`), so tests can check what would be
sent without HTTP. The hash covers exactly what a push sends; inbound sync stores it after applying a
QloApps booking, so a reservation that came from QloApps is never pushed back unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from qlosync.db.pms import PmsGuest, PmsReservation, PmsRoomType
from qlosync.errors import PermanentError
from qlosync.qloapps import bodies
from qlosync.qloapps.errors import QloAppsInvalidRequest
from qlosync.sync.push_token import with_token
from qlosync.qloapps.models import (
    BOOKING_STATUS_AWAITING,
    BOOKING_STATUS_CANCELLED,
    BOOKING_STATUS_REFUNDED,
    PAYMENT_STATUS_AWAITING,
    PAYMENT_STATUS_COMPLETED,
    PAYMENT_STATUS_PARTIAL,
    BookingRequest,
    CustomerDetail,
    RoomRequest,
    RoomTypeRequest,
)

CLOSED_STATUSES = ("cancelled", "refunded")
# Stand in for a missing e-mail or phone while the rest is checked (sync/customers.py decides what is sent).
PLACEHOLDER_CHECK = "guest@example.com"
PLACEHOLDER_PHONE = "0000000"


class PushRejected(PermanentError):
    """The reservation cannot be sent to QloApps as it is; the reason says what to fix in the PMS."""


@dataclass(frozen=True)
class GuestState:
    id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class LineState:
    id: int
    room_type_id: int
    room_id: int | None
    checkin: date
    checkout: date
    adults: int
    children: int
    child_ages: tuple[int, ...]
    price_without_tax: Decimal


@dataclass(frozen=True)
class PmsState:
    """A PMS reservation as a push sees it (read fresh, never from the message)."""

    reservation_id: int
    status: str
    source: str | None
    total_paid: Decimal
    guest: GuestState
    lines: tuple[LineState, ...]
    changed_at: datetime | None = None  # the newest updated_at of reservation, lines and guest

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES


def state_of(reservation: PmsReservation, guest: PmsGuest, *, with_changed_at: bool = True) -> PmsState:
    """The push view of loaded rows; ``with_changed_at=False`` avoids reloading server-set timestamps."""
    lines = tuple(
        LineState(line.id, line.room_type_id, line.room_id, line.checkin, line.checkout, line.adults, line.children,
                  tuple(int(a) for a in line.child_ages or ()), Decimal(line.price_without_tax).quantize(Decimal("0.01")))
        for line in sorted(reservation.lines, key=lambda line: line.id or 0)
    )
    stamps = [reservation.updated_at, guest.updated_at, *(line.updated_at for line in reservation.lines)] \
        if with_changed_at else []
    return PmsState(
        reservation_id=reservation.id,
        status=reservation.status,
        source=reservation.source,
        total_paid=Decimal(reservation.total_paid or 0),
        guest=GuestState(guest.id, guest.first_name.strip(), guest.last_name.strip(), (guest.email or "").strip() or None,
                         (guest.phone or "").strip() or None),
        lines=lines,
        changed_at=max((s for s in stamps if s is not None), default=None),
    )


def load_state(session: Session, reservation_id: int) -> PmsState | None:
    reservation = session.scalars(
        select(PmsReservation).options(selectinload(PmsReservation.lines)).where(PmsReservation.id == reservation_id)
    ).one_or_none()
    if reservation is None:
        return None
    return state_of(reservation, session.get_one(PmsGuest, reservation.guest_id))


def pms_state_hash(state: PmsState) -> str:
    """SHA-256 of what a push would send: status, guest details and lines (line ids left out)."""
    document = {
        "status": state.status,
        "guest": {k: v for k, v in asdict(state.guest).items() if k != "id"},
        "lines": sorted(
            json.dumps({k: v for k, v in asdict(line).items() if k != "id"}, sort_keys=True, default=str)
            for line in state.lines
        ),
    }
    encoded = json.dumps(document, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def validate(state: PmsState, room_types: Mapping[int, int], limits: Mapping[int, PmsRoomType], *, today: date,
             pushed_line_ids: Collection[int] = ()) -> None:
    """Refuse what QloApps would store wrongly or answer with an empty 500 / a 200 "Fatal error" (B15-B18).

    Lines already in QloApps (``pushed_line_ids``) may have begun in the past (a guest in house); a new
    line must not start before today. A guest without an e-mail or phone is allowed here (see
    sync/customers.py: an existing customer lends its phone; a new customer without one is refused).
    """
    if not state.lines:
        raise PushRejected(f"reservation {state.reservation_id} has no lines")
    unmapped = sorted({line.room_type_id for line in state.lines} - room_types.keys())
    if unmapped:
        raise PushRejected(f"PMS room type(s) {', '.join(map(str, unmapped))} not mapped to a QloApps room type "
                           "(`qlosync mappings set QLO_ROOM_TYPE PMS_ROOM_TYPE`)")
    for line in state.lines:
        where = f"line {line.id} ({line.checkin} to {line.checkout})"
        if line.checkout <= line.checkin:
            raise PushRejected(f"{where}: check-out is not after check-in")
        if line.checkin < today and line.id not in pushed_line_ids:
            raise PushRejected(f"{where}: the stay starts in the past ({today} today)")
        if line.adults < 1:
            raise PushRejected(f"{where}: a room needs at least one adult")
        if line.children != len(line.child_ages):
            raise PushRejected(f"{where}: {line.children} children but {len(line.child_ages)} child ages")
        room_type = limits.get(line.room_type_id)
        if room_type is not None and (line.adults > room_type.max_adults or line.children > room_type.max_children):
            raise PushRejected(f"{where}: {line.adults} adults and {line.children} children exceed room type "
                               f"{room_type.code} (at most {room_type.max_adults} adults, "
                               f"{room_type.max_children} children)")
    try:
        bodies.check_person(state.guest.first_name, state.guest.last_name, state.guest.email or PLACEHOLDER_CHECK,
                            state.guest.phone or PLACEHOLDER_PHONE)
    except QloAppsInvalidRequest as exc:
        raise PushRejected(f"guest {state.guest.id}: {exc}") from None


def booking_statuses(state: PmsState) -> tuple[int, int | None]:
    """(booking_status, payment_status) of a POST or PUT (B20, B26)."""
    if state.status == "cancelled":
        return BOOKING_STATUS_CANCELLED, None
    if state.status == "refunded":
        return BOOKING_STATUS_REFUNDED, None
    if state.status == "confirmed":
        return BOOKING_STATUS_AWAITING, PAYMENT_STATUS_COMPLETED
    if state.status == "partially_paid":
        return BOOKING_STATUS_AWAITING, PAYMENT_STATUS_PARTIAL
    return BOOKING_STATUS_AWAITING, PAYMENT_STATUS_AWAITING


def room_type_lines(state: PmsState, room_types: Mapping[int, int], rooms: Mapping[int, int]) -> tuple[RoomTypeRequest, ...]:
    """The complete room list, grouped by QloApps room type and stay; rooms pinned where the PMS chose one."""
    groups: dict[tuple[int, date, date], list[RoomRequest]] = defaultdict(list)
    for line in state.lines:
        groups[(room_types[line.room_type_id], line.checkin, line.checkout)].append(
            RoomRequest(
                adults=line.adults, children=line.children, child_ages=line.child_ages,
                id_room=rooms.get(line.room_id) if line.room_id is not None else None,
                unit_price_without_tax=line.price_without_tax if line.price_without_tax > 0 else None,
            )
        )
    return tuple(RoomTypeRequest(rt, checkin, checkout, rooms=tuple(rs))
                 for (rt, checkin, checkout), rs in sorted(groups.items()))


def booking_request(state: PmsState, *, id_hotel: int, customer: CustomerDetail, room_types: Mapping[int, int],
                    rooms: Mapping[int, int], order_id: int | None = None, token: str | None = None,
                    currency: str = "USD") -> BookingRequest:
    """A POST (order_id None: carries the token in ``source``) or the full PUT of an existing booking (B23)."""
    booking_status, payment_status = booking_statuses(state)
    paid = state.total_paid if payment_status == PAYMENT_STATUS_PARTIAL and state.total_paid > 0 else None
    return BookingRequest(
        id=order_id,
        id_property=id_hotel,
        currency=currency,
        customer=customer,
        room_types=room_type_lines(state, room_types, rooms),
        booking_status=booking_status,
        payment_status=payment_status if order_id is None else None,
        source=with_token(state.source, token) if token else None,
        remark=f"PMS reservation {state.reservation_id}" if order_id is None else None,
        total_paid=paid if order_id is None else None,
    )
