"""Which QloApps customer a pushed booking belongs to, and which name it may carry.

QloApps attaches a posted booking to the first customer with its e-mail and overwrites that customer's
name with the booking's (B17), which renames every older booking of the customer (B9). So:

* Match: the guest's customer mapping; then the e-mail; phone plus name only when the guest has no
  e-mail. A guest with neither a match nor an e-mail gets a placeholder address
  ``pms-guest-<id>@<PLACEHOLDER_DOMAIN>`` (a booking must have one, and the room must be blocked).
* Names: qlosync sends the PMS guest's name only for a customer it created itself for this same guest
  (match method ``pushed``). For any other customer (a web account, a customer shared with other
  guests) it sends the name QloApps already has, so nothing is renamed, and logs when the PMS differs.
* Nothing else of a customer (password, groups, addresses) is ever written.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.db.models import QloAppsCustomerMapping
from qlosync.pms.port import GuestState, PmsId
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import Customer, CustomerDetail
from qlosync.db.guest_keys import PLACEHOLDER_DOMAIN, normalise_email, normalise_phone
from qlosync.sync.outbound.mapper import PushRejected
from qlosync.states import MatchMethod


_PLAIN_ID = re.compile(r"^[A-Za-z0-9_-]{1,48}$")


@dataclass(frozen=True)
class CustomerChoice:
    """What a push sends as customer_detail, and what it learned."""

    detail: CustomerDetail
    qloapps_customer_id: int | None  # None: QloApps creates the customer on POST
    method: str  # how the customer was matched: mapping's method, "email", "phone_name" or "pushed" (new)
    note: str | None = None  # set when the PMS name differs from a customer qlosync does not own
    remembered: bool = False  # the e-mail is the last read-back's, the customer was not read by this push


def placeholder_email(guest_id: PmsId) -> str:
    """The same address for the same guest every time (a lost create is looked for by it)."""
    # An e-mail's local part holds 64 characters of a few kinds; a PMS id may be any text.
    if not _PLAIN_ID.match(guest_id):
        guest_id = "h" + hashlib.sha256(guest_id.encode()).hexdigest()[:32]
    return f"pms-guest-{guest_id}@{PLACEHOLDER_DOMAIN}"


def _mapped(session: Session, config_id: int, guest_id: PmsId) -> list[tuple[int, str]]:
    return [(int(a), str(b)) for a, b in session.execute(
        select(QloAppsCustomerMapping.qloapps_customer_id, QloAppsCustomerMapping.match_method)
        .where(QloAppsCustomerMapping.config_id == config_id, QloAppsCustomerMapping.pms_guest_id == guest_id)
        .order_by(QloAppsCustomerMapping.id)
    )]


def owner_guests(session: Session, config_id: int, customer_id: int) -> list[tuple[PmsId, str]]:
    """(guest id, method) of every PMS guest mapped to this QloApps customer."""
    return [(str(a), str(b)) for a, b in session.execute(
        select(QloAppsCustomerMapping.pms_guest_id, QloAppsCustomerMapping.match_method)
        .where(QloAppsCustomerMapping.config_id == config_id, QloAppsCustomerMapping.qloapps_customer_id == customer_id)
    )]


def _as_existing(customer: Customer, guest: GuestState, method: str, owned: bool) -> CustomerChoice:
    first, last = (guest.first_name, guest.last_name) if owned else (customer.firstname, customer.lastname)
    note = None
    if not owned and (customer.firstname, customer.lastname) != (guest.first_name, guest.last_name):
        note = (f"QloApps customer {customer.id} keeps its name {customer.firstname} {customer.lastname!s}; the PMS "
                f"says {guest.first_name} {guest.last_name} (qlosync renames only customers it created)")
    phone = guest.phone or customer.phone
    return CustomerChoice(CustomerDetail(first, last, customer.email, phone), customer.id, method, note)


def choose_customer(session: Session, client: QloAppsClient, config_id: int, guest: GuestState,
                    order_customer_id: int | None = None, order_customer: Customer | None = None,
                    remembered: bool = False) -> CustomerChoice:
    """The customer for a POST (order_customer_id None) or for the PUT of an order that already has one.

    ``order_customer``: that order's customer as the caller read it a moment ago in the same push (the
    snapshot of its conflict check); it is then not read again.
    ``remembered``: a PUT may use :func:`remembered_customer` instead of reading the customer.
    """
    choice = remembered_customer(session, config_id, guest, order_customer_id) \
        if remembered and order_customer_id is not None and order_customer is None else None
    choice = choice or _choose(session, client, config_id, guest, order_customer_id, order_customer)
    if not choice.detail.phone:
        raise PushRejected(f"guest {guest.id} has no phone number, and QloApps requires one for a new customer")
    return choice


def _choose(session: Session, client: QloAppsClient, config_id: int, guest: GuestState,
            order_customer_id: int | None, order_customer: Customer | None = None) -> CustomerChoice:
    if order_customer_id is not None:
        known = order_customer if order_customer is not None and order_customer.id == order_customer_id else None
        choice = _for_customer_id(session, client, config_id, guest, order_customer_id, known)
        if choice is None:
            # The order's customer is gone; a PUT needs an existing customer's e-mail (B23).
            raise PushRejected(f"QloApps customer {order_customer_id} of this booking no longer exists")
        return choice
    for customer_id, _method in _mapped(session, config_id, guest.id):
        choice = _for_customer_id(session, client, config_id, guest, customer_id)
        if choice is not None:
            return choice
    email = normalise_email(guest.email)
    if email:
        found = client.find_customers_by_email(guest.email or "")
        if found:  # several share the address (B17): QloApps attaches the booking to the first
            return _as_existing(found[0], guest, MatchMethod.EMAIL, owned=False)
        return CustomerChoice(CustomerDetail(guest.first_name, guest.last_name, guest.email or "", guest.phone or ""),
                              None, MatchMethod.PUSHED)
    phone = normalise_phone(guest.phone)
    if phone:
        same = [c for c in client.find_customers_by_name(guest.first_name, guest.last_name)
                if normalise_phone(c.phone) == phone]
        if len(same) == 1:
            return _as_existing(same[0], guest, MatchMethod.PHONE_NAME, owned=False)
    return CustomerChoice(CustomerDetail(guest.first_name, guest.last_name, placeholder_email(guest.id),
                                         guest.phone or ""), None, MatchMethod.PUSHED)


def remembered_customer(session: Session, config_id: int, guest: GuestState, customer_id: int) -> CustomerChoice | None:
    """The PUT's customer without a GET: only a customer qlosync created for this guest alone, whose e-mail the
    last push's read-back showed, for a guest with a phone number.

    To such a customer a push sends the PMS guest's name and phone anyway; of QloApps' record it needs just the
    e-mail, which only a change made in QloApps moves. A PUT with an e-mail no customer has is refused, 400
    "Customer not found." (B23, capture 113): the push then reads the customer and sends the PUT again.
    """
    if not guest.phone:
        return None
    rows = session.execute(select(QloAppsCustomerMapping.pms_guest_id, QloAppsCustomerMapping.match_method,
                                  QloAppsCustomerMapping.qloapps_email)
                           .where(QloAppsCustomerMapping.config_id == config_id,
                                  QloAppsCustomerMapping.qloapps_customer_id == customer_id)).all()
    email = next((e for _, _, e in rows if e), None)
    if email is None or not _owned_by([(str(g), str(m)) for g, m, _ in rows], guest):
        return None
    return CustomerChoice(CustomerDetail(guest.first_name, guest.last_name, email, guest.phone), customer_id,
                          MatchMethod.PUSHED, remembered=True)


def _owned_by(owners: list[tuple[PmsId, str]], guest: GuestState) -> bool:
    """qlosync created the customer for this guest alone: it may carry the PMS guest's name."""
    return bool(owners) and all(g == guest.id and m == MatchMethod.PUSHED for g, m in owners)


def _for_customer_id(session: Session, client: QloAppsClient, config_id: int, guest: GuestState,
                     customer_id: int, known: Customer | None = None) -> CustomerChoice | None:
    """The choice of this QloApps customer, or None when it no longer exists (``known``: read just now)."""
    found = [known] if known is not None else client.get_customers([customer_id])
    if not found:
        return None
    owners = owner_guests(session, config_id, customer_id)
    owned = _owned_by(owners, guest)
    method = next((m for g, m in owners if g == guest.id), MatchMethod.EMAIL)
    return _as_existing(found[0], guest, method, owned=owned)
