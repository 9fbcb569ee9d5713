"""What inbound sync asks of a PMS, through the port: a hotel's catalog, its guests, and the one reservation writer.

Set up with the adapter's front desk (tests/pms_desk.py) and read back through the port, so the suite runs
against every adapter.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.session import transaction
from qlosync.errors import PermanentError
from qlosync.pms import UnknownHotel, open_pms
from qlosync.pms.port import Guest, HotelPms, LineWrite, NewRoomType, PmsState, ReservationChange, ReservationWrite
from tests.pms_desk import desk_for


Sessions = sessionmaker[Session]
Hotels = tuple[str, str]


def _hotel(session: Session, hotel_id: str) -> HotelPms:
    return open_pms(session).hotel(hotel_id)


def _line(room_type_id: str, day: int, price: str = "100.00", *, id: str | None = None,
          room_id: str | None = None) -> LineWrite:
    return LineWrite(id=id, room_type_id=room_type_id, room_id=room_id, checkin=date(2031, 3, day),
                     checkout=date(2031, 3, day + 2), adults=2, children=1, child_ages=(7,),
                     price_without_tax=Decimal(price), tax=Decimal("10.00"))


def _write(guest_id: str, *lines: LineWrite, id: str | None = None, status: str = "confirmed") -> ReservationWrite:
    return ReservationWrite(
        id=id, guest_id=guest_id, status=status, source="Website", currency="EUR",
        total_without_tax=sum((line.price_without_tax for line in lines), Decimal("0")),
        total_tax=Decimal("10.00") * len(lines), total_paid=Decimal("12.5"),
        booked_at=datetime(2031, 1, 2, 3, 4, tzinfo=UTC),
        remarks="QloApps order 7 (REF)", lines=tuple(lines))


def _without_time(state: PmsState) -> PmsState:
    return replace(state, changed_at=None)


@pytest.fixture
def two_hotels(engine: Engine) -> tuple[str, str]:
    desk = desk_for(engine)
    return desk.hotel_id, desk.add_hotel("Seaside")


def test_a_hotel_is_opened_by_its_id_as_the_pms_writes_it(session_factory: Sessions, two_hotels: Hotels) -> None:
    first, second = two_hotels
    with transaction(session_factory) as session:
        pms = open_pms(session)
        assert [pms.hotel(h).hotel_id for h in two_hotels] == [first, second]
        # Ids are opaque: another spelling, an id the PMS lacks, or no id at all names no hotel
        for unknown in (f"0{first}", f" {first}", "424242", "not-an-id", ""):
            with pytest.raises(UnknownHotel, match="the PMS has no hotel"):
                pms.hotel(unknown)


def test_room_types_and_rooms_belong_to_their_hotel(session_factory: Sessions, two_hotels: Hotels) -> None:
    first, second = two_hotels
    with transaction(session_factory) as session:
        a, b = _hotel(session, first), _hotel(session, second)
        double = a.create_room_type(NewRoomType("DBL", "Double", Decimal("90"), 2, 1))
        # The same code, name and room number in another hotel are another room type and room
        other = b.create_room_type(NewRoomType("DBL", "Double", Decimal("80"), 3, 0))
        room = a.create_room(double.id, "101")
        b.create_room(other.id, "101")
        assert (double.code, double.name, double.max_adults, double.max_children) == ("DBL", "Double", 2, 1)
        assert a.room_types() == [double] and b.room_types() == [other] and double.id != other.id
        assert a.rooms() == [room] and room.room_type_id == double.id and room.number == "101"
        assert [r.number for r in b.rooms()] == ["101"] and b.rooms()[0].id != room.id
        with pytest.raises(PermanentError):
            b.create_room(double.id, "102")  # a room type of the other hotel


def test_guests_are_found_by_id_email_or_phone_key_within_their_hotel(session_factory: Sessions, two_hotels: Hotels) -> None:
    first, second = two_hotels
    with transaction(session_factory) as session:
        a, b = _hotel(session, first), _hotel(session, second)
        ann = Guest(None, "Ann", "Lee", " Ann.Lee@Example.com ", "+1 (555) 010-2030")
        bob = Guest(None, "Bob", "Ray", None, "0611223344")
        a.save_guests([ann, bob])
        twin = Guest(None, "Ann", "Lee", "ann.lee@example.com", None)
        b.save_guests([twin])
        assert ann.id and bob.id and twin.id and len({ann.id, bob.id, twin.id}) == 3
        assert a.guests_matching([], ["ann.lee@example.com"], []) == [ann]
        assert a.guests_matching([], [], ["0611223344"]) == [bob]
        assert a.guests_matching([bob.id, twin.id], ["ann.lee@example.com"], ["+15550102030"]) == [ann, bob]  # oldest first
        assert b.guests_matching([ann.id], ["ann.lee@example.com"], []) == [twin]
        assert a.guests_matching([], [], []) == [] and a.guests_matching(["no-such-id"], [], []) == []

        # Updating writes the details of a guest the hotel has, and refuses one it has not
        ann.last_name, ann.email = "Lee-Park", None
        a.save_guests([ann])
        assert a.guests_matching([ann.id], [], []) == [ann]
        assert a.guests_matching([], ["ann.lee@example.com"], []) == []
        with pytest.raises(PermanentError):
            b.save_guests([ann])


def _catalog(session: Session, hotel_id: str) -> tuple[str, str, str]:
    hotel = _hotel(session, hotel_id)
    double = hotel.create_room_type(NewRoomType("DBL", "Double", Decimal("90"), 2, 1)).id
    suite = hotel.create_room_type(NewRoomType("STE", "Suite", Decimal("190"), 2, 1)).id
    guest = Guest(None, "Ann", "Lee", "ann@example.com", None)
    hotel.save_guests([guest])
    assert guest.id is not None
    return double, suite, guest.id


def test_the_writer_creates_and_overwrites_a_page_and_returns_what_it_wrote(session_factory: Sessions,
                                                                             two_hotels: Hotels) -> None:
    first, _ = two_hotels
    with transaction(session_factory) as session:
        double, suite, guest = _catalog(session, first)
        room = _hotel(session, first).create_room(double, "101").id
    # Two new reservations in one page
    with transaction(session_factory) as session:
        hotel = _hotel(session, first)
        written = hotel.write_reservations([
            _write(guest, _line(double, 1, room_id=room), _line(suite, 1)),
            _write(guest, _line(suite, 10, "250.00"), status="pending"),
        ])
        assert [len(s.lines) for s in written] == [2, 1] and written[0].reservation_id != written[1].reservation_id
        assert [line.room_type_id for line in written[0].lines] == [double, suite]
        assert written[0].lines[0].room_id == room and written[0].lines[1].room_id is None
        assert (written[0].status, written[0].source, written[0].total_paid) == ("confirmed", "Website", Decimal("12.50"))
        assert (written[0].guest.first_name, written[0].guest.email) == ("Ann", "ann@example.com")
        assert all(s.changed_at is None for s in written)
    with transaction(session_factory) as session:
        states = _hotel(session, first).reservation_states([s.reservation_id for s in written])
        assert {k: _without_time(v) for k, v in states.items()} == {s.reservation_id: s for s in written}
        assert all(s.changed_at is not None for s in states.values())

    # Overwrite the first: its first line changes, its second goes, a new one comes (listed first)
    kept = written[0].lines[0]
    with transaction(session_factory) as session:
        again = _hotel(session, first).write_reservations([
            _write(guest, _line(suite, 20, "300.00"), _line(double, 2, "120.00", id=kept.id),
                   id=written[0].reservation_id, status="cancelled"),
        ])[0]
        assert again.reservation_id == written[0].reservation_id and again.status == "cancelled"
        # In the order written: which new line got which id
        assert [line.id for line in again.lines][1] == kept.id and again.lines[0].id not in (kept.id, written[0].lines[1].id)
        assert (again.lines[1].checkin, again.lines[1].price_without_tax, again.lines[1].room_id) == (
            date(2031, 3, 2), Decimal("120.00"), None)
    with transaction(session_factory) as session:
        now = _hotel(session, first).reservation_states([again.reservation_id])[again.reservation_id]
        assert {line.id: line for line in now.lines} == {line.id: line for line in again.lines}
        assert _without_time(replace(now, lines=again.lines)) == again


def test_the_writer_leaves_an_unchanged_reservation_alone(session_factory: Sessions, two_hotels: Hotels) -> None:
    first, _ = two_hotels
    with transaction(session_factory) as session:
        double, _, guest = _catalog(session, first)
        state = _hotel(session, first).write_reservations([_write(guest, _line(double, 1))])[0]
    with transaction(session_factory) as session:
        before = _hotel(session, first).reservation_states([state.reservation_id])[state.reservation_id]
    same = _write(guest, _line(double, 1, id=state.lines[0].id), id=state.reservation_id)
    with transaction(session_factory) as session:
        assert _hotel(session, first).write_reservations([same]) == [_without_time(before)]
    with transaction(session_factory) as session:
        after = _hotel(session, first).reservation_states([state.reservation_id])[state.reservation_id]
    assert after.changed_at == before.changed_at  # nothing was updated, so nothing moved


def test_the_writer_refuses_what_the_hotel_does_not_have(session_factory: Sessions, two_hotels: Hotels) -> None:
    first, second = two_hotels
    with transaction(session_factory) as session:
        double, _, guest = _catalog(session, first)
        state = _hotel(session, first).write_reservations([_write(guest, _line(double, 1))])[0]
        _, _, other_guest = _catalog(session, second)
    refused = [
        (second, _write(guest, _line(double, 1))),  # a guest of the other hotel
        (first, _write(other_guest, _line(double, 1))),  # likewise
        (second, _write(other_guest, _line(double, 1), id=state.reservation_id)),  # a reservation of the other hotel
        (first, _write(guest, _line(double, 1, id=state.lines[0].id))),  # a line of another reservation
        (first, _write(guest, _line(double, 1, id=state.lines[0].id), _line(double, 3, id=state.lines[0].id),
                       id=state.reservation_id)),  # one line listed twice
    ]
    for hotel_id, write in refused:
        with pytest.raises(PermanentError), transaction(session_factory) as session:
            _hotel(session, hotel_id).write_reservations([write])
    with transaction(session_factory) as session:
        assert _without_time(_hotel(session, first).reservation_states([state.reservation_id])[state.reservation_id]) \
            == state
        assert _hotel(session, second).reservation_states([state.reservation_id]) == {}


def _reservations_to_push(session: Session) -> set[str]:
    """The reservations the change capture holds a change of (a claim, in the caller's transaction). A PMS may
    also hold availability changes of the nights a write takes (the hotelmanangement PMS's capture does, even
    for sync's writes): they queue no push of a reservation, so they are no echo."""
    return {c.reservation_id for c in open_pms(session).changes.claim(100_000) if isinstance(c, ReservationChange)}


def test_writes_marked_as_the_syncs_are_not_captured_as_changes(session_factory: Sessions, two_hotels: Hotels) -> None:
    first, _ = two_hotels
    with transaction(session_factory) as session:
        double, suite, guest = _catalog(session, first)
        before = _reservations_to_push(session)
    # Marked: a create and an overwrite of every kind leave nothing to push back (no echo)
    with transaction(session_factory) as session:
        pms = open_pms(session)
        pms.mark_sync_writes()
        state = pms.hotel(first).write_reservations([_write(guest, _line(double, 1), _line(suite, 1))])[0]
    with transaction(session_factory) as session:
        pms = open_pms(session)
        pms.mark_sync_writes()
        pms.hotel(first).write_reservations([_write(guest, _line(double, 4, id=state.lines[0].id), _line(suite, 8),
                                                    id=state.reservation_id, status="cancelled")])
        assert _reservations_to_push(session) == before
    # Unmarked, the same writer's change is captured like any PMS writer's
    with transaction(session_factory) as session:
        [unmarked] = _hotel(session, first).write_reservations([_write(guest, _line(double, 1))])
    with transaction(session_factory) as session:
        assert _reservations_to_push(session) - before == {unmarked.reservation_id}
