"""Guest matching: a QloApps customer → one PMS guest, decided once and remembered.

Order of evidence: an existing customer mapping; then the normalised e-mail; then phone plus full name;
else a new guest. A weak match (phone alone, or a name shared by several guests) never merges two
people: it creates a new guest and logs why.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qlosync.db.models import QloAppsCustomerMapping
from qlosync.db.pms import PmsGuest
from qlosync.sync.mapper import GuestData, normalise_email, normalise_phone


@dataclass(frozen=True)
class GuestMatch:
    """Which guest a customer maps to, and why."""

    guest: PmsGuest
    method: str  # existing mapping: its method; else "email", "phone_name" or "created"
    new_mapping: bool
    note: str | None = None


def _same_name(guest: PmsGuest, data: GuestData) -> bool:
    return (
        guest.first_name.strip().casefold() == data.first_name.casefold()
        and guest.last_name.strip().casefold() == data.last_name.casefold()
    )


def _find_by_email(session: Session, email: str, data: GuestData) -> PmsGuest | None:
    guests = session.scalars(select(PmsGuest).where(PmsGuest.email_normalized == email).order_by(PmsGuest.id)).all()
    if len(guests) <= 1:
        return guests[0] if guests else None
    # Several guests share the address (a family, an agency): prefer the one with the same name.
    named = [g for g in guests if _same_name(g, data)]
    return named[0] if named else guests[0]


def _find_by_phone_and_name(session: Session, phone: str, data: GuestData) -> tuple[PmsGuest | None, str | None]:
    candidates = session.scalars(
        select(PmsGuest).where(
            PmsGuest.phone_normalized == phone,
            func.lower(PmsGuest.last_name) == data.last_name.lower(),
        )
    ).all()
    matches = [g for g in candidates if _same_name(g, data)]
    if len(matches) == 1:
        return matches[0], None
    if len(matches) > 1:
        return None, f"{len(matches)} guests share this phone and name: not merging"
    return None, None


def update_guest_details(guest: PmsGuest, data: GuestData) -> bool:
    """Copy QloApps' current details onto the guest; returns whether anything changed."""
    wanted = {
        "first_name": data.first_name,
        "last_name": data.last_name,
        "email": data.email,
        "email_normalized": normalise_email(data.email),
        "phone": data.phone,
        "phone_normalized": normalise_phone(data.phone),
    }
    changed = False
    for attr, value in wanted.items():
        if getattr(guest, attr) != value:
            setattr(guest, attr, value)
            changed = True
    return changed


def match_guest(session: Session, config_id: int, data: GuestData) -> GuestMatch:
    """Find or create the PMS guest for a QloApps customer and record the decision in the mapping."""
    mapping = session.scalars(
        select(QloAppsCustomerMapping).where(
            QloAppsCustomerMapping.config_id == config_id,
            QloAppsCustomerMapping.qloapps_customer_id == data.qloapps_customer_id,
        )
    ).one_or_none()
    if mapping is not None:
        return GuestMatch(session.get_one(PmsGuest, mapping.pms_guest_id), mapping.match_method, new_mapping=False)

    guest: PmsGuest | None = None
    method = "created"
    note = None
    email = normalise_email(data.email)
    phone = normalise_phone(data.phone)
    if email:
        guest = _find_by_email(session, email, data)
        method = "email" if guest else method
    if guest is None and phone:
        guest, note = _find_by_phone_and_name(session, phone, data)
        method = "phone_name" if guest else method
    if guest is None:
        guest = PmsGuest(first_name=data.first_name, last_name=data.last_name)
        update_guest_details(guest, data)
        session.add(guest)
        session.flush()
    session.add(
        QloAppsCustomerMapping(
            config_id=config_id, qloapps_customer_id=data.qloapps_customer_id, pms_guest_id=guest.id, match_method=method
        )
    )
    session.flush()
    return GuestMatch(guest, method, new_mapping=True, note=note)
