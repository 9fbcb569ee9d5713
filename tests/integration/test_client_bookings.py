"""Booking writes, customers, catalog, availability and rates through the client, against the simulator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from qlosync.db.config_store import ShopConfig
from qlosync.errors import ConfigurationError
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.errors import QloAppsInvalidRequest
from qlosync.qloapps.models import (
    STATE_AWAITING_PAYMENT,
    STATE_CANCELLED,
    STATE_REFUNDED,
    BookingRequest,
    CustomerDetail,
    FeaturePriceRequest,
    RoomRequest,
    RoomTypeRequest,
)
from qlosync.secrets import Secret
from qlosync.settings import Settings
from qlosync.sync.service import open_client
from tests.conftest import TEST_API_KEY

GUEST = CustomerDetail("Dmitri", "Orlov", "dmitri.orlov@example.com", "0611223344")


@pytest.fixture
def client(simulator):
    with QloAppsClient(simulator.base_url + "/api/", Secret(TEST_API_KEY)) as c:
        yield c


def new_booking(**changes) -> BookingRequest:
    fields = dict(
        id_property=1,
        currency="USD",
        source="qlosync-test",
        customer=GUEST,
        room_types=(
            RoomTypeRequest(2, date(2027, 1, 5), date(2027, 1, 8), rooms=(RoomRequest(adults=2, children=1, child_ages=(7,)),)),
        ),
    )
    fields.update(changes)
    return BookingRequest(**fields)


def test_ping_lists_the_resources(client):
    resources = client.ping()
    assert {"bookings", "orders", "room_bookings", "customers", "hotel_ari"} <= set(resources)
    assert client.request_count == 1


def test_create_then_read_back_booking_order_and_room_line(client):
    created = client.create_booking(new_booking())
    assert created.customer_detail.email == GUEST.email
    (line,) = created.room_types
    assert (line.id_room_type, line.checkin_date, line.checkout_date) == (2, date(2027, 1, 5), date(2027, 1, 8))
    assert line.rooms[0].adults == 2 and line.rooms[0].child == 1  # "adult" singular was honoured (B13)
    assert line.rooms[0].unit_price_without_tax == Decimal(4500)  # whole stay: 3 nights x 1500 (B8)
    assert client.get_booking(created.id) == created
    order = client.get_order(created.id)
    assert order.current_state == STATE_AWAITING_PAYMENT and order.room_booking_ids
    (room_line,) = client.get_room_bookings_for_orders([created.id])
    assert room_line.child_ages == (7,) and room_line.id_product == 2
    assert room_line.id == line.rooms[0].id_hotel_booking


def test_update_changes_dates_with_full_put(client):
    created = client.create_booking(new_booking())
    moved = new_booking(
        id=created.id,
        booking_status=None,
        payment_status=None,
        room_types=(RoomTypeRequest(2, date(2027, 1, 6), date(2027, 1, 9), number_of_rooms=1),),
    )
    updated = client.update_booking(moved)
    assert updated.id == created.id
    assert updated.room_types[0].checkin_date == date(2027, 1, 6)
    assert client.get_booking(created.id).room_types[0].checkout_date == date(2027, 1, 9)


def test_cancel_and_refund_keep_the_rooms_and_set_the_order_state(client):
    created = client.create_booking(new_booking())
    rooms_before = [r.id_room for rt in created.room_types for r in rt.rooms]
    cancelled = client.cancel_booking(created)
    assert [r.id_room for rt in cancelled.room_types for r in rt.rooms] == rooms_before
    assert client.get_order(created.id).current_state == STATE_CANCELLED
    assert all(rb.is_cancelled for rb in client.get_room_bookings_for_orders([created.id]))
    other = client.create_booking(new_booking(room_types=(RoomTypeRequest(1, date(2027, 2, 1), date(2027, 2, 3), number_of_rooms=1),)))
    client.refund_booking(other.id)
    assert client.get_order(other.id).current_state == STATE_REFUNDED


def test_ids_are_checked_before_sending(client):
    with pytest.raises(QloAppsInvalidRequest):
        client.create_booking(new_booking(id=5))
    with pytest.raises(QloAppsInvalidRequest):
        client.update_booking(new_booking())
    assert client.request_count == 0


def test_batched_lookups_take_one_request_each(client):
    a = client.create_booking(new_booking())
    b = client.create_booking(new_booking(customer=CustomerDetail("Eva", "Novak", "eva.novak@example.com", "0611223344"),
                                          room_types=(RoomTypeRequest(3, date(2027, 1, 5), date(2027, 1, 7), number_of_rooms=1),)))
    start = client.request_count
    orders = client.get_orders([b.id, a.id, 99999])
    lines = client.get_room_bookings_for_orders([a.id, b.id])
    customers = client.get_customers({o.id_customer for o in orders})
    assert client.request_count - start == 3
    assert [o.id for o in orders] == sorted([a.id, b.id])
    assert {rb.id_order for rb in lines} == {a.id, b.id}
    assert {c.email for c in customers} == {GUEST.email, "eva.novak@example.com"}


def test_customers_create_and_find_by_email(client):
    created = client.create_customer(firstname="Zoe", lastname="Adler", email="zoe.adler@example.com",
                                     phone="0612345678", passwd="SomePass123")
    assert created.id > 0 and created.email == "zoe.adler@example.com"
    found = client.find_customers_by_email("zoe.adler@example.com")
    assert [c.id for c in found] == [created.id]
    assert client.find_customers_by_email("nobody@example.com") == []


def test_catalog_of_the_demo_hotel(client):
    (hotel,) = client.get_hotels()
    assert hotel.name == "The Hotel Prime" and hotel.room_type_ids == (1, 2, 3, 4)
    types = client.get_room_types()
    assert [(t.id, t.price) for t in types] == [(1, Decimal(1000)), (2, Decimal(1500)), (3, Decimal(2000)), (4, Decimal(2500))]
    rooms = client.get_hotel_rooms()
    assert len(rooms) == 20 and {r.id_product for r in rooms} == {1, 2, 3, 4}
    states = {s.id: s.name for s in client.get_order_states()}
    assert states[4] == "Canceled" and states[5] == "Refunded"


def test_availability_sees_a_new_booking(client):
    before = client.get_availability(1, date(2027, 1, 5), date(2027, 1, 8), 2)
    (delux,) = before.room_types
    assert delux.base_price == Decimal(1750)  # catalog 1500 + 250 of auto-added services (B39)
    booked = client.create_booking(new_booking())
    after = client.get_availability(1, date(2027, 1, 5), date(2027, 1, 8), 2, with_booked=True)
    taken = booked.room_types[0].rooms[0].id_room
    assert taken in before.room_types[0].available_room_ids
    assert taken not in after.room_types[0].available_room_ids and taken in after.room_types[0].booked_room_ids


def test_room_rates_and_a_feature_price_that_changes_them(client):
    rates = client.get_room_rates(1, date(2027, 8, 1), date(2027, 8, 3), 4)
    assert [(r.date, r.tax_exc) for r in rates] == [(date(2027, 8, 1), Decimal(2750)), (date(2027, 8, 2), Decimal(2750))]
    rule = client.create_feature_price(
        FeaturePriceRequest(4, date(2027, 8, 1), date(2027, 8, 5), impact_way=2, impact_type=2,
                            impact_value=Decimal(300), name="PMS rate Aug")
    )
    assert rule.id > 0 and rule.group_ids == (1, 2, 3)
    after = client.get_room_rates(1, date(2027, 8, 1), date(2027, 8, 3), 4)
    assert [r.tax_exc for r in after] == [Decimal(3050), Decimal(3050)]  # 2500 + 300 + 250 services (B43)


@pytest.mark.parametrize("suffix", ["", "/", "/api", "/api/"])
def test_shop_url_variants_reach_the_same_api(simulator, suffix):
    settings = Settings(http_connect_timeout_s=2.0, http_read_timeout_s=3.0)
    shop = ShopConfig(id=1, name="default", base_url=simulator.base_url + suffix, api_key=Secret(TEST_API_KEY),
                      sync_enabled=True, id_hotel=1, conflict_strategy="qloapps_wins")
    with open_client(settings, shop) as c:  # how the sync builds a shop's client, with the deployment's timeouts
        assert "orders" in c.ping()


@pytest.mark.parametrize("url", [f"http://{TEST_API_KEY}@127.0.0.1:8088", "http://127.0.0.1:8088/?ws_key=x", "ftp://h"])
def test_urls_with_credentials_or_queries_are_refused(url):
    with pytest.raises(ConfigurationError) as info:
        QloAppsClient(url, Secret(TEST_API_KEY))
    assert TEST_API_KEY not in str(info.value)
