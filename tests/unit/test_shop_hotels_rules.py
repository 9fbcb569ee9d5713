"""Which PMS hotel a shop gets (qlosync.ops.shops.hotels), on plain lists of hotels: the id given is checked
as the PMS writes it, none set means the only hotel, and the errors name at most 20 hotels."""

from __future__ import annotations

import pytest

from qlosync.ops.shops.hotels import (
    CLEAR,
    UnknownPmsHotelError,
    check_pms_hotel,
    effective_hotel,
    hotel_problem,
)
from qlosync.pms import UnknownHotel, known_hotels
from qlosync.pms.port import Hotel

ONE = [Hotel("1", "Default hotel")]
TWO = [*ONE, Hotel("b7e1", "B")]  # ids are opaque text: a PMS may key hotels by anything


def test_a_given_id_must_be_one_of_the_pms_and_empty_clears_it():
    assert check_pms_hotel(TWO, "b7e1") == "b7e1"
    assert check_pms_hotel(TWO, CLEAR) is None
    for wrong in ("B7E1", " b7e1", "2", "01"):
        with pytest.raises(UnknownPmsHotelError, match=r"\(its hotels: 1 \(Default hotel\), b7e1 \(B\)\)"):
            check_pms_hotel(TWO, wrong)
    assert issubclass(UnknownPmsHotelError, UnknownHotel)


def test_a_value_as_long_as_an_api_key_is_masked_in_the_error():
    key = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    with pytest.raises(UnknownPmsHotelError) as caught:
        check_pms_hotel(ONE, key)
    assert key not in str(caught.value) and "'" + "*" * 28 + "2345'" in str(caught.value)



def test_a_pms_id_longer_than_a_key_is_shown_whole():
    # The hotelmanangement PMS keys hotels by uuids (36 characters): no API key has that shape
    gone = "6d6da99f-d608-4271-a5c0-226ed9604877"
    with pytest.raises(UnknownPmsHotelError, match=f"no hotel '{gone}'"):
        check_pms_hotel(ONE, gone)
    assert hotel_problem(ONE, gone, "s").startswith(f"PMS hotel '{gone}' is not in the PMS")  # type: ignore[union-attr]


def test_the_effective_hotel_and_the_problem_of_a_shop():
    assert (effective_hotel(ONE, None), hotel_problem(ONE, None, "s")) == ("1", None)
    assert (effective_hotel(TWO, "1"), hotel_problem(TWO, "1", "s")) == ("1", None)
    assert effective_hotel(TWO, None) is None
    assert hotel_problem(TWO, None, "s") == ("no PMS hotel set, and the PMS has 2 (hotels: 1 (Default hotel), "
                                             "b7e1 (B)): set one with `qlosync shops set s --pms-hotel ID`")
    assert effective_hotel(ONE, "b7e1") is None
    assert hotel_problem(ONE, "b7e1", "s") == ("PMS hotel 'b7e1' is not in the PMS (hotels: 1 (Default hotel)): set "
                                               "another with `qlosync shops set s --pms-hotel ID`")
    assert (effective_hotel([], None), hotel_problem([], None, "s")) == (None, "the PMS has no hotel")


def test_errors_name_at_most_twenty_hotels():
    many = [Hotel(str(i), f"H{i}") for i in range(1, 1001)]
    named = known_hotels(many)
    assert named.startswith("1 (H1), 2 (H2), ") and named.endswith("20 (H20) and 980 more")
    assert known_hotels([]) == "none"
