"""Guest matching: a QloApps customer → one PMS guest, decided once and remembered.

Order of evidence: an existing customer mapping; then the normalised e-mail; then phone plus full name,
but only where one side has no e-mail (the customer has no usable address, or the PMS guest has none);
else a new guest. Two people with different e-mails are two guests even when name and phone agree: they
are never merged and one's e-mail never overwrites the other's. A weak match (phone alone, or a phone
and name shared by several guests) never merges either: it creates a new guest and says why.
:class:`GuestIndex` loads the candidates for a whole page of bookings in two queries and decides in
memory, so bookings of one new customer within a page share the guest created for the first of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from qlosync.db.models import QloAppsCustomerMapping
from qlosync.pms.builtin.tables import PmsGuest
from qlosync.pms.builtin.guest_email import pick_by_email, same_name, usable_email
from qlosync.db.guest_keys import normalise_email, normalise_phone
from qlosync.sync.inbound.mapper import GuestData
from qlosync.states import MatchMethod


@dataclass(frozen=True)
class GuestMatch:
    """Which guest a customer maps to, and why."""

    guest: PmsGuest
    method: str  # existing mapping: its method; else "email", "phone_name" or "created"
    new_mapping: bool
    note: str | None = None


def _guest_email(guest: PmsGuest) -> str | None:
    # Not the generated column: a guest added in this page has no value there until it is flushed.
    return normalise_email(guest.email)


def update_guest_details(guest: PmsGuest, data: GuestData, method: str | None = None) -> bool:
    """Copy QloApps' current details onto the guest; returns whether anything changed.

    The e-mail is what tells two people apart, so it is written only when it adds something: a customer
    without a usable address never erases the guest's, and a phone-and-name match (*method*
    ``"phone_name"``) never swaps the guest's address for another one.
    """
    wanted: dict[str, str | None] = {"first_name": data.first_name, "last_name": data.last_name, "phone": data.phone}
    email, current = usable_email(data.email), _guest_email(guest)
    if email is not None and not (method == MatchMethod.PHONE_NAME and current not in (None, email)):
        wanted["email"] = data.email
    changed = False
    for attr, value in wanted.items():
        if getattr(guest, attr) != value:
            setattr(guest, attr, value)
            changed = True
    return changed


@dataclass
class GuestIndex:
    """The guests a page of customers can match, indexed by customer mapping, e-mail and phone."""

    session: Session
    config_id: int
    mapped: dict[int, tuple[PmsGuest, str]] = field(default_factory=dict)
    by_email: dict[str, list[PmsGuest]] = field(default_factory=lambda: defaultdict(list))
    by_phone: dict[str, list[PmsGuest]] = field(default_factory=lambda: defaultdict(list))
    new_mappings: list[tuple[int, PmsGuest, str]] = field(default_factory=list)

    @classmethod
    def load(cls, session: Session, config_id: int, customers: Sequence[GuestData]) -> GuestIndex:
        index = cls(session, config_id)
        customer_ids = {c.qloapps_customer_id for c in customers}
        mapping_rows = session.execute(
            select(QloAppsCustomerMapping.qloapps_customer_id, QloAppsCustomerMapping.pms_guest_id,
                   QloAppsCustomerMapping.match_method).where(
                QloAppsCustomerMapping.config_id == config_id,
                QloAppsCustomerMapping.qloapps_customer_id.in_(customer_ids),
            )
        ).all()
        emails = {e for e in (usable_email(c.email) for c in customers) if e}
        phones = {p for p in (normalise_phone(c.phone) for c in customers) if p}
        conditions = [PmsGuest.id.in_({row.pms_guest_id for row in mapping_rows})]
        if emails:
            conditions.append(PmsGuest.email_normalized.in_(emails))
        if phones:
            conditions.append(PmsGuest.phone_normalized.in_(phones))
        guests = {g.id: g for g in session.scalars(select(PmsGuest).where(or_(*conditions)).order_by(PmsGuest.id))}
        for guest in guests.values():
            index._remember(guest)
        for row in mapping_rows:
            index.mapped[row.qloapps_customer_id] = (guests[row.pms_guest_id], row.match_method)
        return index

    def _remember(self, guest: PmsGuest) -> None:
        email, phone = _guest_email(guest), normalise_phone(guest.phone)
        if email:
            self.by_email[email].append(guest)
        if phone:
            self.by_phone[phone].append(guest)

    def _by_email(self, email: str, data: GuestData) -> PmsGuest | None:
        return pick_by_email(self.by_email.get(email, []), data.first_name, data.last_name)

    def _by_phone_and_name(self, phone: str, email: str | None, data: GuestData) -> tuple[PmsGuest | None, str | None]:
        same = [g for g in self.by_phone.get(phone, []) if same_name(g, data.first_name, data.last_name)]
        # Phone and name only bridge a missing e-mail: two different addresses are two people.
        matches = [g for g in same if email is None or _guest_email(g) is None]
        if len(matches) == 1:
            return matches[0], None
        if len(matches) > 1:
            return None, f"{len(matches)} guests share this phone and name: not merging"
        if same:
            return None, "a guest with this phone and name has another e-mail: a different person, not merging"
        return None, None

    def match(self, data: GuestData) -> GuestMatch:
        """The guest for this customer; a new guest is added to the session (not flushed)."""
        known = self.mapped.get(data.qloapps_customer_id)
        if known is not None:
            return GuestMatch(known[0], known[1], new_mapping=False)
        guest: PmsGuest | None = None
        method, note = MatchMethod.CREATED, None
        email, phone = usable_email(data.email), normalise_phone(data.phone)
        if email:
            guest = self._by_email(email, data)
            method = MatchMethod.EMAIL if guest else method
        if guest is None and phone:
            guest, note = self._by_phone_and_name(phone, email, data)
            method = MatchMethod.PHONE_NAME if guest else method
            if guest is not None and email and _guest_email(guest) is None:
                # The guest is about to get this address: later customers of the page sharing it find it.
                self.by_email[email].append(guest)
        if guest is None:
            guest = PmsGuest(first_name=data.first_name, last_name=data.last_name)
            update_guest_details(guest, data)
            self.session.add(guest)
            self._remember(guest)
        self.mapped[data.qloapps_customer_id] = (guest, method)
        self.new_mappings.append((data.qloapps_customer_id, guest, method))
        return GuestMatch(guest, method, new_mapping=True, note=note)

    def add_new_mappings(self) -> None:
        """Record the decisions made since the last call; the new guests must have been flushed."""
        self.session.add_all(
            QloAppsCustomerMapping(config_id=self.config_id, qloapps_customer_id=customer_id, pms_guest_id=guest.id,
                                   match_method=method)
            for customer_id, guest, method in self.new_mappings
        )
        self.new_mappings.clear()


def match_guest(session: Session, config_id: int, data: GuestData) -> GuestMatch:
    """Find or create the PMS guest for one QloApps customer and record the decision."""
    index = GuestIndex.load(session, config_id, [data])
    match = index.match(data)
    session.flush()
    index.add_new_mappings()
    session.flush()
    return match
