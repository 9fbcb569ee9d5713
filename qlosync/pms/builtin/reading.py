"""Reservations of the built-in PMS as the port shows them (:class:`~qlosync.pms.port.PmsState`)."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from qlosync.pms.builtin.ids import as_id, as_key, as_keys
from qlosync.pms.builtin.tables import PmsGuest, PmsReservation
from qlosync.pms.port import GuestState, LineState, PmsId, PmsState


def guest_state(guest: PmsGuest) -> GuestState:
    return GuestState(str(guest.id), guest.first_name.strip(), guest.last_name.strip(),
                      (guest.email or "").strip() or None, (guest.phone or "").strip() or None)


def state_of(reservation: PmsReservation, guest: PmsGuest) -> PmsState:
    """The port's view of loaded rows, with the newest updated_at of reservation, guest and lines."""
    lines = tuple(
        LineState(str(line.id), str(line.room_type_id), as_id(line.room_id), line.checkin, line.checkout,
                  line.adults, line.children, tuple(int(a) for a in line.child_ages or ()),
                  Decimal(line.price_without_tax).quantize(Decimal("0.01")),
                  Decimal(line.tax).quantize(Decimal("0.01")))
        for line in sorted(reservation.lines, key=lambda line: line.id or 0)
    )
    stamps = [reservation.updated_at, guest.updated_at, *(line.updated_at for line in reservation.lines)]
    return PmsState(
        reservation_id=str(reservation.id),
        status=reservation.status,
        source=reservation.source,
        total_paid=Decimal(reservation.total_paid or 0),
        guest=guest_state(guest),
        lines=lines,
        changed_at=max((s for s in stamps if s is not None), default=None),
    )


def reservation_states(session: Session, hotel_id: PmsId, ids: Collection[PmsId]) -> dict[PmsId, PmsState]:
    keys = as_keys(ids)
    if not keys:
        return {}
    # By primary key alone, the hotel checked on the rows found: with ``hotel_id =`` in the query a planner
    # without statistics read every reservation of the hotel through its hotel_id index (qlosync.db.keyed).
    hotel = as_key(hotel_id)
    reservations = [r for r in session.scalars(
        select(PmsReservation).options(selectinload(PmsReservation.lines)).where(PmsReservation.id.in_(keys)))
        if r.hotel_id == hotel]
    guests = {g.id: g for g in session.scalars(select(PmsGuest).where(
        PmsGuest.id.in_({r.guest_id for r in reservations})))} if reservations else {}
    return {str(r.id): state_of(r, guests[r.guest_id]) for r in reservations}


def hotels_of_reservations(session: Session, ids: Collection[PmsId]) -> dict[PmsId, PmsId]:
    keys = as_keys(ids)
    if not keys:
        return {}
    return {str(rid): str(hid) for rid, hid in session.execute(
        select(PmsReservation.id, PmsReservation.hotel_id).where(PmsReservation.id.in_(keys)))}
