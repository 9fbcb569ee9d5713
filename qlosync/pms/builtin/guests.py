"""The built-in PMS's guests, for matching: candidates by id, e-mail or phone; creating and updating them.

Candidates are found by the keys PostgreSQL generates (``email_normalized``, ``phone_normalized``:
qlosync/db/guest_keys.py); the rules that pick one are sync's (qlosync.sync.inbound.guests).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from qlosync.db.bulk import raw_cursor, returned_ids
from qlosync.db.keyed import rows_by_key
from qlosync.pms.builtin.catalog import NotInHotel, hotel_key
from qlosync.pms.builtin.ids import as_keys
from qlosync.pms.builtin.writer import forget_loaded
from qlosync.pms.port import Guest, PmsId

_INSERT = "INSERT INTO pms_guests (hotel_id, first_name, last_name, email, phone) VALUES (%s, %s, %s, %s, %s) RETURNING id"
_UPDATE = "UPDATE pms_guests SET first_name = %s, last_name = %s, email = %s, phone = %s WHERE id = %s AND hotel_id = %s"


#: Candidates by id, normalised e-mail or normalised phone, each key looked up in its own index
#: (qlosync.db.keyed): an OR of the three under ``hotel_id =`` was planned, without statistics, as a read of
#: every guest of the hotel (100 ms a page at 63,000 guests, growing through a full import). The hotel is
#: checked on the few rows found.
_MATCHING = text(
    "SELECT DISTINCT ON (g.id) g.id, g.first_name, g.last_name, g.email, g.phone FROM ("
    " SELECT by_id.* FROM " + rows_by_key("pms_guests", "by_id", "id", ":ids", "integer")
    + " UNION ALL SELECT by_email.* FROM " + rows_by_key("pms_guests", "by_email", "email_normalized", ":emails", "text")
    + " UNION ALL SELECT by_phone.* FROM " + rows_by_key("pms_guests", "by_phone", "phone_normalized", ":phones", "text")
    + ") g WHERE g.hotel_id = :hotel ORDER BY g.id")


def guests_matching(session: Session, hotel_id: PmsId, ids: Collection[PmsId], emails: Collection[str],
                    phones: Collection[str]) -> list[Guest]:
    """The hotel's guests with one of these ids, normalised e-mails or normalised phones, oldest first."""
    keys = sorted(set(as_keys(ids)))
    if not (keys or emails or phones):
        return []
    rows = session.execute(_MATCHING.bindparams(hotel=hotel_key(hotel_id), ids=keys, emails=sorted(set(emails)),
                                                phones=sorted(set(phones))))
    return [Guest(str(gid), first, last, email, phone) for gid, first, last, email, phone in rows]


def save_guests(session: Session, hotel_id: PmsId, guests: Sequence[Guest]) -> None:
    """Insert the guests without an id (in order, setting their ids) and update the others: one round trip each."""
    hotel = hotel_key(hotel_id)
    new = [g for g in guests if g.id is None]
    known = [g for g in guests if g.id is not None]
    if not (new or known):
        return
    with raw_cursor(session) as cursor:
        if new:
            cursor.executemany(_INSERT, [(hotel, g.first_name, g.last_name, g.email, g.phone) for g in new],
                               returning=True)
            for guest, key in zip(new, returned_ids(cursor), strict=True):
                guest.id = str(key)
        if known:
            keys = as_keys(g.id for g in known)
            if len(keys) != len(known):
                raise NotInHotel(f"not guest ids of the built-in PMS: {[g.id for g in known]}")
            cursor.executemany(_UPDATE, [(g.first_name, g.last_name, g.email, g.phone, key, hotel)
                                         for g, key in zip(known, keys, strict=True)])
            if cursor.rowcount != len(known):  # the sum over the statements
                raise NotInHotel(f"hotel {hotel_id} lacks some of the guests {[g.id for g in known]}")
            forget_loaded(session)
