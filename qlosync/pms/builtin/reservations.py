"""A small API over the reference PMS for hosts and tests: create, modify and cancel a reservation.

Nothing here talks to QloApps or the outbox: the database triggers capture every change (these
functions, the ORM or plain SQL alike) into ``pms_outbox`` in the caller's transaction, and the relay
pushes it. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from qlosync.pms.builtin.tables import PmsGuest, PmsReservation, PmsReservationLine
from qlosync.errors import PermanentError
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


def find_or_create_guest(session: Session, guest: GuestInput) -> PmsGuest:
    """The guest with this e-mail (same name first), else a new one: the e-mail rule of a pull."""
    email = usable_email(guest.email)
    if email:
        found = pick_by_email(guests_with_email(session, email), guest.first_name, guest.last_name)
        if found is not None:
            return found
    row = PmsGuest(first_name=guest.first_name, last_name=guest.last_name, email=guest.email, phone=guest.phone)
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


def create_reservation(session: Session, guest: GuestInput | int, lines: Sequence[LineInput], *,
                       status: str = ReservationStatus.CONFIRMED, source: str | None = "PMS") -> PmsReservation:
    guest_id = guest if isinstance(guest, int) else find_or_create_guest(session, guest).id
    reservation = PmsReservation(guest_id=guest_id, status=status, source=source, lines=[_line(s) for s in lines])
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
        reservation.guest_id = guest if isinstance(guest, int) else find_or_create_guest(session, guest).id
    if status is not None:
        reservation.status = status
    session.flush()
    return reservation


def cancel_reservation(session: Session, reservation_id: int) -> PmsReservation:
    return modify_reservation(session, reservation_id, status=ReservationStatus.CANCELLED)
