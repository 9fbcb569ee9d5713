"""The hotelmanangement adapter's reservations through the port: a QloApps order lands as a group of that PMS's
reservations (one per room type and stay), written in bulk, and reads back as written."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.session import transaction
from qlosync.errors import PermanentError
from qlosync.pms.hotelmanangement.adapter import HmsPms
from qlosync.pms.port import Guest, NewRoomType, PmsState
from qlosync.sync.pms_state import pms_state_hash
from tests.hms.support import (
    DEFAULT_HOTEL,
    add_hotel,
    catalog,
    group_members,
    hotel,
    line,
    member_of,
    primary_guests,
    reservation_row,
    write,
)

Sessions = sessionmaker[Session]
D1, D5, D9 = date(2031, 3, 1), date(2031, 3, 5), date(2031, 3, 9)


def read(sessions: Sessions, group_id: str, hotel_id: str = DEFAULT_HOTEL) -> PmsState:
    with transaction(sessions) as session:
        return hotel(session, hotel_id).reservation_states([group_id])[group_id]


def same_as_read(written: PmsState, now: PmsState) -> None:
    """What a write returned is what a read gives: the same lines (a read lists them by reservation), the same
    content hash (so an import is never pushed back unchanged)."""
    assert now.changed_at is not None and written.changed_at is None
    assert replace(now, changed_at=None, lines=written.lines) == written
    assert sorted(now.lines, key=lambda ln: ln.id) == sorted(written.lines, key=lambda ln: ln.id)
    assert pms_state_hash(now) == pms_state_hash(written)


def set_status(sessions: Sessions, reservation_id: str, status: str) -> None:
    with transaction(sessions) as session:
        session.execute(text("UPDATE reservations SET status = :status, updated_at = now() WHERE id = CAST(:id AS uuid)"),
                        {"status": status, "id": reservation_id})


def two_stays(sessions: Sessions) -> tuple[str, str, str, str, PmsState]:
    """An order of two doubles on 1 March (one in room 101) and a suite on 5 March: (double, suite, guest,
    room, its state)."""
    with transaction(sessions) as session:
        double, suite, guest = catalog(session)
        room = hotel(session).create_room(double, "101").id
        state = hotel(session).write_reservations([write(
            guest, line(double, D1, price="100.00", room_id=room, adults=2, children=1),
            line(suite, D5, nights=3, price="300.00", adults=3),
            line(double, D1, price="101.01", adults=1))])[0]
    return double, suite, guest, room, state


def test_an_order_of_two_room_types_and_two_stays_is_two_reservations_in_one_group(hms_sessions: Sessions) -> None:
    double, suite, guest, room, state = two_stays(hms_sessions)
    anchor = state.reservation_id
    ids = [ln.id for ln in state.lines]
    other = member_of(ids[1])
    # Lines in the order written: the doubles are units 1 and 2 of the anchor, the suite its own reservation
    assert ids == [f"{anchor}#1", f"{other}#1", f"{anchor}#2"] and other != anchor
    assert [ln.room_id for ln in state.lines] == [room, None, None]
    # One reservation's money and guests, shared evenly over its units (the odd cent on the first)
    assert [(ln.price_without_tax, ln.tax, ln.adults, ln.children) for ln in state.lines] == [
        (Decimal("100.51"), Decimal("10.00"), 2, 1), (Decimal("300.00"), Decimal("10.00"), 3, 0),
        (Decimal("100.50"), Decimal("10.00"), 1, 0)]
    assert all(ln.child_ages == () for ln in state.lines)
    assert (state.status, state.source, state.total_paid) == ("confirmed", "webservice", Decimal("50.00"))
    assert (state.guest.id, state.guest.first_name, state.guest.last_name) == (guest, "Ann", "Lee")

    with transaction(hms_sessions) as session:
        rows = {rid: reservation_row(session, rid) for rid in (anchor, other)}
        assert {rid: (r["hotel_id"] and str(r["hotel_id"]), str(r["room_type_id"]), r["units_requested"],
                      r["check_in"], r["check_out"], r["num_adult"], r["num_child"], r["total_amount"], r["tax"],
                      r["deposit"], r["reserved_room_id"] and str(r["reserved_room_id"]))
                for rid, r in rows.items()} == {
            anchor: (DEFAULT_HOTEL, double, 2, D1, date(2031, 3, 3), 3, 1, Decimal("201.01"), Decimal("20.00"),
                     Decimal("50.00"), room),
            other: (DEFAULT_HOTEL, suite, 1, D5, date(2031, 3, 8), 3, 0, Decimal("300.00"), Decimal("10.00"),
                    Decimal("0.00"), None)}
        for r in rows.values():
            assert str(r["primary_guest_id"]) == guest
            assert (r["status"], r["source"], r["channel"], r["notes"]) == (
                "Confirmed", "QloApps", "webservice", "QloApps order 7 (REFABC)")
            assert r["updated_at"] is not None and r["modified_time"] is not None and r["booking_time"] is not None
            assert r["cancel_time"] is None and r["deleted_at"] is None
            assert primary_guests(session, str(r["id"])) == [(guest, DEFAULT_HOTEL)]
        assert group_members(session, anchor) == [anchor, other]
        assert session.execute(text("SELECT DISTINCT hotel_id, qloapps_status FROM hms_reservation_groups")).all() == [
            (DEFAULT_HOTEL, "confirmed")]
    same_as_read(state, read(hms_sessions, anchor))


def test_an_overwrite_with_other_dates_keeps_the_same_pms_reservations(hms_sessions: Sessions) -> None:
    double, suite, guest, room, state = two_stays(hms_sessions)
    first, suite_line, second = state.lines
    with transaction(hms_sessions) as session:
        session.execute(text("UPDATE reservations SET updated_at = now() - interval '1 day'"))
        moved = hotel(session).write_reservations([write(
            guest, line(double, D9, price="100.00", id=first.id, room_id=room, adults=2, children=1),
            line(suite, D9, nights=3, price="300.00", id=suite_line.id, adults=3),
            line(double, D9, price="101.01", id=second.id, adults=1), id=state.reservation_id)])[0]
        assert [ln.id for ln in moved.lines] == [first.id, suite_line.id, second.id]
        assert {ln.checkin for ln in moved.lines} == {D9}
        rows = [reservation_row(session, member_of(ln.id)) for ln in (first, suite_line)]
        assert [(r["check_in"], r["updated_at"] > r["created_at"]) for r in rows] == [(D9, True), (D9, True)]
        assert session.scalar(text("SELECT count(*) FROM reservations")) == 2
    same_as_read(moved, read(hms_sessions, state.reservation_id))


def test_a_unit_less_a_room_type_changed_and_a_line_gone(hms_sessions: Sessions) -> None:
    double, suite, guest, room, state = two_stays(hms_sessions)
    first, suite_line, _ = state.lines
    anchor, other = state.reservation_id, member_of(suite_line.id)
    with transaction(hms_sessions) as session:
        # The second double goes (2 units -> 1); the suite becomes a double on its own dates
        changed = hotel(session).write_reservations([write(
            guest, line(double, D1, price="100.00", id=first.id, room_id=room),
            line(double, D5, nights=3, price="240.00", id=suite_line.id), id=anchor)])[0]
        assert [ln.id for ln in changed.lines] == [first.id, suite_line.id]
        anchor_row, other_row = reservation_row(session, anchor), reservation_row(session, other)
        assert (anchor_row["units_requested"], anchor_row["total_amount"], anchor_row["num_adult"]) == (
            1, Decimal("100.00"), 2)
        assert (str(other_row["room_type_id"]), other_row["check_in"], other_row["total_amount"]) == (
            double, D5, Decimal("240.00"))
    same_as_read(changed, read(hms_sessions, anchor))
    # A line without id of a new room type and stay is a new reservation; the one it replaces is soft-deleted
    with transaction(hms_sessions) as session:
        again = hotel(session).write_reservations([write(
            guest, line(double, D1, price="100.00", id=first.id, room_id=room), line(suite, D9), id=anchor)])[0]
        new = member_of(again.lines[1].id)
        assert new not in (anchor, other)
        assert reservation_row(session, other)["deleted_at"] is not None
        assert reservation_row(session, other)["status"] == "Confirmed"
        assert group_members(session, anchor) == [anchor, other, new]
    same_as_read(again, read(hms_sessions, anchor))


def test_a_cancelled_order_cancels_every_reservation_of_its_group(hms_sessions: Sessions) -> None:
    double, suite, guest, room, state = two_stays(hms_sessions)
    lines = [line(double, D1, price="100.00", id=state.lines[0].id, room_id=room, adults=2, children=1),
             line(suite, D5, nights=3, price="300.00", id=state.lines[1].id, adults=3),
             line(double, D1, price="101.01", id=state.lines[2].id, adults=1)]
    with transaction(hms_sessions) as session:
        cancelled = hotel(session).write_reservations([write(guest, *lines, id=state.reservation_id,
                                                             status="refunded")])[0]
        assert cancelled.closed and cancelled.status == "refunded" and len(cancelled.lines) == 3
        for rid in {member_of(ln.id) for ln in state.lines}:
            row = reservation_row(session, rid)
            assert (row["status"], row["cancel_time"] is not None) == ("Cancelled", True)
        assert hotel(session).rooms_sold(double, D1, D1) == {}
    same_as_read(cancelled, read(hms_sessions, state.reservation_id))


def test_a_checked_in_reservation_keeps_its_status_and_the_group_stays_live(hms_sessions: Sessions) -> None:
    double, suite, guest, room, state = two_stays(hms_sessions)
    anchor, other = state.reservation_id, member_of(state.lines[1].id)
    set_status(hms_sessions, anchor, "Checked-in")
    lines = [line(double, D1, price="100.00", id=state.lines[0].id, room_id=room, adults=2, children=1),
             line(suite, D5, nights=3, price="300.00", id=state.lines[1].id, adults=3),
             line(double, D1, price="120.00", id=state.lines[2].id, adults=1)]
    with transaction(hms_sessions) as session:
        written = hotel(session).write_reservations([write(guest, *lines, id=anchor, status="cancelled")])[0]
        row = reservation_row(session, anchor)
        assert (row["status"], row["total_amount"], row["cancel_time"]) == ("Checked-in", Decimal("220.00"), None)
        assert reservation_row(session, other)["status"] == "Cancelled"
    # The guest in the house keeps the group live (never closed), with every line of the order
    assert (written.status, written.closed, len(written.lines)) == ("confirmed", False, 3)
    same_as_read(written, read(hms_sessions, anchor))


def test_a_checked_in_reservation_qloapps_no_longer_holds_leaves_the_group(hms_sessions: Sessions) -> None:
    double, suite, guest, room, state = two_stays(hms_sessions)
    anchor, other = state.reservation_id, member_of(state.lines[1].id)
    set_status(hms_sessions, other, "Checked-out")
    with transaction(hms_sessions) as session:
        written = hotel(session).write_reservations([write(
            guest, line(double, D1, id=state.lines[0].id, room_id=room), id=anchor)])[0]
        assert reservation_row(session, other)["deleted_at"] is None
        assert group_members(session, anchor) == [anchor]
        alone = hotel(session).reservation_states([other])[other]
        assert (alone.status, [ln.id for ln in alone.lines]) == ("confirmed", [f"{other}#1"])
    same_as_read(written, read(hms_sessions, anchor))


def test_soft_deleted_reservations_leave_their_group_and_a_group_of_none_reads_cancelled(hms_sessions: Sessions) -> None:
    _, _, _, _, state = two_stays(hms_sessions)
    anchor, other = state.reservation_id, member_of(state.lines[1].id)
    before = read(hms_sessions, anchor).changed_at
    with transaction(hms_sessions) as session:
        # Soft-deleted by plain SQL, updated_at left as it was: the deletion itself is a change of the group
        session.execute(text("UPDATE reservations SET deleted_at = now() WHERE id = CAST(:id AS uuid)"), {"id": other})
    one_left = read(hms_sessions, anchor)
    assert (one_left.status, [ln.id for ln in one_left.lines]) == ("confirmed", [f"{anchor}#1", f"{anchor}#2"])
    assert before is not None and one_left.changed_at is not None and one_left.changed_at > before
    with transaction(hms_sessions) as session:
        session.execute(text("UPDATE reservations SET deleted_at = now() WHERE id = CAST(:id AS uuid)"), {"id": anchor})
    gone = read(hms_sessions, anchor)
    assert gone.closed and gone.status == "cancelled" and len(gone.lines) == 3
    with transaction(hms_sessions) as session:
        assert hotel(session).rooms_sold(state.lines[0].room_type_id, D1, D1) == {}


def test_a_front_desk_cancellation_takes_its_lines_out_of_a_live_group(hms_sessions: Sessions) -> None:
    _, _, _, _, state = two_stays(hms_sessions)
    anchor, other = state.reservation_id, member_of(state.lines[1].id)
    set_status(hms_sessions, other, "Cancelled")
    assert [ln.id for ln in read(hms_sessions, anchor).lines] == [f"{anchor}#1", f"{anchor}#2"]
    set_status(hms_sessions, anchor, "Cancelled")
    everything = read(hms_sessions, anchor)
    assert everything.status == "cancelled" and len(everything.lines) == 3


def test_a_reservation_made_at_the_front_desk_is_a_group_of_its_own(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        double, _, guest = catalog(session)
        desk = str(session.scalar(text(
            "INSERT INTO reservations (hotel_id, primary_guest_id, room_type_id, units_requested, check_in, check_out,"
            " total_amount) VALUES (CAST(:hotel AS uuid), CAST(:guest AS uuid), CAST(:type AS uuid), 2, :d1, :d2, 180)"
            " RETURNING id::text"), {"hotel": DEFAULT_HOTEL, "guest": guest, "type": double, "d1": D1, "d2": D5}))
        # As that PMS makes one: its Primary guest row in the same transaction
        session.execute(text("INSERT INTO reservation_guests (hotel_id, reservation_id, guest_id) VALUES"
                             " (CAST(:hotel AS uuid), CAST(:r AS uuid), CAST(:g AS uuid))"),
                        {"hotel": DEFAULT_HOTEL, "r": desk, "g": guest})
        state = hotel(session).reservation_states([desk])[desk]
        assert (state.status, state.source, state.total_paid) == ("confirmed", "Direct", Decimal("0.00"))
        # No occupancy recorded: one adult a room
        assert [(ln.id, ln.adults, ln.price_without_tax) for ln in state.lines] == [
            (f"{desk}#1", 1, Decimal("90.00")), (f"{desk}#2", 1, Decimal("90.00"))]
        assert HmsPms(session).hotels_of_reservations([desk]) == {desk: DEFAULT_HOTEL}
        # A write from QloApps makes it a group: the same reservation, the same Primary guest row
        written = hotel(session).write_reservations([write(guest, line(double, D1, nights=4, id=f"{desk}#1"),
                                                           id=desk)])[0]
        assert [ln.id for ln in written.lines] == [f"{desk}#1"] and group_members(session, desk) == [desk]
        assert primary_guests(session, desk) == [(guest, DEFAULT_HOTEL)]


def test_a_member_that_is_not_the_anchor_is_no_reservation_of_the_port(hms_sessions: Sessions) -> None:
    _, _, guest, _, state = two_stays(hms_sessions)
    other = member_of(state.lines[1].id)
    with transaction(hms_sessions) as session:
        pms = HmsPms(session)
        assert pms.hotel(DEFAULT_HOTEL).reservation_states([other, "nonsense"]) == {}
        assert pms.hotels_of_reservations([state.reservation_id, other]) == {state.reservation_id: DEFAULT_HOTEL}
    with pytest.raises(PermanentError), transaction(hms_sessions) as session:
        hotel(session).write_reservations([write(guest, line(state.lines[1].room_type_id, D5), id=other)])


def test_an_unchanged_write_moves_nothing(hms_sessions: Sessions) -> None:
    double, suite, guest, room, state = two_stays(hms_sessions)
    before = read(hms_sessions, state.reservation_id)
    lines = [line(double, D1, price="100.00", id=state.lines[0].id, room_id=room, adults=2, children=1),
             line(suite, D5, nights=3, price="300.00", id=state.lines[1].id, adults=3),
             line(double, D1, price="101.01", id=state.lines[2].id, adults=1)]
    with transaction(hms_sessions) as session:
        stamps = session.execute(text("SELECT id, updated_at, modified_time FROM reservations ORDER BY id")).all()
        again = hotel(session).write_reservations([write(guest, *lines, id=state.reservation_id)])[0]
        assert session.execute(text("SELECT id, updated_at, modified_time FROM reservations ORDER BY id")).all() == stamps
    assert again == state
    assert read(hms_sessions, state.reservation_id).changed_at == before.changed_at


def test_another_guest_moves_the_primary_guest_of_every_reservation(hms_sessions: Sessions) -> None:
    double, suite, guest, room, state = two_stays(hms_sessions)
    with transaction(hms_sessions) as session:
        bob = Guest(None, "Bob", "Ray", "bob@example.com", None)
        hotel(session).save_guests([bob])
        assert bob.id is not None
        # Bob was a second guest of the suite already
        session.execute(text(
            "INSERT INTO reservation_guests (hotel_id, reservation_id, guest_id, guest_type) VALUES"
            " (CAST(:hotel AS uuid), CAST(:r AS uuid), CAST(:g AS uuid), 'Secondary')"),
            {"hotel": DEFAULT_HOTEL, "r": member_of(state.lines[1].id), "g": bob.id})
        written = hotel(session).write_reservations([write(
            bob.id, line(double, D1, id=state.lines[0].id), line(suite, D5, id=state.lines[1].id),
            id=state.reservation_id)])[0]
        assert written.guest.id == bob.id
        for rid in (state.reservation_id, member_of(state.lines[1].id)):
            assert str(reservation_row(session, rid)["primary_guest_id"]) == bob.id
            assert primary_guests(session, rid) == [(bob.id, DEFAULT_HOTEL)]
        assert session.scalar(text("SELECT count(*) FROM reservation_guests WHERE guest_id = CAST(:g AS uuid)"),
                              {"g": guest}) == 0


def test_a_page_writes_several_orders_and_refuses_what_the_hotel_does_not_have(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        seaside = add_hotel(session, "Seaside")
        double, suite, guest = catalog(session)
        other_double, _, other_guest = catalog(session, seaside)
        other_room = hotel(session, seaside).create_room(other_double, "101").id
        page = hotel(session).write_reservations([write(guest, line(double, D1)), write(guest, line(suite, D5)),
                                                  write(guest, line(double, D9), status="pending")])
        assert len({s.reservation_id for s in page}) == 3 and page[2].status == "pending"
        first = page[0]
    refused = [
        (seaside, write(guest, line(other_double, D1))),  # a guest of the other hotel
        (DEFAULT_HOTEL, write(other_guest, line(double, D1))),  # likewise
        (DEFAULT_HOTEL, write(guest, line(other_double, D1))),  # a room type of the other hotel
        (DEFAULT_HOTEL, write(guest, line(double, D1, room_id=other_room))),  # a room of the other hotel
        (seaside, write(other_guest, line(other_double, D1), id=first.reservation_id)),  # a group of the other hotel
        (DEFAULT_HOTEL, write(guest, line(double, D1, id=first.lines[0].id))),  # a line of another group
        (DEFAULT_HOTEL, write(guest, line(double, D1, id=page[1].lines[0].id), id=first.reservation_id)),  # likewise
        (DEFAULT_HOTEL, write(guest, line(double, D1, id=f"{first.reservation_id}#2"), id=first.reservation_id)),
        (DEFAULT_HOTEL, write(guest, id=first.reservation_id)),  # no lines
        (DEFAULT_HOTEL, write("Ann", line(double, D1))),  # not an id of that PMS
    ]
    for hotel_id, refused_write in refused:
        with pytest.raises(PermanentError), transaction(hms_sessions) as session:
            hotel(session, hotel_id).write_reservations([refused_write])
    with pytest.raises(ValueError, match="twice"), transaction(hms_sessions) as session:
        same = write(guest, line(double, D1, id=first.lines[0].id), id=first.reservation_id)
        hotel(session).write_reservations([same, same])
    assert read(hms_sessions, first.reservation_id) == replace(first, changed_at=read(hms_sessions,
                                                                                     first.reservation_id).changed_at)


def test_two_hotels_keep_their_reservations_apart(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        seaside = add_hotel(session, "Seaside")
        double, _, guest = catalog(session)
        sea_double, _, sea_guest = catalog(session, seaside)
        here = hotel(session).write_reservations([write(guest, line(double, D1), line(double, D1))])[0]
        there = hotel(session, seaside).write_reservations([write(sea_guest, line(sea_double, D1))])[0]
        assert hotel(session).reservation_states([here.reservation_id, there.reservation_id]).keys() == {
            here.reservation_id}
        assert hotel(session, seaside).reservation_states([here.reservation_id]) == {}
        assert HmsPms(session).hotels_of_reservations([here.reservation_id, there.reservation_id]) == {
            here.reservation_id: DEFAULT_HOTEL, there.reservation_id: seaside}
        assert str(reservation_row(session, there.reservation_id)["hotel_id"]) == seaside
        assert primary_guests(session, there.reservation_id) == [(sea_guest, seaside)]
        assert session.scalar(text("SELECT hotel_id FROM hms_reservation_groups WHERE reservation_id = :id"),
                              {"id": there.reservation_id}) == seaside
        assert hotel(session).rooms_sold(double, D1, D1) == {D1: 2}
        assert hotel(session, seaside).rooms_sold(sea_double, D1, D1) == {D1: 1}


def test_sources_fold_into_that_pms_list_and_read_back_whole(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        double, _, guest = catalog(session)
        written = hotel(session).write_reservations([
            write(guest, line(double, D1), source=source) for source in
            ("Booking.com via channel manager", "EXPEDIA", "webservice", None, "x" * 120)])
        rows = [reservation_row(session, s.reservation_id) for s in written]
        assert [(r["source"], r["channel"]) for r in rows] == [
            ("Booking.com", "Booking.com via channel manager"), ("Expedia", "EXPEDIA"), ("QloApps", "webservice"),
            ("QloApps", None), ("QloApps", "x" * 50)]
        assert [s.source for s in written] == ["Booking.com via channel manager", "EXPEDIA", "webservice", "QloApps",
                                               "x" * 50]


@pytest.mark.parametrize("status", ["pending", "confirmed", "partially_paid", "payment_error", "cancelled", "refunded"])
def test_every_qloapps_status_reads_back_while_the_pms_agrees(hms_sessions: Sessions, status: str) -> None:
    with transaction(hms_sessions) as session:
        double, _, guest = catalog(session)
        state = hotel(session).write_reservations([write(guest, line(double, D1), status=status)])[0]
        expected = "Cancelled" if status in ("cancelled", "refunded") else "Confirmed"
        assert reservation_row(session, state.reservation_id)["status"] == expected
    assert read(hms_sessions, state.reservation_id).status == status
    # The front desk changes its mind: the plain status of the other side
    set_status(hms_sessions, state.reservation_id, "Confirmed" if expected == "Cancelled" else "Cancelled")
    assert read(hms_sessions, state.reservation_id).status == ("confirmed" if expected == "Cancelled" else "cancelled")


def test_a_line_may_name_a_room_of_another_type_of_the_hotel(hms_sessions: Sessions) -> None:
    # As with the built-in PMS: the room requested is the hotel's, whatever type it is (QloApps mapped it so)
    with transaction(hms_sessions) as session:
        at = hotel(session)
        double = at.create_room_type(NewRoomType("DBL", "Double", Decimal("90"), 2, 0)).id
        suite = at.create_room_type(NewRoomType("STE", "Suite", Decimal("190"), 2, 0)).id
        room = at.create_room(suite, "501").id
        guest = Guest(None, "Ann", "Lee", None, None)
        at.save_guests([guest])
        assert guest.id is not None
        state = at.write_reservations([write(guest.id, line(double, D1, room_id=room))])[0]
        assert state.lines[0].room_id == room and state.lines[0].room_type_id == double
