"""Pure parts of the outbound side: the booking request, the checks, the hash, the token, conflict rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from qlosync.pms.port import GuestState, LineState, PmsState, RoomType
from qlosync.qloapps import bodies
from qlosync.qloapps.models import CustomerDetail, RoomBooking
from qlosync.sync.conflicts import winner
from qlosync.sync.outbound.mapper import PushRejected, booking_request, validate
from qlosync.sync.pms_state import pms_state_hash
from qlosync.sync.outbound.push import match_lines
from qlosync.sync.push_token import new_token, token_in, with_token, without_token

TODAY = date(2027, 3, 1)
GUEST = GuestState("7", "Ann", "Lee", "ann@example.com", "+1 555 0101")
CUSTOMER = CustomerDetail("Ann", "Lee", "ann@example.com", "+1 555 0101")
ROOM_TYPES = {"10": 1, "rt-20": 2}  # PMS room type (the PMS's text ids) -> QloApps room type
ROOMS = {"100": 1, "101": 2}
LIMITS = {"10": RoomType(id="10", code="STD", name="Std", max_adults=2, max_children=2),
          "rt-20": RoomType(id="rt-20", code="DLX", name="Dlx", max_adults=3, max_children=0)}


def line(line_id: str, room_type: str = "10", days: int = 5, nights: int = 2, adults: int = 2,
         ages: tuple[int, ...] = (), room: str | None = None, price: str = "0") -> LineState:
    checkin = TODAY + timedelta(days=days)
    return LineState(line_id, room_type, room, checkin, checkin + timedelta(days=nights), adults, len(ages), ages,
                     Decimal(price))


def state(*lines: LineState, status: str = "confirmed", guest: GuestState = GUEST) -> PmsState:
    return PmsState("1", status, "Front desk", Decimal("0"), guest, lines, datetime(2027, 2, 1, tzinfo=UTC))


def test_a_request_groups_lines_by_room_type_and_stay_and_sends_adult_singular():
    request = booking_request(
        state(line("1", ages=(4,)), line("2", room="101", price="300.50"), line("3", room_type="rt-20", days=9)),
        id_hotel=1, customer=CUSTOMER, room_types=ROOM_TYPES, rooms=ROOMS, token="abc123")
    assert [(rt.id_room_type, rt.checkin_date, len(rt.rooms)) for rt in request.room_types] == [
        (1, TODAY + timedelta(days=5), 2), (2, TODAY + timedelta(days=9), 1)]
    body = bodies.booking_body(request).decode()
    assert '"adult": 2' in body and '"adults"' not in body  # B13
    assert '"child_ages": [4]' in body and '"id_room": 2' in body and '"unit_price_without_tax": 300.5' in body
    assert request.source == "Front desk [qlosync:abc123]" and request.id is None
    assert (request.booking_status, request.payment_status) == (1, 1)  # confirmed -> paid, state 2 (B20)


def test_an_update_carries_the_id_and_no_token_and_a_cancel_uses_status_3():
    request = booking_request(state(line("1")), id_hotel=1, customer=CUSTOMER, room_types=ROOM_TYPES, rooms={},
                              order_id=42)
    assert request.id == 42 and request.source is None and request.payment_status is None
    cancel = booking_request(state(line("1"), status="cancelled"), id_hotel=1, customer=CUSTOMER,
                             room_types=ROOM_TYPES, rooms={}, order_id=42)
    assert cancel.booking_status == 3


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (state(line("1", room_type="99")), "not mapped"),
        (state(line("1", days=-1)), "starts in the past"),
        (state(line("1", nights=0)), "check-out is not after check-in"),
        (state(line("1", adults=3)), "exceed room type STD"),
        (state(line("1", adults=0)), "at least one adult"),
        (state(line("1"), guest=replace(GUEST, first_name="Ann2")), "firstname contains digits"),
        (state(line("1"), guest=replace(GUEST, email="ann@")), "e-mail is not a valid address"),
        (state(line("1"), guest=replace(GUEST, phone="call me")), "phone is empty or not a phone number"),
        (state(), "has no lines"),
    ],
)
def test_bad_input_is_refused_with_its_reason(bad, message):
    with pytest.raises(PushRejected, match=message):
        validate(bad, ROOM_TYPES, LIMITS, today=TODAY)


def test_a_stay_already_in_qloapps_may_have_begun_and_a_guest_may_lack_an_email_or_phone():
    in_house = state(line("1", days=-1), guest=replace(GUEST, email=None, phone=None))
    validate(in_house, ROOM_TYPES, LIMITS, today=TODAY, pushed_line_ids={"1"})


def test_the_hash_ignores_line_ids_and_timestamps_but_not_what_is_sent():
    base = state(line("1"), line("2", room_type="rt-20"))
    renumbered = replace(state(line("8", room_type="rt-20"), line("9")), changed_at=None)
    assert pms_state_hash(base) == pms_state_hash(renumbered)
    assert pms_state_hash(base) != pms_state_hash(state(line("1", adults=1), line("2", room_type="rt-20")))
    assert pms_state_hash(base) != pms_state_hash(replace(base, guest=replace(GUEST, last_name="Leigh")))
    assert pms_state_hash(base) != pms_state_hash(replace(base, status="cancelled"))


def test_the_push_token_survives_a_round_trip_through_source():
    token = new_token()
    source = with_token("Front desk", token)
    assert token_in(source) == token and without_token(source) == "Front desk"
    assert token_in("Booking.com") is None and without_token("Booking.com") == "Booking.com"


def test_conflict_rules():
    pms, qlo = datetime(2027, 1, 1, 12, tzinfo=UTC), datetime(2027, 1, 1, 13)
    assert winner("pms_wins", pms, qlo) == "pms"
    assert winner("qloapps_wins", pms, qlo) == "qloapps"
    assert winner("newest_wins", pms, qlo) == "qloapps"  # QloApps' naive date_upd is read as UTC
    assert winner("newest_wins", pms + timedelta(hours=2), qlo) == "pms"
    assert winner("manual", pms, qlo) is None


def _rb(rb_id: int, room_type: int, room: int, days: int, nights: int = 2) -> RoomBooking:
    checkin = TODAY + timedelta(days=days)
    return RoomBooking(rb_id, 5, room_type, room, 1, 1, checkin, checkin + timedelta(days=nights), 2, 0, (),
                       Decimal("0"), Decimal("0"), False, False, "", "", 1, None)


def test_room_lines_pair_by_room_type_and_stay_pinned_rooms_first():
    lines = [line("1"), line("2", room="101"), line("3", room_type="rt-20", days=9)]
    pairs = match_lines(lines, [_rb(50, 1, 1, 5), _rb(51, 1, 2, 5), _rb(52, 2, 7, 9)], ROOM_TYPES, ROOMS)
    assert sorted((pms.id, rb.id) for pms, rb in pairs) == [("1", 50), ("2", 51), ("3", 52)]
