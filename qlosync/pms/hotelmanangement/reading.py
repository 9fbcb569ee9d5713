"""Reservation groups of the hotelmanangement PMS as the port shows them (:class:`~qlosync.pms.port.PmsState`).

The port's reservation is a group of that PMS's reservations (qlosync.pms.hotelmanangement.tables), named by
its anchor; a reservation of N units shows as N lines ``"<id>#1"`` .. ``"<id>#N"``, sharing its occupancy and
money evenly (remainders on the first lines), the requested room on line 1. Which members a group shows:

* a member soft-deleted (``deleted_at``) is not live and its lines leave the group;
* a group with a live member (not soft-deleted, not 'Cancelled') is live; it shows the live members, and also
  its 'Cancelled' ones when QloApps' own status is a cancellation (a write from QloApps cancelled them, but a
  checked-in guest keeps the group live): only a cancellation made at the front desk takes lines away;
* a group without one is cancelled and shows its members that are not soft-deleted (all of them, when every
  one is).

The state's guest is the primary guest of the first member shown (the anchor first, then the others oldest
first), ``total_paid`` the sum of the deposits shown, and ``changed_at`` the newest ``updated_at`` of every
member and of that guest.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from qlosync.db.bulk import raw_cursor
from qlosync.pms.hotelmanangement import statuses
from qlosync.pms.hotelmanangement.guests import split_name
from qlosync.pms.hotelmanangement.ids import as_uuid, as_uuids, line_id
from qlosync.pms.port import GuestState, LineState, PmsId, PmsState
from qlosync.states import CLOSED_STATUSES

CENT = Decimal("0.01")


def by_key(ids: str, alias: str, table: str = "reservations") -> str:
    """A FROM item: the rows of *table* whose keys the uuid[] parameter *ids* holds, as *alias*, each found by
    its primary key. Fenced by OFFSET 0 so the planner cannot make it a join again: with no statistics
    (reltuples -1 after a bulk import, autovacuum off) it served ``id = ANY(...)`` by scanning every reservation
    of the hotel through another index, 20-240 ms for a page of 100 keys instead of 2."""
    return (f"unnest({ids}::uuid[]) AS {alias}_key(id)"
            f" CROSS JOIN LATERAL (SELECT * FROM {table} WHERE id = {alias}_key.id OFFSET 0) {alias}")


#: The groups anchored at %(ids)s in %(hotel)s: (group, member, QloApps status) for each anchor, then (group,
#: member, NULL) for its other members. An id whose own row names another group is not a group.
#: Two lookups by key, not one join, each row found through its index (see by_key): without statistics on the
#: tables (autovacuum off, a bulk import just made) a join of groups to their members was planned as a nested
#: loop over every reservation, a page of 100 groups taking minutes.
MEMBERSHIP_SQL = (
    f"SELECT a.id::text, a.id::text, ag.qloapps_status FROM {by_key('%(ids)s', 'a')}"
    " LEFT JOIN LATERAL (SELECT * FROM hms_reservation_groups WHERE reservation_id = a.id::text OFFSET 0) ag ON true"
    " WHERE a.hotel_id = %(hotel)s::uuid"
    " AND (ag.group_id IS NULL OR ag.group_id = a.id::text)"
    " UNION ALL SELECT g.group_id, g.reservation_id, NULL FROM unnest(%(ids)s::text[]) AS g_key(id)"
    " CROSS JOIN LATERAL (SELECT * FROM hms_reservation_groups WHERE group_id = g_key.id OFFSET 0) g"
    " WHERE g.reservation_id <> g.group_id"
)
_STATES = (
    "SELECT m.id::text, m.hotel_id::text, m.created_at,"
    " COALESCE(m.room_type_id, rr.room_type_id)::text, COALESCE(m.reserved_room_id, m.room_id)::text,"
    " m.units_requested, m.check_in, m.check_out, m.status, m.total_amount, m.tax, m.deposit, m.source, m.channel,"
    " m.num_adult, m.num_child, m.updated_at, m.deleted_at, m.primary_guest_id::text,"
    " gu.name, gu.email, gu.phone, gu.updated_at"
    f" FROM {by_key('%s', 'm')}"
    " LEFT JOIN rooms rr ON rr.id = COALESCE(m.reserved_room_id, m.room_id)"
    " JOIN guests gu ON gu.id = m.primary_guest_id"
)


@dataclass(frozen=True)
class Membership:
    """Which groups some ids anchor, and their members."""

    qloapps_status: dict[str, str | None]  # group → the QloApps status a pull last wrote
    group_of: dict[str, str]  # member (the anchor too) → its group

    @property
    def members(self) -> list[str]:
        return sorted(self.group_of)


def membership(cursor: psycopg.Cursor[Any], hotel: str, ids: Sequence[str]) -> Membership:
    """The groups of *hotel* anchored at *ids* (uuids) and their members."""
    cursor.execute(MEMBERSHIP_SQL, {"ids": list(ids), "hotel": hotel})
    qloapps_status: dict[str, str | None] = {}
    others: list[tuple[str, str]] = []
    for group, member, status in cursor.fetchall():
        if group == member:
            qloapps_status[group] = status
        else:
            others.append((group, member))
    group_of = {group: group for group in qloapps_status}
    # A member row naming an id that is not a group of this hotel (another hotel's, or not an anchor) is not read.
    group_of.update((member, group) for group, member in others if group in qloapps_status)
    return Membership(qloapps_status, group_of)


@dataclass(frozen=True)
class Member:
    """One of a group's PMS reservations, as a read sees it."""

    id: str
    hotel_id: str
    created_at: datetime | None
    room_type_id: str | None
    room_id: str | None
    units: int
    checkin: date
    checkout: date
    status: str
    total_amount: Decimal
    tax: Decimal
    deposit: Decimal
    source: str | None
    channel: str | None
    adults: int
    children: int
    updated_at: datetime | None
    deleted_at: datetime | None
    guest: GuestState
    guest_updated_at: datetime | None

    @property
    def live(self) -> bool:
        return self.deleted_at is None and self.status != statuses.CANCELLED


