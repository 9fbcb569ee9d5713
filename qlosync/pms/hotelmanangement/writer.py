"""The one writer of the hotelmanangement PMS's reservations for inbound sync: a page of groups in bulk.

A page costs a few statements, each one round trip (pipelined ``executemany``, qlosync.db.bulk), whatever its
size: lock the groups' members (checking they are the hotel's), check the guests, room types and rooms named,
then insert the new reservations, update the changed ones, soft-delete the ones QloApps no longer holds, write
the reservations' 'Primary' guest rows and qlosync's group rows, and read the groups back. How a write's lines
land in the group's reservations is :mod:`.grouping`'s plan.

Every row written carries its ``hotel_id`` and moves ``updated_at`` (and ``modified_time``; ``cancel_time``
when it becomes 'Cancelled'); an UPDATE leaves a row that would not change alone (``IS DISTINCT FROM``), so an
unchanged booking moves nothing. What a write does not store: its currency (that PMS has one currency per
hotel, ``hotels.currency``), its order totals (the reservations hold their lines' sums), and per line what
a reservation of several units cannot tell apart (see docs/pms.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from qlosync.db.bulk import raw_cursor
from qlosync.pms.hotelmanangement import reading, statuses
from qlosync.pms.hotelmanangement.catalog import hotel_key
from qlosync.pms.hotelmanangement.grouping import Locked, Partition, Plan, plan
from qlosync.pms.hotelmanangement.ids import NotInHotel, as_uuid, line_id, new_id
from qlosync.pms.hotelmanangement.tables import HmsReservationGroup
from qlosync.pms.port import PmsId, PmsState, ReservationWrite

_LOCK = (
    "SELECT m.id::text, m.hotel_id::text, m.room_type_id::text, m.check_in, m.check_out, m.units_requested,"
    " m.status, m.deleted_at IS NOT NULL, m.primary_guest_id::text, m.created_at"
    " FROM reservations m WHERE m.id = ANY(%s::uuid[]) FOR UPDATE"
)
_REFERENCED = (
    f"SELECT 'guest', g.id::text FROM {reading.by_key('%(guests)s', 'g', 'guests')}"
    " WHERE g.hotel_id = %(hotel)s::uuid AND g.deleted_at IS NULL"
    " UNION ALL SELECT 'room type', id::text FROM room_types WHERE id = ANY(%(room_types)s::uuid[])"
    "   AND hotel_id = %(hotel)s::uuid"
    " UNION ALL SELECT 'room', id::text FROM rooms WHERE id = ANY(%(rooms)s::uuid[]) AND hotel_id = %(hotel)s::uuid"
)
# The columns a write sets, with the type of each one's array parameter.
_COLUMNS = (("primary_guest_id", "uuid"), ("room_type_id", "uuid"), ("units_requested", "integer"),
            ("reserved_room_id", "uuid"), ("check_in", "date"), ("check_out", "date"), ("status", "text"),
            ("total_amount", "numeric"), ("tax", "numeric"), ("deposit", "numeric"), ("source", "text"),
            ("channel", "text"), ("num_adult", "integer"), ("num_child", "integer"),
            ("booking_time", "timestamptz"), ("notes", "text"))
_NAMES = ", ".join(name for name, _ in _COLUMNS)
_ARRAYS = ", ".join(["%s::uuid[]", "%s::uuid[]", *(f"%s::{kind}[]" for _, kind in _COLUMNS)])  # id, hotel_id, ...
# One statement a page, not one a row: the statement-level capture triggers (availability) then fire once, and
# the page is one round trip. Each column is an array parameter (unnest keeps their order, WITH ORDINALITY says it).
_INSERT = (
    f"INSERT INTO reservations (id, hotel_id, {_NAMES}, modified_time, cancel_time, created_at, updated_at)"
    f" SELECT r.id, r.hotel_id, {', '.join('r.' + name for name, _ in _COLUMNS)}, now(),"
    f" CASE WHEN r.status = '{statuses.CANCELLED}' THEN now() END,"
    # By the clock, not the transaction's start: a group's members read back in the order they were made.
    " clock_timestamp(), now()"
    f" FROM unnest({_ARRAYS}) WITH ORDINALITY AS r(id, hotel_id, {_NAMES}, n) ORDER BY r.n"
)
_ROW_COLUMNS = ("id", "hotel_id", *(name for name, _ in _COLUMNS))  # the arrays' order
_UPDATE = (
    f"UPDATE reservations AS m SET ({_NAMES}, deleted_at, modified_time, updated_at, cancel_time)"
    f" = ROW({', '.join('v.' + name for name, _ in _COLUMNS)}, NULL, now(), now(),"
    f" CASE WHEN v.status = '{statuses.CANCELLED}' AND m.status <> '{statuses.CANCELLED}' THEN now()"
    " ELSE m.cancel_time END)"
    f" FROM unnest({_ARRAYS}) AS v(id, hotel_id, {_NAMES})"
    # The key twice: the ANY gives the planner the primary key even without statistics (see reading.by_key);
    # no hotel condition, which it would scan that hotel's index for: _lock checked each member's hotel.
    " WHERE m.id = v.id AND m.id = ANY(%s::uuid[])"
    f" AND ({', '.join('m.' + name for name, _ in _COLUMNS)}, m.deleted_at)"
    f" IS DISTINCT FROM ({', '.join('v.' + name for name, _ in _COLUMNS)}, NULL::timestamptz)"
)
_SOFT_DELETE = ("UPDATE reservations SET deleted_at = now(), modified_time = now(), updated_at = now()"
                " WHERE id = ANY(%s::uuid[]) AND deleted_at IS NULL")
_DROP_PRIMARY = "DELETE FROM reservation_guests WHERE reservation_id = ANY(%s::uuid[]) AND guest_type = 'Primary'"
_PRIMARY = (
    "INSERT INTO reservation_guests (id, hotel_id, reservation_id, guest_id, guest_type)"
    " SELECT r.id, r.hotel_id, r.reservation_id, r.guest_id, 'Primary'"
    " FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::uuid[]) AS r(id, hotel_id, reservation_id, guest_id)"
    # The new primary guest may be one of the reservation's secondary guests already.
    " ON CONFLICT (reservation_id, guest_id) DO UPDATE SET guest_type = 'Primary'"
)
_GROUP_ROW = (
    "INSERT INTO hms_reservation_groups (reservation_id, group_id, hotel_id, qloapps_status)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[])"
    " ON CONFLICT (reservation_id) DO UPDATE SET (group_id, hotel_id, qloapps_status)"
    " = ROW(EXCLUDED.group_id, EXCLUDED.hotel_id, EXCLUDED.qloapps_status)"
    " WHERE (hms_reservation_groups.group_id, hms_reservation_groups.hotel_id, hms_reservation_groups.qloapps_status)"
    " IS DISTINCT FROM (EXCLUDED.group_id, EXCLUDED.hotel_id, EXCLUDED.qloapps_status)"
)
_DETACH = "DELETE FROM hms_reservation_groups WHERE reservation_id = ANY(%s)"


def _uuid(pms_id: PmsId, what: str) -> str:
    key = as_uuid(pms_id)
    if key is None:
        raise NotInHotel(f"the hotelmanangement PMS has no {what} {pms_id!r}")
    return key


def _lock(cursor: psycopg.Cursor[Any], hotel: str, group_ids: list[str]) -> dict[str, list[Locked]]:
    """group → its members now, the anchor first then oldest first (locked till commit)."""
    if not group_ids:
        return {}
    if len(set(group_ids)) != len(group_ids):
        raise ValueError(f"a page writes a reservation twice: {sorted(group_ids)}")
    # Members are qlosync's to change (hms_reservation_groups), under the order's lock: read, then lock them.
    found = reading.membership(cursor, hotel, group_ids)
    cursor.execute(_LOCK, (found.members,))
    groups: dict[str, list[Locked]] = {}
    for mid, member_hotel, room_type, checkin, checkout, units, status, deleted, guest, created in cursor.fetchall():
        gid = found.group_of[mid]
        if member_hotel != hotel:
            raise NotInHotel(f"reservation {gid} of hotel {hotel} holds reservation {mid} of another hotel")
        groups.setdefault(gid, []).append(Locked(mid, room_type, checkin, checkout, reading.units_of(units), status,
                                                 deleted, guest, created))
    if missing := sorted(set(group_ids) - groups.keys()):
        raise NotInHotel(f"hotel {hotel} has no reservation(s) {', '.join(missing)}")
    return {gid: sorted(members, key=lambda m: reading.group_order(gid, m.id, m.created_at))
            for gid, members in groups.items()}


def _check_references(cursor: psycopg.Cursor[Any], hotel: str, writes: Sequence[ReservationWrite]) -> None:
    """Refuse a guest (live), room type or room that is not the hotel's: that PMS's database does not check."""
    asked = {"guest": {_uuid(w.guest_id, "guest") for w in writes},
             "room type": {_uuid(line.room_type_id, "room type") for w in writes for line in w.lines},
             "room": {_uuid(line.room_id, "room") for w in writes for line in w.lines if line.room_id is not None}}
    cursor.execute(_REFERENCED, {"hotel": hotel, "guests": sorted(asked["guest"]),
                                 "room_types": sorted(asked["room type"]), "rooms": sorted(asked["room"])})
    found: dict[str, set[str]] = {kind: set() for kind in asked}
    for kind, pms_id in cursor:
        found[kind].add(pms_id)
    for kind, ids in asked.items():
        if missing := sorted(ids - found[kind]):
            raise NotInHotel(f"hotel {hotel} has no {kind}(s) {', '.join(missing)}")


def _row(write: ReservationWrite, part: Partition, hotel: str, paid: Decimal) -> dict[str, Any]:
    lines = part.lines
    current = part.member.status if part.member is not None else None
    return {
        "id": part.reservation_id, "hotel_id": hotel, "primary_guest_id": write.guest_id,
        "room_type_id": part.key[0], "units_requested": len(lines), "reserved_room_id": lines[0].room_id,
        "check_in": part.key[1], "check_out": part.key[2], "status": statuses.written_status(write.status, current),
        "total_amount": sum((line.price_without_tax for line in lines), Decimal("0")),
        "tax": sum((line.tax for line in lines), Decimal("0")), "deposit": paid,
        "source": statuses.pms_source(write.source), "channel": statuses.pms_channel(write.source),
        "num_adult": sum(line.adults for line in lines), "num_child": sum(line.children for line in lines),
        "booking_time": write.booked_at, "notes": write.remarks,
    }


def write_reservations(session: Session, hotel_id: PmsId, writes: Sequence[ReservationWrite]) -> list[PmsState]:
    """Create (``id`` None) or overwrite the page's groups; their states as a read shows them, each with its lines
    in the order of its write's lines."""
    if not writes:
        return []
    hotel = hotel_key(hotel_id)
    group_ids = [None if w.id is None else _uuid(w.id, "reservation") for w in writes]
    with raw_cursor(session) as cursor:
        members = _lock(cursor, hotel, [g for g in group_ids if g is not None])
        _check_references(cursor, hotel, writes)
        plans = [plan(w, gid, members[gid] if gid is not None else [])
                 for w, gid in zip(writes, group_ids, strict=True)]

        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        primary: list[tuple[str, str, str, str]] = []
        guest_changed: list[str] = []
        for write, p in zip(writes, plans, strict=True):
            for part in p.partitions:
                paid = write.total_paid if part.reservation_id == p.payer else Decimal("0")
                row = _row(write, part, hotel, paid)
                (updates if part.member is not None else inserts).append(row)
                if part.member is None or part.member.guest_id != write.guest_id:
                    primary.append((new_id(), hotel, part.reservation_id, write.guest_id))
                    if part.member is not None:
                        guest_changed.append(part.member.id)
        if inserts:
            cursor.execute(_INSERT, [[row[name] for row in inserts] for name in _ROW_COLUMNS])
        if updates:
            columns = [[row[name] for row in updates] for name in _ROW_COLUMNS]
            cursor.execute(_UPDATE, [*columns, columns[0]])  # the ids again, for the primary key (see _UPDATE)
        if soft_deleted := [m for p in plans for m in p.soft_deleted]:
            cursor.execute(_SOFT_DELETE, (soft_deleted,))
        if guest_changed:
            cursor.execute(_DROP_PRIMARY, (guest_changed,))
        if primary:
            cursor.execute(_PRIMARY, _columns(primary, 4))
        if detached := [m for p in plans for m in p.detached]:
            cursor.execute(_DETACH, (detached,))
        cursor.execute(_GROUP_ROW, _columns([(member, p.group_id, hotel, write.status)
                                             for write, p in zip(writes, plans, strict=True)
                                             for member in p.kept_members], 4))
        # Read back what a read will show; the groups' members are the ones just written, no need to look them up.
        written = reading.Membership({p.group_id: w.status for w, p in zip(writes, plans, strict=True)},
                                     {member: p.group_id for p in plans for member in p.kept_members})
        states = reading.group_states(cursor, hotel, written)
    forget_loaded(session)
    return [_as_written(states[p.group_id], p, len(write.lines)) for write, p in zip(writes, plans, strict=True)]


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as one list per column, the parameters of an ``unnest`` (empty lists for no rows)."""
    return [[row[i] for row in rows] for i in range(width)]


def forget_loaded(session: Session) -> None:
    """Expire the group rows the session has loaded: the plain writes above changed them behind its back."""
    for row in list(session.identity_map.values()):
        if isinstance(row, HmsReservationGroup):
            session.expire(row)


def _as_written(state: PmsState, p: Plan, line_count: int) -> PmsState:
    """The group's state read back, its lines in the write's order (line j of a partition is its member's #j)."""
    ids: list[str | None] = [None] * line_count
    for part in p.partitions:
        for j, position in enumerate(part.positions):
            ids[position] = line_id(part.reservation_id, j + 1)
    by_id = {line.id: line for line in state.lines}
    if set(by_id) != set(ids):
        raise AssertionError(f"reservation {state.reservation_id} reads back other lines than were written")
    return replace(state, lines=tuple(by_id[i] for i in ids if i is not None), changed_at=None)
