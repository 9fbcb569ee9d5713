"""What a PMS hotel sells, read through the port: rates, closed nights, rooms out of order and rooms sold, each
of one hotel's room type; another hotel's bookings change none of it (issue 20 acceptance)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from qlosync.db.session import transaction
from qlosync.pms import open_pms
from qlosync.pms.port import RoomTypeNotInHotel
from tests.pms_desk import desk_for

FIRST = date(2031, 7, 1)
LAST = FIRST + timedelta(days=4)


def _night(n: int) -> date:
    return FIRST + timedelta(days=n)


def test_each_hotel_answers_for_its_own_room_types_only(engine, session_factory):
    # Given two hotels with the same room type code and room numbers
    desk_a = desk_for(engine)
    desk_b = desk_a.at(desk_a.add_hotel("Hotel B"))
    std_a, std_b = desk_a.room_type("STD", "Standard"), desk_b.room_type("STD", "Standard")
    rooms_a = [desk_a.room(std_a, number) for number in ("101", "102", "103")]
    desk_b.room(std_b, "101")
    # And in hotel A: rates, a closed night, two outages of one room and one of another, guests, a cancellation
    desk_a.set_rate(std_a, _night(0), "90")
    desk_a.set_rate(std_a, _night(1), "95.5")
    desk_a.set_rate(std_a, _night(9), "99")  # outside the nights asked
    desk_a.close_night(std_a, _night(2))
    desk_a.room_out_of_order(rooms_a[0], _night(1), _night(3))
    desk_a.room_out_of_order(rooms_a[0], _night(2), _night(4))  # overlaps: the room counts once
    desk_a.room_out_of_order(rooms_a[1], _night(2), _night(3))
    desk_a.reservation(room_type_id=std_a, checkin=_night(-1), checkout=_night(2))
    desk_a.reservation(room_type_id=std_a, checkin=_night(1), checkout=_night(2))
    desk_a.set_status(desk_a.reservation(room_type_id=std_a, checkin=_night(0), checkout=_night(3)), "cancelled")
    # And in hotel B, a booking on the same nights
    desk_b.reservation(room_type_id=std_b, checkin=FIRST, checkout=LAST)

    with transaction(session_factory) as session:
        pms = open_pms(session)
        a, b = pms.hotel(desk_a.hotel_id), pms.hotel(desk_b.hotel_id)
        # Then hotel A reads what it has, nights first..last inclusive
        assert a.rates(std_a, FIRST, LAST) == {_night(0): Decimal("90.00"), _night(1): Decimal("95.50")}
        assert a.closed_nights(std_a, FIRST, LAST) == {_night(2)}
        assert a.rooms_out_of_order(std_a, FIRST, LAST) == Counter({_night(1): 1, _night(2): 2, _night(3): 1})
        assert a.rooms_sold(std_a, FIRST, LAST) == Counter({_night(0): 1, _night(1): 2})
        # And hotel B's booking is hotel B's alone
        assert b.rooms_sold(std_b, FIRST, LAST) == Counter({_night(n): 1 for n in range(4)})
        assert (b.rates(std_b, FIRST, LAST), b.closed_nights(std_b, FIRST, LAST)) == ({}, set())
        assert b.rooms_out_of_order(std_b, FIRST, LAST) == Counter()
        assert pms.hotels_of_room_types([std_a, std_b]) == {std_a: desk_a.hotel_id, std_b: desk_b.hotel_id}
        # And a hotel refuses another hotel's room type (an empty answer would clear what the other shop sells)
        for read in (b.rates, b.closed_nights, b.rooms_out_of_order, b.rooms_sold):
            with pytest.raises(RoomTypeNotInHotel, match=f"no room type '{std_a}' in hotel '{desk_b.hotel_id}'"):
                read(std_a, FIRST, LAST)
        with pytest.raises(RoomTypeNotInHotel):
            a.rates("not-an-id", FIRST, LAST)
