"""PMS reservation → QloApps booking request, and the checks before sending.

Pure functions over the port's :class:`~qlosync.pms.port.PmsState` (a reservation as the PMS has it now),
so tests can check what would be sent without HTTP. PMS ids are the PMS's opaque text; QloApps ids are ints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date

from qlosync.errors import PermanentError
from qlosync.pms.port import PmsId, PmsState, RoomType
from qlosync.qloapps import bodies
from qlosync.qloapps.errors import QloAppsInvalidRequest
from qlosync.states import ReservationStatus
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

# Stand in for a missing e-mail or phone while the rest is checked (sync/customers.py decides what is sent).
PLACEHOLDER_CHECK = "guest@example.com"
PLACEHOLDER_PHONE = "0000000"


class PushRejected(PermanentError):
    """The reservation cannot be sent to QloApps as it is; the reason says what to fix in the PMS."""


def validate(state: PmsState, room_types: Mapping[PmsId, int], limits: Mapping[PmsId, RoomType], *, today: date,
             pushed_line_ids: Collection[PmsId] = ()) -> None:
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
    if state.status == ReservationStatus.CANCELLED:
        return BOOKING_STATUS_CANCELLED, None
    if state.status == ReservationStatus.REFUNDED:
        return BOOKING_STATUS_REFUNDED, None
    if state.status == ReservationStatus.CONFIRMED:
        return BOOKING_STATUS_AWAITING, PAYMENT_STATUS_COMPLETED
    if state.status == ReservationStatus.PARTIALLY_PAID:
        return BOOKING_STATUS_AWAITING, PAYMENT_STATUS_PARTIAL
    return BOOKING_STATUS_AWAITING, PAYMENT_STATUS_AWAITING


def room_type_lines(state: PmsState, room_types: Mapping[PmsId, int],
                    rooms: Mapping[PmsId, int]) -> tuple[RoomTypeRequest, ...]:
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


def booking_request(state: PmsState, *, id_hotel: int, customer: CustomerDetail, room_types: Mapping[PmsId, int],
                    rooms: Mapping[PmsId, int], order_id: int | None = None, token: str | None = None,
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
