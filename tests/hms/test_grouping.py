"""The writer's plan (qlosync.pms.hotelmanangement.grouping): which PMS reservation of a group each part of an
order lands in. No database: members and writes are made up."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from qlosync.pms.hotelmanangement.grouping import CheckedInAnchor, Locked, partitions_of, plan
from qlosync.pms.hotelmanangement.ids import NotInHotel
from tests.hms.support import line, write

DOUBLE, SUITE = str(uuid.uuid4()), str(uuid.uuid4())
GUEST = str(uuid.uuid4())
D1, D5 = date(2031, 3, 1), date(2031, 3, 5)
T0 = datetime(2031, 1, 1, tzinfo=UTC)


def member(room_type: str, checkin: date, units: int = 1, *, status: str = "Confirmed", deleted: bool = False,
           order: int = 0) -> Locked:
    return Locked(str(uuid.uuid4()), room_type, checkin, checkin + timedelta(days=2), units, status, deleted, GUEST,
                  T0 + timedelta(seconds=order))


def test_lines_are_partitioned_by_room_type_and_stay_in_the_order_they_first_appear() -> None:
    parts = partitions_of([line(SUITE, D5), line(DOUBLE, D1), line(SUITE, D5), line(DOUBLE, D1, nights=3)])
    assert [(p.key[0], p.key[1], p.positions) for p in parts] == [(SUITE, D5, [0, 2]), (DOUBLE, D1, [1]),
                                                                  (DOUBLE, D1, [3])]


def test_a_new_order_makes_one_new_reservation_per_partition_and_the_first_is_the_anchor() -> None:
    result = plan(write(GUEST, line(DOUBLE, D1), line(SUITE, D5), line(DOUBLE, D1)), None, [])
    first, second = result.partitions
    assert first.member is None and second.member is None
    assert result.group_id == first.reservation_id != second.reservation_id
    assert result.kept_members == [first.reservation_id, second.reservation_id]
    assert result.payer == result.group_id and result.soft_deleted == result.detached == []


def test_a_partition_goes_to_the_member_most_of_its_lines_name() -> None:
    a, b = member(DOUBLE, D1, 2), member(SUITE, D5, 2, order=1)
    # One line of the (new) suite partition names a, two name b: b keeps it; a takes the double by its other line
    result = plan(write(GUEST, line(SUITE, D1, id=f"{a.id}#1"), line(SUITE, D1, id=f"{b.id}#1"),
                        line(SUITE, D1, id=f"{b.id}#2"), line(DOUBLE, D5, id=f"{a.id}#2"), id=a.id), a.id, [a, b])
    assert [p.member for p in result.partitions] == [b, a]
    assert result.soft_deleted == [] and result.payer == a.id


def test_without_line_ids_a_member_of_the_same_room_type_and_stay_is_kept_and_the_others_are_soft_deleted() -> None:
    a, b, c = member(DOUBLE, D1), member(SUITE, D5, order=1), member(SUITE, D1, order=2)
    result = plan(write(GUEST, line(SUITE, D5), line(DOUBLE, D5), id=a.id), a.id, [a, b, c])
    suite, double = result.partitions
    assert suite.member == b and double.member is None and double.new_id is not None
    assert result.soft_deleted == [a.id, c.id]
    # The anchor holds no partition any more: what was paid goes on the first one
    assert result.payer == b.id and result.group_id == a.id


def test_a_soft_deleted_member_is_taken_back_only_when_a_line_names_it() -> None:
    gone = member(DOUBLE, D1, deleted=True)
    assert plan(write(GUEST, line(DOUBLE, D1), id=gone.id), gone.id, [gone]).partitions[0].member is None
    again = plan(write(GUEST, line(DOUBLE, D1, id=f"{gone.id}#1"), id=gone.id), gone.id, [gone])
    assert again.partitions[0].member == gone and again.soft_deleted == []


def test_a_checked_in_member_keeps_a_reservation_rather_than_a_new_one_being_made() -> None:
    a, b = member(DOUBLE, D1), member(SUITE, D1, status="Checked-in", order=1)
    result = plan(write(GUEST, line(DOUBLE, D1, id=f"{a.id}#1"), line(SUITE, D5), id=a.id), a.id, [a, b])
    assert [p.member for p in result.partitions] == [a, b]


def test_a_checked_in_member_left_without_a_partition_leaves_the_group_instead_of_being_deleted() -> None:
    a, b = member(DOUBLE, D1), member(SUITE, D5, status="Checked-out", order=1)
    result = plan(write(GUEST, line(DOUBLE, D1, id=f"{a.id}#1"), id=a.id), a.id, [a, b])
    assert result.detached == [b.id] and result.soft_deleted == [] and result.kept_members == [a.id]


def test_a_checked_in_anchor_takes_over_a_partition_and_is_refused_when_none_can_be_taken() -> None:
    a, b = member(DOUBLE, D1, status="Checked-in"), member(SUITE, D5, order=1)
    result = plan(write(GUEST, line(SUITE, D5, id=f"{b.id}#1"), id=a.id), a.id, [a, b])
    assert result.partitions[0].member == a and result.soft_deleted == [b.id]
    c = member(SUITE, D5, status="Checked-in", order=1)
    with pytest.raises(CheckedInAnchor):
        plan(write(GUEST, line(SUITE, D5, id=f"{c.id}#1"), id=a.id), a.id, [a, c])


@pytest.mark.parametrize("line_id", ["{a}#3", "{a}#0", "{a}#01", "{a}", "{other}#1", "nonsense#1"])
def test_a_line_id_that_is_not_one_of_the_groups_lines_is_refused(line_id: str) -> None:
    a = member(DOUBLE, D1, 2)
    bad = line_id.format(a=a.id, other=uuid.uuid4())
    with pytest.raises(NotInHotel):
        plan(write(GUEST, line(DOUBLE, D1, id=bad), id=a.id), a.id, [a])


def test_a_line_listed_twice_or_a_write_without_lines_is_refused() -> None:
    a = member(DOUBLE, D1, 2)
    with pytest.raises(NotInHotel):
        plan(write(GUEST, line(DOUBLE, D1, id=f"{a.id}#1"), line(DOUBLE, D1, id=f"{a.id}#1"), id=a.id), a.id, [a])
    with pytest.raises(NotInHotel):
        plan(write(GUEST, id=a.id), a.id, [a])