def units_of(units_requested: int | None) -> int:
    # NULL or nonsense from another writer: the reservation still holds one room.
    return units_requested if units_requested is not None and units_requested > 0 else 1


def split_money(total: Decimal, parts: int) -> list[Decimal]:
    """*total* in *parts* that differ by at most a cent, the larger ones first."""
    cents = int(Decimal(total).quantize(CENT, rounding=ROUND_HALF_UP).scaleb(2))
    share, rest = divmod(cents, parts)
    return [Decimal(share + (1 if i < rest else 0)).scaleb(-2) for i in range(parts)]


def split_count(total: int, parts: int) -> list[int]:
    share, rest = divmod(total, parts)
    return [share + (1 if i < rest else 0) for i in range(parts)]


def member_lines(member: Member) -> list[LineState]:
    """The port lines of one PMS reservation (none without a room type: nothing to sell them as)."""
    if member.room_type_id is None:
        return []
    n = member.units
    prices, taxes = split_money(member.total_amount, n), split_money(member.tax, n)
    adults, children = split_count(member.adults, n), split_count(member.children, n)
    return [LineState(line_id(member.id, k + 1), member.room_type_id, member.room_id if k == 0 else None,
                      member.checkin, member.checkout, adults[k], children[k], (), prices[k], taxes[k])
            for k in range(n)]


def shown_members(members: Sequence[Member], qloapps_status: str | None) -> tuple[bool, list[Member]]:
    """(whether the group is live, the members whose lines it shows), members in the group's order."""
    if any(m.live for m in members):
        if qloapps_status in CLOSED_STATUSES:
            return True, [m for m in members if m.deleted_at is None]
        return True, [m for m in members if m.live]
    kept = [m for m in members if m.deleted_at is None]
    return False, kept or list(members)


