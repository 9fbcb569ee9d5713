"""What the hotelmanangement adapter tells an availability and rates push: one price every night, no closed
nights, rooms out of service every night, rooms sold by live reservations' units, and ``qty`` rooms sellable."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.session import transaction
from qlosync.pms.builtin.adapter import BuiltinPms
from qlosync.pms.port import NewRoomType, RoomTypeNotInHotel
from tests.hms.support import add_hotel, catalog, hotel, line, write

Sessions = sessionmaker[Session]
D1 = date(2031, 3, 1)


def nights(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


def test_every_night_sells_at_the_room_types_price_and_none_is_closed(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        double = at.create_room_type(NewRoomType("DBL", "Double", Decimal("95.5"), 2, 0)).id
        assert at.rates(double, D1, D1 + timedelta(days=2)) == {n: Decimal("95.50") for n in nights(D1, 3)}
        assert at.closed_nights(double, D1, D1 + timedelta(days=30)) == set()


def test_rooms_out_of_service_are_out_of_order_every_night(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        double = at.create_room_type(NewRoomType("DBL", "Double", Decimal("90"), 2, 0)).id
        rooms = [at.create_room(double, n).id for n in ("101", "102", "103")]
        assert at.rooms_out_of_order(double, D1, D1 + timedelta(days=1)) == Counter()
        session.execute(text("UPDATE rooms SET status = 'Out of Service' WHERE id = ANY(CAST(:ids AS uuid[]))"),
                        {"ids": rooms[:2]})
        session.execute(text("UPDATE rooms SET status = 'Cleaning' WHERE id = CAST(:id AS uuid)"), {"id": rooms[2]})
        assert at.rooms_out_of_order(double, D1, D1 + timedelta(days=1)) == Counter({D1: 2, D1 + timedelta(days=1): 2})


def test_rooms_sold_are_the_units_of_live_reservations_each_night(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        double, suite, guest = catalog(session)
        at = hotel(session)
        two = line(double, D1, nights=2)
        written = at.write_reservations([
            write(guest, two, two),  # 2 units, nights 1 and 2
            write(guest, line(double, D1 + timedelta(days=1), nights=2)),  # 1 unit, nights 2 and 3
            write(guest, line(double, D1)),  # cancelled below
            write(guest, line(double, D1), status="cancelled"),
            write(guest, line(double, D1)),  # soft-deleted below
            write(guest, line(suite, D1)),  # another room type
        ])
        session.execute(text("UPDATE reservations SET status = 'Cancelled' WHERE id = CAST(:id AS uuid)"),
                        {"id": written[2].reservation_id})
        session.execute(text("UPDATE reservations SET deleted_at = now() WHERE id = CAST(:id AS uuid)"),
                        {"id": written[4].reservation_id})
        assert at.rooms_sold(double, D1 - timedelta(days=1), D1 + timedelta(days=5)) == Counter(
            {D1: 2, D1 + timedelta(days=1): 3, D1 + timedelta(days=2): 1})
        # Only the nights asked for
        assert at.rooms_sold(double, D1 + timedelta(days=1), D1 + timedelta(days=1)) == Counter(
            {D1 + timedelta(days=1): 3})
        # Checked in or out, a reservation still holds its rooms
        session.execute(text("UPDATE reservations SET status = 'Checked-in' WHERE id = CAST(:id AS uuid)"),
                        {"id": written[2].reservation_id})
        assert at.rooms_sold(double, D1, D1)[D1] == 3


def test_the_type_sells_its_qty_and_the_built_in_pms_every_room(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        double = at.create_room_type(NewRoomType("DBL", "Double", Decimal("90"), 2, 0)).id
        assert at.sellable_rooms(double) == 1
        for number in ("101", "102", "103"):
            at.create_room(double, number)
        assert at.sellable_rooms(double) == 3
        session.execute(text("UPDATE room_types SET qty = 2 WHERE id = CAST(:id AS uuid)"), {"id": double})
        assert at.sellable_rooms(double) == 2
        builtin = BuiltinPms(session)
        builtin_hotel = builtin.hotel(builtin.hotels()[0].id)
        assert builtin_hotel.sellable_rooms("1") is None


def test_a_room_type_of_another_hotel_is_refused_not_answered_empty(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        seaside = add_hotel(session, "Seaside")
        double = hotel(session).create_room_type(NewRoomType("DBL", "Double", Decimal("90"), 2, 0)).id
        there = hotel(session, seaside)
        for ask in (lambda t: there.rates(t, D1, D1), lambda t: there.closed_nights(t, D1, D1),
                    lambda t: there.rooms_out_of_order(t, D1, D1), lambda t: there.rooms_sold(t, D1, D1),
                    lambda t: there.sellable_rooms(t)):
            for room_type in (double, "not-a-uuid"):
                with pytest.raises(RoomTypeNotInHotel):
                    ask(room_type)
