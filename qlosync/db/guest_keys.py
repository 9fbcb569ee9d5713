"""The keys guests are matched by: one definition, in PostgreSQL and in Python, that agree exactly.

``pms_guests.email_normalized`` and ``phone_normalized`` are generated columns: PostgreSQL derives them
from ``email`` and ``phone`` on every insert and update, whoever writes the row (qlosync, the PMS, plain
SQL). Python needs the same keys for rows not yet written (a page's customers, its new guests), so the two
definitions are kept to what both compute identically whatever the database locale: ASCII white space is
trimmed and only A-Z are lowercased (PostgreSQL's ``lower()`` follows the server's locale, Python's
``str.lower()`` does not); only the digits 0-9 count in a phone number.

``tests/integration/test_guest_keys.py`` checks that both sides agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, TypeVar

_SPACE = " \t\n\r\f\v"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_NOT_DIGIT = re.compile(r"[^0-9]")
MIN_PHONE_DIGITS = 7
#: The domain of the address a push gives an e-mail-less guest (qlosync.sync.outbound.customers): never a key.
PLACEHOLDER_DOMAIN = "guests.qlosync.invalid"

# Frozen copies live in migrations/versions/20261203_0008_guest_keys.py: a change here needs a migration.
EMAIL_KEY_SQL = (
    r"CASE WHEN strpos(btrim(email, E' \t\n\r\f\x0B'), '@') > 0 "
    r"THEN translate(btrim(email, E' \t\n\r\f\x0B'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') END"
)
PHONE_KEY_SQL = (
    r"CASE WHEN length(regexp_replace(phone, '[^0-9]', '', 'g')) >= 7 "
    r"THEN CASE WHEN ltrim(phone, E' \t\n\r\f\x0B') LIKE '+%' THEN '+' ELSE '' END "
    r"|| regexp_replace(phone, '[^0-9]', '', 'g') END"
)


def normalise_email(email: str | None) -> str | None:
    """Trimmed and A-Z lowercased; None when there is no ``@``."""
    if not email:
        return None
    email = email.strip(_SPACE).translate(_ASCII_LOWER)
    return email if "@" in email else None


def normalise_phone(phone: str | None) -> str | None:
    """Digits only (a leading + kept); fewer than 7 digits is not a usable phone number."""
    if not phone:
        return None
    digits = _NOT_DIGIT.sub("", phone)
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    return ("+" if phone.lstrip(_SPACE).startswith("+") else "") + digits


def usable_email(email: str | None) -> str | None:
    """The normalised address, or None when there is none worth matching or keeping."""
    normalised = normalise_email(email)
    # The placeholder a push gives an e-mail-less guest says nothing about the person.
    if normalised is None or normalised.endswith("@" + PLACEHOLDER_DOMAIN):
        return None
    return normalised


class Named(Protocol):
    """A guest as the e-mail rule sees it: a PMS row or a port Guest alike."""

    @property
    def first_name(self) -> str: ...

    @property
    def last_name(self) -> str: ...


N = TypeVar("N", bound=Named)


def whole_name(first_name: str, last_name: str) -> str:
    """"first last" with white space collapsed, casefolded: how two names are compared."""
    return " ".join(f"{first_name} {last_name}".split()).casefold()


def same_name(guest: Named, first_name: str, last_name: str) -> bool:
    """The same person's name, however it is cut into first and last: a PMS that keeps one name field
    (hotelmanangement) reads "Mary Ann" "Smith" back as "Mary" "Ann Smith"."""
    return whole_name(guest.first_name, guest.last_name) == whole_name(first_name, last_name)


def pick_by_email(guests: Sequence[N], first_name: str, last_name: str) -> N | None:
    """Of the guests sharing an address (a family, an agency), the first with this name, else the first.

    The one e-mail rule: inbound matching (qlosync.sync.inbound.guests) and the built-in PMS's own
    find-or-create (qlosync.pms.builtin.reservations) both call it.
    """
    named = [g for g in guests if same_name(g, first_name, last_name)]
    candidates = named or guests
    return candidates[0] if candidates else None