def group_state(group_id: str, members: Sequence[Member], qloapps_status: str | None) -> PmsState:
    """The port's view of a group (*members* anchor first, then oldest first)."""
    live, shown = shown_members(members, qloapps_status)
    first = shown[0]
    stamps = [s for m in members for s in (m.updated_at, m.deleted_at) if s is not None]
    if first.guest_updated_at is not None:
        stamps.append(first.guest_updated_at)
    return PmsState(
        reservation_id=group_id,
        status=statuses.port_status(live, qloapps_status),
        source=statuses.port_source(first.source, first.channel),
        total_paid=sum((m.deposit for m in shown), Decimal("0")).quantize(CENT),
        guest=first.guest,
        lines=tuple(line for m in shown for line in member_lines(m)),
        changed_at=max(stamps, default=None),
    )


def _member(row: Any) -> Member:
    (mid, hotel, created, room_type, room, units, checkin, checkout, status, total, tax, deposit, source,
     channel, adults, children, updated, deleted, guest_id, name, email, phone, guest_updated) = row
    n = units_of(units)
    first_name, last_name = split_name(name)
    return Member(
        id=mid, hotel_id=hotel, created_at=created, room_type_id=room_type, room_id=room, units=n, checkin=checkin,
        checkout=checkout, status=status, total_amount=Decimal(total), tax=Decimal(tax or 0),
        deposit=Decimal(deposit or 0), source=source, channel=channel,
        # A reservation that says nothing of its guests holds one adult a room.
        adults=n if adults is None else adults, children=children or 0, updated_at=updated, deleted_at=deleted,
        guest=GuestState(guest_id, first_name, last_name, (email or "").strip() or None, (phone or "").strip() or None),
        guest_updated_at=guest_updated)


def group_order(group_id: str, member_id: str, created_at: datetime | None) -> tuple[bool, datetime, str]:
    """A group's members in order: the anchor, then the others as they were created (ties by id)."""
    return (member_id != group_id, created_at or datetime.min.replace(tzinfo=UTC), member_id)


def reservation_states(session: Session, hotel_id: PmsId, ids: Collection[PmsId]) -> dict[PmsId, PmsState]:
    """The groups of this hotel anchored at these ids; ids that name no group of the hotel are left out."""
    keys, hotel = as_uuids(ids), as_uuid(hotel_id)
    if not keys or hotel is None:
        return {}
    with raw_cursor(session) as cursor:
        return group_states(cursor, hotel, membership(cursor, hotel, keys))


def group_states(cursor: psycopg.Cursor[Any], hotel: str, found: Membership) -> dict[str, PmsState]:
    """The states of groups whose members are known (from :func:`membership`, or from the write that made them)."""
    groups: dict[str, list[Member]] = {}
    cursor.execute(_STATES, (found.members,))
    for row in cursor.fetchall():
        member = _member(row)
        if member.hotel_id != hotel:
            continue  # that PMS does not check a group's hotel; a member of another one is not this hotel's
        groups.setdefault(found.group_of[member.id], []).append(member)
    return {gid: group_state(gid, sorted(members, key=lambda m: group_order(gid, m.id, m.created_at)),
                             found.qloapps_status[gid])
            for gid, members in groups.items()}


def hotels_of_reservations(session: Session, ids: Collection[PmsId]) -> dict[PmsId, PmsId]:
    """group id → its hotel, for the ids that name a group (an anchor, not another member)."""
    keys = as_uuids(ids)
    if not keys:
        return {}
    return {rid: hid for rid, hid in session.execute(text(
        "SELECT r.id::text, r.hotel_id::text FROM reservations r"
        " LEFT JOIN hms_reservation_groups g ON g.reservation_id = r.id::text"
        " WHERE r.id = ANY(CAST(:ids AS uuid[])) AND (g.group_id IS NULL OR g.group_id = r.id::text)"),
        {"ids": keys})}
