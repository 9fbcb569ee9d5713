"""Guest matching: a QloApps customer → one PMS guest of the shop's hotel, decided once and remembered.

Order of evidence: an existing customer mapping; then the normalised e-mail; then phone plus full name,
but only where one side has no e-mail (the customer has no usable address, or the PMS guest has none);
else a new guest. Two people with different e-mails are two guests even when name and phone agree: they
are never merged and one's e-mail never overwrites the other's. A weak match (phone alone, or a phone
and name shared by several guests) never merges either: it creates a new guest and says why.
:class:`GuestIndex` asks the PMS for the candidates of a whole page of bookings at once
(:meth:`HotelPms.guests_matching`) and decides in memory over port :class:`Guest` objects, so bookings
of one new customer within a page share the guest made for the first of them; :meth:`GuestIndex.save`
then writes the new and changed guests in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from qlosync.db.bulk import raw_cursor
from qlosync.db.keyed import rows_by_key
from qlosync.db.guest_keys import normalise_email, normalise_phone, pick_by_email, same_name, usable_email
from qlosync.db.models import QloAppsCustomerMapping
from qlosync.pms.port import Guest, HotelPms
from qlosync.states import MatchMethod
from qlosync.sync.inbound.mapper import GuestData


_INSERT_MAPPING = ("INSERT INTO qloapps_customer_mappings (config_id, qloapps_customer_id, pms_guest_id, match_method)"
                   " VALUES (%s, %s, %s, %s)")


@dataclass(frozen=True)
class GuestMatch:
    """Which guest a customer maps to, and why."""

    guest: Guest
    method: str  # existing mapping: its method; else "email", "phone_name" or "created"
    new_mapping: bool
    note: str | None = None


def _guest_email(guest: Guest) -> str | None:
    # From the address itself: a guest made in this page has no key in the PMS yet.
    return normalise_email(guest.email)


def update_guest_details(guest: Guest, data: GuestData, method: str | None = None) -> bool:
    """Copy QloApps' current details onto the guest; returns whether anything changed.

    The e-mail is what tells two people apart, so it is written only when it adds something: a customer
    without a usable address never erases the guest's, and a phone-and-name match (*method*
    ``"phone_name"``) never swaps the guest's address for another one.
    """
    changed = False
    if guest.first_name != data.first_name:
        guest.first_name, changed = data.first_name, True
    if guest.last_name != data.last_name:
        guest.last_name, changed = data.last_name, True
    if guest.phone != data.phone:
        guest.phone, changed = data.phone, True
    email, current = usable_email(data.email), _guest_email(guest)
    if email is not None and not (method == MatchMethod.PHONE_NAME and current not in (None, email)) \
            and guest.email != data.email:
        guest.email, changed = data.email, True
    return changed


#: The shop's mappings of these customers, each by its key (config_id, qloapps_customer_id): see qlosync.db.keyed
#: (without statistics the planner read every mapping of the shop, 11 ms a page at 63,000).
_CUSTOMER_MAPPINGS = text(
    "SELECT c.qloapps_customer_id, c.pms_guest_id, c.match_method FROM "
    + rows_by_key("qloapps_customer_mappings", "c", "qloapps_customer_id", ":ids", "integer", scope="config_id = :config"))


@dataclass
class GuestIndex:
    """The guests a page of customers can match, indexed by customer mapping, e-mail and phone."""

    session: Session
    hotel: HotelPms
    config_id: int
    mapped: dict[int, tuple[Guest, str]] = field(default_factory=dict)
    by_email: dict[str, list[Guest]] = field(default_factory=lambda: defaultdict(list))
    by_phone: dict[str, list[Guest]] = field(default_factory=lambda: defaultdict(list))
    new_mappings: list[tuple[int, Guest, str]] = field(default_factory=list)
    unsaved: dict[int, Guest] = field(default_factory=dict)  # by id(): new guests and changed ones, in order

    @classmethod
    def load(cls, session: Session, hotel: HotelPms, config_id: int, customers: Sequence[GuestData]) -> GuestIndex:
        index = cls(session, hotel, config_id)
        customer_ids = {c.qloapps_customer_id for c in customers}
        mapping_rows = session.execute(_CUSTOMER_MAPPINGS.bindparams(config=config_id, ids=sorted(customer_ids))).all()
        emails = {e for e in (usable_email(c.email) for c in customers) if e}
        phones = {p for p in (normalise_phone(c.phone) for c in customers) if p}
        found = hotel.guests_matching({row.pms_guest_id for row in mapping_rows}, emails, phones)
        guests = {g.id: g for g in found}
        for guest in found:
            index._remember(guest)
        elsewhere = []
        for row in mapping_rows:
            if row.pms_guest_id in guests:
                index.mapped[row.qloapps_customer_id] = (guests[row.pms_guest_id], row.match_method)
            else:
                elsewhere.append(row.qloapps_customer_id)
        if elsewhere:
            # Guests of another hotel (the shop was moved to this one): the customers are matched again here.
            session.execute(delete(QloAppsCustomerMapping).where(
                QloAppsCustomerMapping.config_id == config_id, QloAppsCustomerMapping.qloapps_customer_id.in_(elsewhere)))
        return index

    def _remember(self, guest: Guest) -> None:
        email, phone = _guest_email(guest), normalise_phone(guest.phone)
        if email:
            self.by_email[email].append(guest)
        if phone:
            self.by_phone[phone].append(guest)

    def _by_email(self, email: str, data: GuestData) -> Guest | None:
        return pick_by_email(self.by_email.get(email, []), data.first_name, data.last_name)

    def _by_phone_and_name(self, phone: str, email: str | None, data: GuestData) -> tuple[Guest | None, str | None]:
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
        """The guest for this customer, with QloApps' current details copied onto it (saved by :meth:`save`)."""
        known = self.mapped.get(data.qloapps_customer_id)
        if known is not None:
            self._take_details(known[0], data, known[1])
            return GuestMatch(known[0], known[1], new_mapping=False)
        guest: Guest | None = None
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
            guest = Guest(None, data.first_name, data.last_name)
            self._take_details(guest, data, method)
            self.unsaved[id(guest)] = guest
            self._remember(guest)
        else:
            self._take_details(guest, data, method)
        self.mapped[data.qloapps_customer_id] = (guest, method)
        self.new_mappings.append((data.qloapps_customer_id, guest, method))
        return GuestMatch(guest, method, new_mapping=True, note=note)

    def _take_details(self, guest: Guest, data: GuestData, method: str) -> None:
        if update_guest_details(guest, data, method):
            self.unsaved[id(guest)] = guest

    def save(self) -> None:
        """Write the new and changed guests (new ones get their ids) and record the decisions made since the last call."""
        if self.unsaved:
            self.hotel.save_guests(list(self.unsaved.values()))
            self.unsaved.clear()
        if self.new_mappings:
            # Plain rows, like the page's other mappings (qlosync.db.bulk): a first import makes one per customer.
            with raw_cursor(self.session) as cursor:
                cursor.executemany(_INSERT_MAPPING, [(self.config_id, customer_id, guest.id, method)
                                                     for customer_id, guest, method in self.new_mappings])
            self.new_mappings.clear()


def match_guest(session: Session, hotel: HotelPms, config_id: int, data: GuestData) -> GuestMatch:
    """Find or create the PMS guest for one QloApps customer and record the decision."""
    index = GuestIndex.load(session, hotel, config_id, [data])
    match = index.match(data)
    index.save()
    session.flush()
    return match
