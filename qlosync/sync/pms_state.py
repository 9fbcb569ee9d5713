"""A PMS reservation as both directions compare it: :class:`PmsState` (read fresh by :func:`load_state`) and
its content hash. The hash covers exactly what a push sends; inbound sync stores it after applying a QloApps
booking, so a reservation that came from QloApps is never pushed back unchanged."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from qlosync.pms.builtin.tables import PmsGuest, PmsReservation
from qlosync.states import CLOSED_STATUSES


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
