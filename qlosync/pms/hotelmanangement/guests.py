"""The hotelmanangement PMS's guests, for matching: candidates by id, e-mail or phone; creating and updating them.

That PMS keeps one ``name``: a guest is written as "first last" (white space collapsed to single spaces) and
read back split at the first space, first word the first name, the rest the last name, so "Mary Ann" "Smith"
reads back as "Mary" "Ann Smith" (qlosync.db.guest_keys.same_name compares whole names, so such a guest still
matches). E-mail and phone keys are computed from the columns as the built-in PMS generates its key columns
(qlosync.db.guest_keys): that PMS's table is not qlosync's to add columns or indexes to, so the match reads the
hotel's guests without an index. Soft-deleted guests are never matched nor written.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from qlosync.db.bulk import raw_cursor
from qlosync.pms.hotelmanangement.catalog import hotel_key
from qlosync.pms.hotelmanangement.ids import NotInHotel, as_uuid, as_uuids, new_id
from qlosync.pms.port import Guest, PmsId

_INSERT = ("INSERT INTO guests (id, hotel_id, name, email, phone, created_at, updated_at)"
           " VALUES (%s, %s, %s, %s, %s, clock_timestamp(), now())")
_UPDATE = ("UPDATE guests SET (name, email, phone, updated_at) = ROW(%(name)s, %(email)s, %(phone)s, now())"
           " WHERE id = %(id)s AND hotel_id = %(hotel)s AND (name, email, phone) IS DISTINCT FROM"
           " (%(name)s::varchar, %(email)s::varchar, %(phone)s::varchar)")
_LIVE = "SELECT id::text FROM guests WHERE id = ANY(%s::uuid[]) AND hotel_id = %s AND deleted_at IS NULL"

# The keys of qlosync.db.guest_keys (EMAIL_KEY_SQL, PHONE_KEY_SQL), the same values computed cheaper: a match
# reads every guest of the hotel (no index of qlosync's on that PMS's table), and there translate() over 26
# letters cost more than all the rest. lower() under the "C" collation lowercases A-Z and nothing else, as that
# translate() does; a phone's digits are what is left once every character that is no digit is deleted.
# tests/hms/test_catalog_guests.py holds them equal to guest_keys' on awkward values.
_SPACE = r"E' \t\n\r\f\x0B'"
EMAIL_KEY = (f"CASE WHEN strpos(btrim({{email}}, {_SPACE}), '@') > 0"
             f" THEN lower(btrim({{email}}, {_SPACE}) COLLATE \"C\") END")
_DIGITS = "translate({phone}, translate({phone}, '0123456789', ''), '')"
PHONE_KEY = (f"CASE WHEN length({_DIGITS}) >= 7 THEN"
             f" CASE WHEN ltrim({{phone}}, {_SPACE}) LIKE '+%' THEN '+' ELSE '' END || {_DIGITS} END")


def joined_name(first_name: str, last_name: str) -> str:
    """The one ``name`` of a guest: "first last", stripped, single spaces."""
    return " ".join(f"{first_name} {last_name}".split())


def split_name(name: str) -> tuple[str, str]:
    """(first name, last name) of a ``name``: the first word, and the rest."""
    parts = name.split(maxsplit=1)
    return (parts[0] if parts else "", parts[1].strip() if len(parts) > 1 else "")


def guests_matching(session: Session, hotel_id: PmsId, ids: Collection[PmsId], emails: Collection[str],
                    phones: Collection[str]) -> list[Guest]:
    """The hotel's live guests with one of these ids, normalised e-mails or normalised phones, oldest first."""
    keys = as_uuids(ids)
    if not (keys or emails or phones):
        return []
    # Every guest of the hotel is read (no index to use): IN (SELECT unnest ...) makes each key a hash lookup,
    # not a comparison with every key of the page as = ANY(array) would.
    rows = session.execute(text(
        "SELECT id::text, name, email, phone FROM guests WHERE hotel_id = CAST(:hotel AS uuid) AND deleted_at IS NULL"
        " AND (id = ANY(CAST(:ids AS uuid[]))"
        f" OR ({EMAIL_KEY.format(email='email')}) IN (SELECT unnest(CAST(:emails AS text[])))"
        f" OR ({PHONE_KEY.format(phone='phone')}) IN (SELECT unnest(CAST(:phones AS text[]))))"
        " ORDER BY created_at, id"),
        {"hotel": hotel_key(hotel_id), "ids": keys, "emails": list(emails), "phones": list(phones)})
    return [Guest(gid, *split_name(name), email, phone) for gid, name, email, phone in rows]


def save_guests(session: Session, hotel_id: PmsId, guests: Sequence[Guest]) -> None:
    """Insert the guests without an id (setting their ids) and update the others: a round trip or two each.

    A guest whose details are what the row holds already is left alone (its ``updated_at`` does not move).
    """
    hotel = hotel_key(hotel_id)
    new = [g for g in guests if g.id is None]
    known = [g for g in guests if g.id is not None]
    if not (new or known):
        return
    with raw_cursor(session) as cursor:
        if known:
            keys = [as_uuid(g.id) for g in known]
            cursor.execute(_LIVE, ([k for k in keys if k is not None], hotel))
            found = {row[0] for row in cursor.fetchall()}
            if missing := [g.id for g, key in zip(known, keys, strict=True) if key not in found]:
                raise NotInHotel(f"hotel {hotel_id} has no (live) guest(s) {missing}")
            cursor.executemany(_UPDATE, [{"id": g.id, "hotel": hotel, "name": joined_name(g.first_name, g.last_name),
                                          "email": g.email, "phone": g.phone} for g in known])
        if new:
            ids = [new_id() for _ in new]
            cursor.executemany(_INSERT, [(gid, hotel, joined_name(g.first_name, g.last_name), g.email, g.phone)
                                         for gid, g in zip(ids, new, strict=True)])
            for guest, gid in zip(new, ids, strict=True):
                guest.id = gid
