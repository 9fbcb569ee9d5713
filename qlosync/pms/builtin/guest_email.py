"""Which PMS guest an e-mail address belongs to, for the built-in PMS's own writers (qlosync.pms.builtin.reservations).

The rule itself (same name first, else the oldest) is qlosync.db.guest_keys', shared with inbound matching;
re-exported here for the hosts that import it from this module.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.db.guest_keys import pick_by_email, same_name, usable_email
from qlosync.pms.builtin.tables import PmsGuest

__all__ = ["guests_with_email", "pick_by_email", "same_name", "usable_email"]


def guests_with_email(session: Session, email: str) -> list[PmsGuest]:
    """The guests whose address normalises to *email* (already normalised), oldest first."""
    return list(session.scalars(select(PmsGuest).where(PmsGuest.email_normalized == email).order_by(PmsGuest.id)))
