"""The one writer of PMS reservations for inbound sync: a page of creates and overwrites in bulk.

A page costs one statement per table and kind, each a pipelined ``executemany`` (qlosync.db.bulk): insert
reservations, update reservations, delete the lines not kept, update lines, insert lines. Before them, one
read locks the existing reservations of the page (checking they belong to the hotel, and listing their lines)
and one reads the guests (checking the same, and giving the states their guest). No ORM object is made.

An UPDATE leaves a row that would not change alone (``IS DISTINCT FROM``): updating it anyway would move its
``updated_at`` (which conflict settling compares) and fire the availability trigger of its lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from qlosync.db.bulk import raw_cursor, returned_ids
from qlosync.db.keyed import rows_by_key
from qlosync.pms.builtin.catalog import NotInHotel, hotel_key
from qlosync.pms.builtin.ids import as_id, as_key
from qlosync.pms.builtin.tables import PmsGuest, PmsReservation, PmsReservationLine
from qlosync.pms.port import GuestState, LineState, LineWrite, PmsId, PmsState, ReservationWrite

CENT = Decimal("0.01")
RESERVATION_COLUMNS = ("guest_id", "status", "source", "currency", "total_without_tax", "total_tax", "total_paid",
                       "booked_at", "remarks")
LINE_COLUMNS = ("room_type_id", "room_id", "checkin", "checkout", "adults", "children", "child_ages",
                "price_without_tax", "tax")


def _insert(table: str, columns: Sequence[str]) -> str:
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(f'%({c})s' for c in columns)})"
            " RETURNING id")


def _update(table: str, columns: Sequence[str], scope: str) -> str:
    values = ", ".join(f"%({c})s" for c in columns)
    return (f"UPDATE {table} SET ({', '.join(columns)}) = ROW({values}) WHERE id = %(id)s AND {scope}"
            f" AND ({', '.join(columns)}) IS DISTINCT FROM ({values})")


_INSERT_RESERVATION = _insert("pms_reservations", ("hotel_id", *RESERVATION_COLUMNS))
_UPDATE_RESERVATION = _update("pms_reservations", RESERVATION_COLUMNS, "hotel_id = %(hotel_id)s")
_INSERT_LINE = _insert("pms_reservation_lines", ("reservation_id", *LINE_COLUMNS))
_UPDATE_LINE = _update("pms_reservation_lines", LINE_COLUMNS, "reservation_id = %(reservation_id)s")
_DELETE_LINES = "DELETE FROM pms_reservation_lines WHERE id = ANY(%s)"
# Each row by its key (qlosync.db.keyed), the hotel checked on the rows found: ``id = ANY(%s) AND hotel_id = %s``
# was planned, without statistics, as a read of every row of the hotel through its hotel_id index (the page's
# guests: 15 ms at 80,000 guests, growing through a full import).
_LOCK_RESERVATIONS = (
    "SELECT r.id, l.id FROM " + rows_by_key("pms_reservations", "r", "id", "%s", "integer")
    + " LEFT JOIN LATERAL (SELECT id FROM pms_reservation_lines WHERE reservation_id = r.id OFFSET 0) l ON true"
    " WHERE r.hotel_id = %s FOR UPDATE OF r"
)
_GUESTS = ("SELECT g.id, g.first_name, g.last_name, g.email, g.phone FROM " + rows_by_key("pms_guests", "g", "id", "%s", "integer")
           + " WHERE g.hotel_id = %s")


def _key(pms_id: PmsId, what: str) -> int:
    key = as_key(pms_id)
    if key is None:
        raise NotInHotel(f"the built-in PMS has no {what} {pms_id!r}")
    return key


def _money(value: Decimal) -> Decimal:
    # What NUMERIC(12, 2) stores: PostgreSQL rounds half away from zero.
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _reservation_row(write: ReservationWrite, hotel: int, key: int | None) -> dict[str, Any]:
    return {"id": key, "hotel_id": hotel, "guest_id": _key(write.guest_id, "guest"), "status": write.status,
            "source": write.source, "currency": write.currency, "total_without_tax": write.total_without_tax,
            "total_tax": write.total_tax, "total_paid": write.total_paid, "booked_at": write.booked_at,
            "remarks": write.remarks}


def _line_row(line: LineWrite, reservation: int, key: int | None) -> dict[str, Any]:
    return {"id": key, "reservation_id": reservation, "room_type_id": _key(line.room_type_id, "room type"),
            "room_id": None if line.room_id is None else _key(line.room_id, "room"), "checkin": line.checkin,
            "checkout": line.checkout, "adults": line.adults, "children": line.children,
            "child_ages": Jsonb(list(line.child_ages)), "price_without_tax": line.price_without_tax,
            "tax": line.tax}


def _lock(cursor: psycopg.Cursor[Any], hotel: int, keys: list[int]) -> dict[int, set[int]]:
    """reservation → its line ids now, for the existing reservations of the page (locked till commit)."""
    if not keys:
        return {}
    if len(set(keys)) != len(keys):
        raise ValueError(f"a page writes a reservation twice: {sorted(keys)}")
    cursor.execute(_LOCK_RESERVATIONS, (keys, hotel))
    lines: dict[int, set[int]] = {}
    for reservation, line in cursor.fetchall():
        found = lines.setdefault(reservation, set())
        if line is not None:
            found.add(line)
    if missing := sorted(set(keys) - lines.keys()):
        raise NotInHotel(f"hotel {hotel} has no reservation(s) {', '.join(map(str, missing))}")
    return lines


def _guests(cursor: psycopg.Cursor[Any], hotel: int, writes: Sequence[ReservationWrite]) -> dict[int, GuestState]:
    keys = sorted({_key(w.guest_id, "guest") for w in writes})
    cursor.execute(_GUESTS, (keys, hotel))
    # The same view as reading.guest_state gives of a loaded row.
    guests = {gid: GuestState(str(gid), first.strip(), last.strip(), (email or "").strip() or None,
                              (phone or "").strip() or None)
              for gid, first, last, email, phone in cursor.fetchall()}
    if missing := [k for k in keys if k not in guests]:
        raise NotInHotel(f"hotel {hotel} has no guest(s) {', '.join(map(str, missing))}")
    return guests


def _listed_lines(writes: Sequence[ReservationWrite], keys: Sequence[int | None],
                  lines_now: dict[int, set[int]]) -> tuple[list[list[int | None]], list[int]]:
    """Each write's line keys (None: a new line), and the lines to delete; checked before anything is written.

    A line listed by id must be one of its reservation's; the reservation's lines not listed are removed.
    """
    listed_all, gone = [], []
    for write, key in zip(writes, keys, strict=True):
        listed = [None if line.id is None else _key(line.id, "reservation line") for line in write.lines]
        kept = [k for k in listed if k is not None]
        now = lines_now.get(key, set()) if key is not None else set()
        if len(set(kept)) != len(kept) or not set(kept) <= now:
            raise NotInHotel(f"reservation {write.id or '(new)'} has not the lines {kept}, or lists one twice")
        gone.extend(sorted(now - set(kept)))
        listed_all.append(listed)
    return listed_all, gone


def write_reservations(session: Session, hotel_id: PmsId, writes: Sequence[ReservationWrite]) -> list[PmsState]:
    """Create (``id`` None) or overwrite the page's reservations; their states, in order, lines as written."""
    if not writes:
        return []
    hotel = hotel_key(hotel_id)
    keys: list[int | None] = [None if w.id is None else _key(w.id, "reservation") for w in writes]
    with raw_cursor(session) as cursor:
        lines_now = _lock(cursor, hotel, [k for k in keys if k is not None])
        guests = _guests(cursor, hotel, writes)
        line_keys, gone = _listed_lines(writes, keys, lines_now)

        fresh = [i for i, key in enumerate(keys) if key is None]
        if fresh:
            cursor.executemany(_INSERT_RESERVATION, [_reservation_row(writes[i], hotel, None) for i in fresh],
                               returning=True)
            for i, new_key in zip(fresh, returned_ids(cursor), strict=True):
                keys[i] = new_key
        reservation_keys = [k for k in keys if k is not None]
        assert len(reservation_keys) == len(writes)
        overwritten = [_reservation_row(w, hotel, k) for w, k in zip(writes, keys, strict=True) if w.id is not None]
        if overwritten:
            cursor.executemany(_UPDATE_RESERVATION, overwritten)

        if gone:
            cursor.execute(_DELETE_LINES, (gone,))
        rows = [(_line_row(line, reservation, line_key), line_key is None)
                for write, reservation, listed in zip(writes, reservation_keys, line_keys, strict=True)
                for line, line_key in zip(write.lines, listed, strict=True)]
        if updates := [row for row, new in rows if not new]:
            cursor.executemany(_UPDATE_LINE, updates)
        if inserts := [row for row, new in rows if new]:
            cursor.executemany(_INSERT_LINE, inserts, returning=True)
            new_keys = iter(returned_ids(cursor))
            line_keys = [[next(new_keys) if k is None else k for k in listed] for listed in line_keys]

    forget_loaded(session)
    return [_state(w, key, guests[_key(w.guest_id, "guest")], listed)
            for w, key, listed in zip(writes, reservation_keys, line_keys, strict=True)]


def forget_loaded(session: Session) -> None:
    """Expire the PMS rows the session has loaded (reservation_states reads through the ORM): the plain writes
    above changed them behind its back, and a later read in this transaction must not see the old values."""
    for row in list(session.identity_map.values()):
        if isinstance(row, (PmsReservation, PmsReservationLine, PmsGuest)):
            session.expire(row)


def _state(write: ReservationWrite, key: int, guest: GuestState, line_keys: Sequence[int | None]) -> PmsState:
    """What the rows written hold, as reading.state_of shows them (changed_at unknown: set by the server)."""
    lines = []
    for line, line_key in zip(write.lines, line_keys, strict=True):
        room_type = as_id(_key(line.room_type_id, "room type"))
        assert line_key is not None and room_type is not None
        lines.append(LineState(str(line_key), room_type, None if line.room_id is None else as_id(_key(line.room_id, "room")),
                               line.checkin, line.checkout, line.adults, line.children,
                               tuple(int(a) for a in line.child_ages), _money(line.price_without_tax),
                               _money(line.tax)))
    return PmsState(reservation_id=str(key), status=write.status, source=write.source,
                    total_paid=_money(write.total_paid), guest=guest, lines=tuple(lines), changed_at=None)
