"""Which PMS guest an e-mail address belongs to: the one rule inbound matching and the PMS writer
(qlosync.pms.builtin.reservations) share."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.db.guest_keys import PLACEHOLDER_DOMAIN, normalise_email
from qlosync.pms.builtin.tables import PmsGuest


def same_name(guest: PmsGuest, first_name: str, last_name: str) -> bool:
    return (
        guest.first_name.strip().casefold() == first_name.strip().casefold()
        and guest.last_name.strip().casefold() == last_name.strip().casefold()
    )


def pick_by_email(guests: Sequence[PmsGuest], first_name: str, last_name: str) -> PmsGuest | None:
    """Of the guests sharing an address (a family, an agency), the first with this name, else the first."""
    named = [g for g in guests if same_name(g, first_name, last_name)]
    candidates = named or guests
    return candidates[0] if candidates else None


def guests_with_email(session: Session, email: str) -> list[PmsGuest]:
    """The guests whose address normalises to *email* (already normalised), oldest first."""
    return list(session.scalars(select(PmsGuest).where(PmsGuest.email_normalized == email).order_by(PmsGuest.id)))


def usable_email(email: str | None) -> str | None:
    """The normalised address, or None when there is none worth matching or keeping."""
    normalised = normalise_email(email)
    # The placeholder a push gives an e-mail-less guest says nothing about the person.
    if normalised is None or normalised.endswith("@" + PLACEHOLDER_DOMAIN):
        return None
    return normalised
