"""Parsing captured QloApps bodies and building request bodies that match the captured requests."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from qlosync.qloapps import bodies, payloads
from qlosync.qloapps.errors import QloAppsInvalidRequest
from qlosync.qloapps.models import (
    BookingRequest,
    CustomerDetail,
    FeaturePriceRequest,
    PaymentDetail,
    RoomRequest,
    RoomTypeRequest,
)
from qlosync.qloapps.payloads import PayloadError

SAMPLES = Path(
    os.environ.get("QLOSYNC_SAMPLES_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "qloapps-samples"
)


def body(prefix: str) -> str:
    matches = [p for p in SAMPLES.glob(f"{prefix}-*") if not p.name.endswith(".meta.json")]
    assert len(matches) == 1, f"capture {prefix} not found in {SAMPLES}"
    return matches[0].read_text()


def doc(prefix: str) -> object:
    return json.loads(body(prefix), parse_float=Decimal)


def request_body(prefix: str) -> object:
    meta = json.loads(next(SAMPLES.glob(f"{prefix}-*.meta.json")).read_text())
    return json.loads(meta["request_body"])


def test_booking_get_parses_whole_stay_prices_and_dates():
    booking = payloads.parse_booking(doc("041"))
    assert booking.id == 2 and booking.currency == "USD" and booking.id_property == 1
    assert booking.customer_detail.email == "alice.walker@example.com"
    assert booking.customer_detail.id_customer == 3
    assert booking.price_details.total_price_without_tax == Decimal(15000)
    delux, executive = booking.room_types
    assert (delux.checkin_date, delux.checkout_date) == (date(2026, 12, 14), date(2026, 12, 16))
    assert [r.id_hotel_booking for r in executive.rooms] == [3, 4]
    assert executive.rooms[0].unit_price_without_tax == Decimal(6000)  # 3 nights x 2000, not per night (B8)
    assert booking.booking_date == datetime(2026, 11, 27, 4, 55, 38)


def test_booking_with_fractional_prices_keeps_exact_decimals():
    booking = payloads.parse_booking(doc("057"))
    assert booking.room_types[0].rooms[0].unit_price_without_tax == Decimal("3846.15")
    assert booking.price_details.total_tax == Decimal("153.85")


def test_booking_remarks_are_strings():
    assert payloads.parse_booking(doc("021")).remarks == ("first test booking",)


def test_orders_full_parse_totals_state_and_room_booking_ids():
    orders = payloads.parse_many(doc("131"), "orders", payloads.parse_order)
    first = orders[0]
    assert first.id == 1 and first.current_state == 1 and first.id_customer == 2
    assert first.total_paid_tax_incl == Decimal("2080") and first.total_paid_tax_excl == Decimal("2000")
    assert first.room_booking_ids == (1,)
    assert first.date_upd == datetime(2026, 11, 27, 4, 55, 26)
    assert first.date_add == datetime(2026, 11, 27, 10, 0, 0)  # booking_date overrides date_add (B11)
    assert first.cursor == (first.date_upd, 1)


def test_single_order_document():
    order = payloads.parse_order(payloads.record(doc("141"), "order"))
    assert order.current_state == 4 and order.room_booking_ids == (7,)


def test_empty_list_is_a_bare_array():
    assert payloads.parse_many(doc("139"), "orders", payloads.parse_order) == []
    assert payloads.parse_many(doc("183"), "customers", payloads.parse_customer) == []


def test_room_bookings_root_key_and_child_ages_from_json_and_xml_posts():
    rows = payloads.records(doc("172"), "bookings")
    # The narrow display of 172 lacks most fields: parse just the ages as the full parser does.
    assert [payloads.parse_child_ages(r["child_ages"]) for r in rows] == [(7,), (4, 9), (), (3,), (6,)]
    full = payloads.parse_many(doc("161"), "bookings", payloads.parse_room_booking)
    line = full[0]
    assert (line.id, line.id_order, line.id_product, line.id_room, line.id_hotel) == (1, 1, 1, 1, 1)
    assert (line.date_from, line.date_to) == (date(2026, 12, 10), date(2026, 12, 12))
    assert line.total_price_tax_incl == Decimal("2080") and line.room_num == "GR-101"
    assert line.is_cancelled is False and line.child_ages == ()


def test_cancelled_room_lines_are_flagged():
    rows = payloads.records(doc("167"), "bookings")
    assert rows and all(bool(payloads.to_int(r["is_cancelled"])) for r in rows)


@pytest.mark.parametrize("raw", ["[7", "{\"a\": 1}x"])
def test_unparsable_child_ages_is_a_payload_error(raw):
    with pytest.raises(PayloadError):
        payloads.parse_child_ages(raw)


def test_customers_and_catalog():
    (alice,) = payloads.parse_many(doc("182"), "customers", payloads.parse_customer)
    assert (alice.id, alice.firstname, alice.lastname, alice.phone) == (3, "Alice", "Walker", "0611223344")
    (hotel,) = payloads.parse_many(doc("200"), "hotels", payloads.parse_hotel)
    assert hotel.name == "The Hotel Prime" and hotel.room_type_ids == (1, 2, 3, 4)
    types = payloads.parse_many(doc("203"), "room_types", payloads.parse_room_type)
    assert [(t.id, t.name, t.price, t.id_hotel) for t in types] == [
        (1, "General Rooms", Decimal(1000), 1),
        (2, "Delux Rooms", Decimal(1500), 1),
    ]
    rooms = payloads.parse_many(doc("207"), "rooms", payloads.parse_hotel_room)
    assert len(rooms) == 20 and rooms[0].room_num == "GR-101" and rooms[-1].id_product == 4
    states = {s.id: s for s in payloads.parse_many(doc("175"), "order_states", payloads.parse_order_state)}
    assert states[4].name == "Canceled" and states[2].paid and not states[1].paid


def test_availability_groups_keyed_by_room_id_or_empty_list():
    ari = payloads.parse_availability(doc("243"))
    (general,) = ari.room_types
    assert general.base_price == Decimal(1250)  # includes +250 of auto-added services (B39)
    assert general.available_room_ids == (2, 3, 4, 5) and general.booked_room_ids == (1,)
    assert general.unavailable_room_ids == ()
    basic = payloads.parse_availability(doc("242"))
    assert basic.total_available_rooms == 18 and basic.date_to == date(2026, 12, 12)


def test_room_rates_xml_one_entry_per_night():
    rates = payloads.parse_room_rates_xml(body("265"))
    assert [(r.date, r.id_room_type, r.tax_exc, r.tax_inc, r.available_rooms) for r in rates] == [
        (date(2026, 12, 10), 2, Decimal(1750), Decimal(1820), 5),
        (date(2026, 12, 11), 2, Decimal(1750), Decimal(1820), 5),
    ]


def test_xml_echoes_of_created_customer_and_feature_price():
    customer = payloads.parse_customer_xml(body("185"))
    assert (customer.id, customer.email) == (27, "zoe.adler@example.com")
    fp = payloads.parse_feature_price_xml(body("294"))
    assert (fp.id, fp.id_product, fp.impact_value, fp.group_ids) == (9, 4, Decimal(300), (1, 2, 3))


def test_xml_parser_refuses_entities():
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><qloapps>&a;</qloapps>'
    with pytest.raises(PayloadError):
        payloads.xml_root(bomb)


def test_fatal_error_page_is_not_a_booking():
    with pytest.raises(PayloadError):
        payloads.parse_booking({"bookings": []})


# -- request bodies ---------------------------------------------------------------------------------

CUSTOMER = CustomerDetail("Dmitri", "Orlov", "dmitri.orlov@example.com", "0611223344")


def test_post_body_matches_the_captured_occupancy_request():
    req = BookingRequest(
        id_property=1,
        currency="USD",
        customer=CUSTOMER,
        source="qlosync-test",
        room_types=(
            RoomTypeRequest(2, date(2027, 1, 5), date(2027, 1, 8), rooms=(RoomRequest(adults=2, children=1, child_ages=(7,)),)),
        ),
    )
    assert json.loads(bodies.booking_body(req)) == request_body("046")


def test_put_body_carries_the_id_in_the_body():
    req = BookingRequest(
        id=3,
        id_property=1,
        currency="USD",
        customer=CustomerDetail("Bruno", "Keller", "bruno.keller@example.com", "0611223344"),
        room_types=(RoomTypeRequest(1, date(2026, 12, 21), date(2026, 12, 24), number_of_rooms=1),),
        booking_status=None,
        payment_status=None,
    )
    assert json.loads(bodies.booking_body(req)) == request_body("100")


def test_paid_booking_body_with_payment_detail_and_decimal_amounts():
    req = BookingRequest(
        id_property=1,
        currency="USD",
        customer=CustomerDetail("Farid", "Haddad", "farid.haddad@example.com", "0611223344"),
        source="qlosync-test",
        booking_status=2,
        payment_status=1,
        room_types=(RoomTypeRequest(2, date(2027, 1, 20), date(2027, 1, 22), number_of_rooms=1),),
        payment_detail=PaymentDetail("remote", "Channel Manager", "TX-1001"),
        total_paid=Decimal("3120.00"),
    )
    assert json.loads(bodies.booking_body(req)) == request_body("051")
    fractional = BookingRequest(**{**req.__dict__, "total_paid": Decimal("3846.15")})
    assert b'"total_paid": 3846.15' in bodies.booking_body(fractional)


def test_cancel_request_keeps_every_room_pinned():
    booking = payloads.parse_booking(doc("041"))
    sent = json.loads(bodies.booking_body(bodies.request_from_booking(booking, 3)))["booking"]
    assert sent["id"] == 2 and sent["booking_status"] == 3 and "payment_status" not in sent
    assert sent["associations"]["customer_detail"]["email"] == "alice.walker@example.com"
    lines = sent["associations"]["room_types"]
    assert [(rt["id_room_type"], rt["number_of_rooms"]) for rt in lines] == [(2, 1), (3, 2)]
    assert lines[1]["rooms"] == [{"id_room": 11, "adult": 2}, {"id_room": 12, "adult": 2}]


@pytest.mark.parametrize(
    ("customer", "room"),
    [
        (CustomerDetail("J0hn", "Smith", "j@example.com", "0611"), RoomRequest(adults=2)),  # digits: empty 500
        (CustomerDetail("John", "Smith", "not-an-email", "0611"), RoomRequest(adults=2)),  # 200 "Fatal error"
        (CustomerDetail("   ", "Smith", "j@example.com", "0611"), RoomRequest(adults=2)),
        (CUSTOMER, RoomRequest(adults=2, children=2, child_ages=())),  # child silently becomes 0 (B14)
        (CUSTOMER, RoomRequest(adults=0)),
    ],
)
def test_bodies_quietly_mangled_by_qloapps_are_refused(customer, room):
    req = BookingRequest(
        id_property=1, currency="USD", customer=customer,
        room_types=(RoomTypeRequest(1, date(2027, 3, 1), date(2027, 3, 3), rooms=(room,)),),
    )
    with pytest.raises(QloAppsInvalidRequest):
        bodies.booking_body(req)


@pytest.mark.parametrize(("first", "last", "email", "says"), [
    ("J" * 33, "Smith", "j@example.com", "firstname is 33 characters, QloApps stores at most 32"),
    ("John", "Smith\U0001F3E8", "j@example.com", "lastname has a character QloApps cannot store"),
    ("John", "Smith", "j" * 117 + "@example.com", "e-mail is 129 characters, QloApps stores at most 128"),
])
def test_people_qloapps_would_store_cut_off_are_refused_without_repeating_the_value(first, last, email, says):
    with pytest.raises(QloAppsInvalidRequest) as refused:
        bodies.check_person(first, last, email, "0611223344")
    assert says in str(refused.value)
    assert all(v not in str(refused.value) for v in (first, last, email) if v not in ("John", "Smith"))


def test_names_at_the_limits_qloapps_stores_are_accepted():
    # 32 characters, accented letters, other scripts within U+FFFF: all fit QloApps' utf8 columns
    for first, last in (("J" * 32, "S" * 32), ("Zoë", "Ñúñez-O'Brien"), ("李", "Иванова")):
        bodies.check_person(first, last, "z@example.com", "0611223344")


def test_empty_room_list_and_reversed_dates_are_refused():
    with pytest.raises(QloAppsInvalidRequest):
        bodies.booking_body(BookingRequest(id=2, id_property=1, currency="USD", customer=CUSTOMER, room_types=()))
    with pytest.raises(QloAppsInvalidRequest):
        bodies.booking_body(
            BookingRequest(
                id_property=1, currency="USD", customer=CUSTOMER,
                room_types=(RoomTypeRequest(1, date(2027, 3, 3), date(2027, 3, 1), number_of_rooms=1),),
            )
        )


def _xml_tree(data: bytes):
    return payloads.xml_root(data)


def test_feature_price_and_customer_and_ari_xml_bodies():
    fp = FeaturePriceRequest(4, date(2027, 8, 1), date(2027, 8, 5), impact_way=2, impact_type=2,
                             impact_value=Decimal(300), name="PMS rate Aug")
    tree = _xml_tree(bodies.feature_price_xml(fp))
    captured = _xml_tree(json.loads(next(SAMPLES.glob("294-*.meta.json")).read_text())["request_body"].encode())
    def shape(root):
        return [(e.tag, (e.text or "").strip(), dict(e.attrib)) for e in root.iter()]

    assert shape(tree)[1:] == shape(captured)[1:]
    customer = _xml_tree(bodies.customer_xml(firstname="Zoe", lastname="Adler", email="zoe.adler@example.com",
                                             phone="0612345678", passwd="SomePass123"))
    assert customer.findtext("customer/email") == "zoe.adler@example.com"
    assert customer.findtext("customer/id_default_group") == "3"
    ari = _xml_tree(bodies.hotel_ari_xml(1, date(2026, 12, 10), date(2026, 12, 12), 1, with_booked=True))
    assert ari.findtext("hotel_ari/id_room_type") == "1" and ari.findtext("hotel_ari/get_booked_rooms") == "1"
    with pytest.raises(QloAppsInvalidRequest):
        bodies.feature_price_xml(FeaturePriceRequest(4, date(2027, 8, 1), date(2027, 8, 5), 2, 2, Decimal(1), "x", group_ids=()))
