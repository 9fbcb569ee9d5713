"""A small API over the reference PMS for hosts and tests: create, modify and cancel a reservation.

Nothing here talks to QloApps or the outbox: the database triggers capture every change (these
functions, the ORM or plain SQL alike) into ``pms_outbox`` in the caller's transaction, and the relay
pushes it. The caller owns the transaction. A reservation belongs to the hotel of its room types; a guest
found or created for it, to the same hotel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.errors import PermanentError
from qlosync.pms.builtin.tables import PmsGuest, PmsReservation, PmsReservationLine, PmsRoomType
from qlosync.pms.builtin.guest_email import guests_with_email, pick_by_email, usable_email
from qlosync.states import ReservationStatus


class ReservationNotFound(PermanentError):
    """No PMS reservation with that id."""


@dataclass(frozen=True)
class GuestInput:
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class LineInput:
    """One room for one stay; ``price`` is the whole stay without tax (None: let QloApps price it)."""

    room_type_id: int
    checkin: date
    checkout: date
    adults: int = 2
    child_ages: Sequence[int] = field(default_factory=tuple)
    room_id: int | None = None
    price: Decimal | None = None


def find_or_create_guest(session: Session, guest: GuestInput, hotel_id: int | None = None) -> PmsGuest:
    """The guest with this e-mail (same name first), else a new one: the e-mail rule of a pull.

    Within *hotel_id*; None: the PMS's only hotel (the database refuses a new guest when it has several).
    """
    email = usable_email(guest.email)
    if email:
        found = pick_by_email([g for g in guests_with_email(session, email) if hotel_id in (None, g.hotel_id)],
                              guest.first_name, guest.last_name)
        if found is not None:
            return found
    row = PmsGuest(hotel_id=hotel_id, first_name=guest.first_name, last_name=guest.last_name, email=guest.email,
                   phone=guest.phone)
    session.add(row)
    session.flush()
    return row


def _line(spec: LineInput) -> PmsReservationLine:
    return PmsReservationLine(
        room_type_id=spec.room_type_id, room_id=spec.room_id, checkin=spec.checkin, checkout=spec.checkout,
        adults=spec.adults, children=len(spec.child_ages), child_ages=list(spec.child_ages),
        price_without_tax=spec.price if spec.price is not None else Decimal("0"), tax=Decimal("0"),
    )


def _totals(reservation: PmsReservation) -> None:
    reservation.total_without_tax = sum((line.price_without_tax for line in reservation.lines), Decimal("0"))
    reservation.total_tax = sum((line.tax for line in reservation.lines), Decimal("0"))


def hotel_of_room_types(session: Session, room_type_ids: Sequence[int]) -> int | None:
    """The one hotel these room types belong to (None: no such room type)."""
    hotels = set(session.scalars(select(PmsRoomType.hotel_id).where(PmsRoomType.id.in_(set(room_type_ids)))))
    if len(hotels) > 1:
        raise PermanentError(f"room types {sorted(set(room_type_ids))} belong to several hotels: one reservation, one hotel")
    return next(iter(hotels), None)


def create_reservation(session: Session, guest: GuestInput | int, lines: Sequence[LineInput], *,
                       status: str = ReservationStatus.CONFIRMED, source: str | None = "PMS") -> PmsReservation:
    """A reservation in the hotel of its lines' room types."""
    hotel_id = hotel_of_room_types(session, [spec.room_type_id for spec in lines])
    guest_id = guest if isinstance(guest, int) else find_or_create_guest(session, guest, hotel_id).id
    reservation = PmsReservation(hotel_id=hotel_id, guest_id=guest_id, status=status, source=source,
                                 lines=[_line(s) for s in lines])
    _totals(reservation)
    session.add(reservation)
    session.flush()
    return reservation


def get_reservation(session: Session, reservation_id: int) -> PmsReservation:
    reservation = session.get(PmsReservation, reservation_id, with_for_update=True)
    if reservation is None:
        raise ReservationNotFound(f"no PMS reservation {reservation_id}")
    return reservation


def modify_reservation(session: Session, reservation_id: int, *, lines: Sequence[LineInput] | None = None,
                       guest: GuestInput | int | None = None, status: str | None = None) -> PmsReservation:
    """Replace the lines (matched in order, so unchanged lines keep their ids), the guest or the status."""
    reservation = get_reservation(session, reservation_id)
    if lines is not None:
        old = list(reservation.lines)
        for index, spec in enumerate(lines):
            if index < len(old):
                line, new = old[index], _line(spec)
                for attr in ("room_type_id", "room_id", "checkin", "checkout", "adults", "children", "child_ages",
                             "price_without_tax"):
                    setattr(line, attr, getattr(new, attr))
            else:
                reservation.lines.append(_line(spec))
        for line in old[len(lines):]:
            reservation.lines.remove(line)
        _totals(reservation)
    if guest is not None:
        reservation.guest_id = guest if isinstance(guest, int) else find_or_create_guest(
            session, guest, reservation.hotel_id).id
    if status is not None:
        reservation.status = status
    session.flush()
    return reservation


def cancel_reservation(session: Session, reservation_id: int) -> PmsReservation:
    return modify_reservation(session, reservation_id, status=ReservationStatus.CANCELLED)
