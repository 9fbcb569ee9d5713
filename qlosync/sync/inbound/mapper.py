"""QloApps booking snapshot → the PMS shape, plus the content hash that makes re-applies no-ops.

Pure functions: no database, no HTTP. The hash covers exactly what sync writes to the PMS, so two
snapshots that would write the same rows hash the same, whatever QloApps' volatile fields say.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from qlosync.errors import PermanentError
from qlosync.qloapps.models import BookingSnapshot, RoomBooking
from qlosync.states import CLOSED_STATUSES, ReservationStatus
from qlosync.sync.push_token import without_token

# orders.current_state → PMS reservation status (demo data states, 175).
ORDER_STATE_TO_STATUS: Mapping[int, ReservationStatus] = {
    1: ReservationStatus.PENDING,  # Awaiting payment
    2: ReservationStatus.CONFIRMED,  # Complete payment received
    3: ReservationStatus.CONFIRMED,  # Processing in progress
    4: ReservationStatus.CANCELLED,  # Canceled
    5: ReservationStatus.REFUNDED,  # Refunded
    6: ReservationStatus.PAYMENT_ERROR,  # Payment error
    7: ReservationStatus.CONFIRMED,  # Overbooking (Paid)
    8: ReservationStatus.PARTIALLY_PAID,  # Partial payment received
    9: ReservationStatus.PENDING,  # Awaiting remote payment
    10: ReservationStatus.CONFIRMED,  # Remote payment accepted
    11: ReservationStatus.PENDING,  # Overbooking (Not paid)
    12: ReservationStatus.PARTIALLY_PAID,  # Overbooking (Partial payment)
}
CENT = Decimal("0.01")


class InvalidBookingError(PermanentError):
    """The QloApps booking cannot be represented in the PMS (e.g. no room lines, impossible dates)."""


@dataclass(frozen=True)
class GuestData:
    """The guest as QloApps knows them (read live from the customer record, B9)."""

    qloapps_customer_id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class LineData:
    """One booked room for one stay, with the QloApps ids it came from."""

    qloapps_room_booking_id: int
    qloapps_room_type_id: int
    qloapps_room_id: int
    checkin: date
    checkout: date
    adults: int
    children: int
    child_ages: tuple[int, ...]
    price_without_tax: Decimal
    tax: Decimal
    cancelled: bool


@dataclass(frozen=True)
class ReservationData:
    """Everything inbound sync writes for one QloApps order."""

    qloapps_order_id: int
    status: str
    source: str | None
    currency: str
    total_without_tax: Decimal
    total_tax: Decimal
    total_paid: Decimal
    booked_at: datetime
    reference: str
    guest: GuestData
    lines: tuple[LineData, ...]


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def map_line(room: RoomBooking) -> LineData:
    if room.date_to <= room.date_from:
        raise InvalidBookingError(
            f"room line {room.id} of order {room.id_order} has check-out {room.date_to} not after check-in {room.date_from}"
        )
    price = money(room.total_price_tax_excl)
    return LineData(
        qloapps_room_booking_id=room.id,
        qloapps_room_type_id=room.id_product,
        qloapps_room_id=room.id_room,
        checkin=room.date_from,
        checkout=room.date_to,
        adults=max(room.adults, 0),
        children=max(room.children, 0),
        child_ages=tuple(room.child_ages),
        price_without_tax=price,
        tax=money(room.total_price_tax_incl) - price,
        cancelled=room.is_cancelled,
    )


def map_snapshot(snapshot: BookingSnapshot, currency_by_id: Mapping[int, str]) -> ReservationData:
    """The PMS view of one QloApps booking; raises InvalidBookingError for data that cannot be stored."""
    order = snapshot.order
    if not snapshot.room_bookings:
        raise InvalidBookingError(f"order {order.id} has no room lines in QloApps")
    if snapshot.customer is None:
        raise InvalidBookingError(f"order {order.id}: customer {order.id_customer} does not exist in QloApps")
    customer = snapshot.customer
    lines = tuple(sorted((map_line(r) for r in snapshot.room_bookings), key=lambda line: line.qloapps_room_booking_id))
    status = ORDER_STATE_TO_STATUS.get(order.current_state, ReservationStatus.PENDING)
    if status not in CLOSED_STATUSES:
        # A room cancelled inside a live order frees the room: the PMS keeps only the rooms still booked.
        live = tuple(line for line in lines if not line.cancelled)
        lines = live or lines
        if not live:
            status = ReservationStatus.CANCELLED
    total_without_tax = sum((line.price_without_tax for line in lines), Decimal("0"))
    total_tax = sum((line.tax for line in lines), Decimal("0"))
    return ReservationData(
        qloapps_order_id=order.id,
        status=status,
        source=without_token(order.source) or None,  # a push token is not PMS data
        currency=currency_by_id.get(order.id_currency, "USD"),
        total_without_tax=money(total_without_tax),
        total_tax=money(total_tax),
        total_paid=money(order.total_paid_real),
        booked_at=order.date_add,
        reference=order.reference,
        guest=GuestData(
            qloapps_customer_id=customer.id,
            first_name=customer.firstname.strip(),
            last_name=customer.lastname.strip(),
            email=customer.email.strip() or None,
            phone=customer.phone.strip() or None,
        ),
        lines=lines,
    )


def content_hash(data: ReservationData) -> str:
    """A stable SHA-256 of everything sync would write for this booking, ids of room lines excluded.

    Room-line ids are left out on purpose: QloApps renumbers lines on a date change (B24), and what
    matters is whether the PMS rows would change.
    """
    # The document asdict() would give, built by hand (asdict deep-copies every value: a third of the
    # apply time of a page); the encoded bytes, hence stored hashes, are unchanged.
    g = data.guest
    lines = [
        {"qloapps_room_type_id": x.qloapps_room_type_id, "qloapps_room_id": x.qloapps_room_id, "checkin": x.checkin,
         "checkout": x.checkout, "adults": x.adults, "children": x.children, "child_ages": x.child_ages,
         "price_without_tax": x.price_without_tax, "tax": x.tax, "cancelled": x.cancelled}
        for x in data.lines
    ]
    document = {
        "qloapps_order_id": data.qloapps_order_id, "status": data.status, "source": data.source,
        "currency": data.currency, "total_without_tax": data.total_without_tax, "total_tax": data.total_tax,
        "total_paid": data.total_paid, "booked_at": data.booked_at, "reference": data.reference,
        "guest": {"qloapps_customer_id": g.qloapps_customer_id, "first_name": g.first_name,
                  "last_name": g.last_name, "email": g.email, "phone": g.phone},
        "lines": sorted(lines, key=lambda line: json.dumps(line, sort_keys=True, default=str)),
    }
    encoded = json.dumps(document, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
