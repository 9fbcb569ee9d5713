"""Which PMS reservation of a group each part of a QloApps order lands in (no database here: the writer's plan).

That PMS holds one room type for one stay per reservation, so a write's lines are partitioned by (room type,
check-in, check-out), each partition one reservation of ``units_requested`` = its number of lines. A partition
is given, in this order of preference:

1. the member most of its lines name by line id (``"<member>#k"``): the reservation sync read those lines from,
   whatever has changed about them since (dates, room type);
2. a member whose room type and stay are the partition's (a line QloApps renumbered);
3. a member checked in or out at the front desk that has none yet (the guest is in the house: the stay moves,
   the reservation stays);
4. a new PMS reservation.

A member gets at most one partition. A member left without one is soft-deleted, unless it is checked in or out:
that one is left alone and taken out of the group (a reservation of its own, as if made at the front desk), so
the group holds what QloApps holds. The anchor names the group and cannot leave it: a checked-in anchor left
without a partition takes over the partition of a member that is not checked in (which is soft-deleted in its
place); when every partition is a checked-in guest's, the write is refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from qlosync.errors import PermanentError
from qlosync.pms.hotelmanangement import statuses
from qlosync.pms.hotelmanangement.ids import NotInHotel, new_id, parse_line_id
from qlosync.pms.port import LineWrite, ReservationWrite

StayKey = tuple[str, date, date]  # room type, check-in, check-out


class CheckedInAnchor(PermanentError):
    """QloApps' order no longer holds the stay of a guest checked in on the group's anchor: settle it at the desk."""


@dataclass(frozen=True)
class Locked:
    """A member of a group as the writer found it (locked for the transaction)."""

    id: str
    room_type_id: str | None
    checkin: date
    checkout: date
    units: int
    status: str
    deleted: bool
    guest_id: str
    created_at: datetime | None  # NULL allowed in that PMS (its default fills it)

    @property
    def key(self) -> StayKey | None:
        return None if self.room_type_id is None else (self.room_type_id, self.checkin, self.checkout)

    @property
    def at_front_desk(self) -> bool:
        """Checked in or out: the front desk's, never soft-deleted nor re-statused by a write."""
        return self.status in statuses.FRONT_DESK and not self.deleted


@dataclass
class Partition:
    key: StayKey
    positions: list[int]  # indexes of its lines in the write, in order
    lines: list[LineWrite]
    member: Locked | None = None
    new_id: str | None = None  # set when it is a new PMS reservation

    @property
    def reservation_id(self) -> str:
        reservation = self.member.id if self.member is not None else self.new_id
        assert reservation is not None, "every partition has a reservation once planned"
        return reservation


@dataclass
class Plan:
    """What one write does to its group."""

    group_id: str
    partitions: list[Partition]
    members: list[Locked]  # the group's existing members, the anchor first
    soft_deleted: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)

    @property
    def payer(self) -> str:
        """The reservation whose deposit holds what was paid: the anchor while it holds a partition."""
        held = [p.reservation_id for p in self.partitions]
        return self.group_id if self.group_id in held else held[0]

    @property
    def kept_members(self) -> list[str]:
        """The reservations in the group after the write (hms_reservation_groups rows to hold)."""
        gone = set(self.detached)
        return list(dict.fromkeys([*(m.id for m in self.members if m.id not in gone),
                                   *(p.reservation_id for p in self.partitions)]))


def partitions_of(lines: Sequence[LineWrite]) -> list[Partition]:
    """The write's lines by room type and stay, in the order each first appears."""
    parts: dict[StayKey, Partition] = {}
    for position, line in enumerate(lines):
        key = (line.room_type_id, line.checkin, line.checkout)
        part = parts.setdefault(key, Partition(key, [], []))
        part.positions.append(position)
        part.lines.append(line)
    return list(parts.values())


def _named_members(write: ReservationWrite, members: dict[str, Locked]) -> list[str | None]:
    """The member each line names by id (None: a line without id); refuses ids that are not the group's lines."""
    named: list[str | None] = []
    seen: set[str] = set()
    for line in write.lines:
        if line.id is None:
            named.append(None)
            continue
        parsed = parse_line_id(line.id)
        member = members.get(parsed[0]) if parsed is not None else None
        if parsed is None or member is None or parsed[1] > member.units or line.id in seen:
            raise NotInHotel(f"reservation {write.id or '(new)'} has no line {line.id!r}, or lists it twice")
        seen.add(line.id)
        named.append(member.id)
    return named


def plan(write: ReservationWrite, group_id: str | None, members: Sequence[Locked]) -> Plan:
    """The partitions of *write* given to the members of its group (*members*: the anchor first)."""
    if not write.lines:
        raise NotInHotel(f"reservation {write.id or '(new)'}: a write without lines (that PMS has no empty one)")
    by_id = {m.id: m for m in members}
    named = _named_members(write, by_id)
    parts = partitions_of(write.lines)
    taken: set[str] = set()

    def give(part: Partition, member: Locked) -> None:
        part.member = member
        taken.add(member.id)

    # 1. by line ids: the strongest claims first (most lines), then the earlier partition
    named_by = [Counter(m for m in (named[p] for p in part.positions) if m is not None) for part in parts]
    claims = sorted(((count, i, member) for i, counts in enumerate(named_by) for member, count in counts.items()),
                    key=lambda claim: (-claim[0], claim[1]))
    for _, i, member_id in claims:
        if parts[i].member is None and member_id not in taken:
            give(parts[i], by_id[member_id])
    # 2. by the same room type and stay; 3. a checked-in guest keeps a reservation
    for part in parts:
        if part.member is None:
            same = next((m for m in members if m.id not in taken and not m.deleted and m.key == part.key), None)
            if same is not None:
                give(part, same)
    for member in members:
        if member.at_front_desk and member.id not in taken:
            free = next((part for part in parts if part.member is None), None)
            if free is not None:
                give(free, member)
    # 4. new reservations; the first of a new group is its anchor
    for part in parts:
        if part.member is None:
            part.new_id = new_id()
    result = Plan(group_id if group_id is not None else parts[0].reservation_id, parts, list(members))
    anchor = by_id.get(result.group_id)
    if anchor is not None and anchor.at_front_desk and anchor.id not in taken:
        displaced = next((p for p in parts if p.member is not None and not p.member.at_front_desk), None)
        if displaced is None:
            raise CheckedInAnchor(f"reservation {result.group_id} is {anchor.status} at the front desk and QloApps' "
                                  "order no longer holds its stay")
        assert displaced.member is not None
        taken.discard(displaced.member.id)
        give(displaced, anchor)
    for member in members:
        if member.id in taken:
            continue
        if member.at_front_desk:
            result.detached.append(member.id)
        elif not member.deleted:
            result.soft_deleted.append(member.id)
    return result
