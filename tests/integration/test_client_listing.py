"""Incremental and full order listings, snapshots and their request cost, against the simulator."""

from __future__ import annotations

import math
import threading
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import STATE_CANCELLED, BookingRequest, CustomerDetail, RoomTypeRequest
from qlosync.secrets import Secret
from tests.conftest import TEST_API_KEY
from tests.runtime_support import wait_until

T0 = datetime(2026, 11, 27, 5, 0, 0)


@pytest.fixture
def client(simulator):
    with QloAppsClient(simulator.base_url, Secret(TEST_API_KEY), page_size=50) as c:
        yield c


def open_booking() -> BookingRequest:
    return BookingRequest(
        id_property=1,
        currency="USD",
        customer=CustomerDetail("Ivan", "Petrov", "ivan.petrov@example.com", "0611223344"),
        room_types=(RoomTypeRequest(1, date(2027, 3, 1), date(2027, 3, 3), number_of_rooms=1),),
    )


def ids(pages) -> list[int]:
    return [o.id for page in pages for o in page]


def test_orders_sharing_one_second_are_each_listed_exactly_once(client, simulator):
    # Given 260 orders all updated in the same second, and pages of 50
    simulator.store.clock.freeze("2026-11-27 05:00:00")
    created = simulator.store.generate_bookings(260, seed=1)
    # When listing everything changed at or after that second
    pages = list(client.iter_orders_changed_since((T0, 0), overlap=timedelta(0)))
    # Then each order comes exactly once, in (date_upd, id) order, in pages of at most 50
    listed = ids(pages)
    assert Counter(listed) == Counter(created)
    assert all(o.date_upd == T0 for page in pages for o in page)
    assert listed == sorted(listed)
    assert max(len(p) for p in pages) == 50


def test_an_order_updated_mid_pass_still_appears_with_its_new_state(client, simulator):
    simulator.store.clock.freeze("2026-11-27 05:00:00")
    already = client.create_booking(open_booking()).id  # lowest id: in the first page
    created = simulator.store.generate_bookings(120, seed=2)
    ahead = client.create_booking(open_booking()).id  # highest id: in the last page
    pages = client.iter_orders_changed_since(None)
    first = next(pages)
    assert len(first) == 50 and already in {o.id for o in first}
    # While the pass is under way, one order already listed and one not yet listed are cancelled later on
    simulator.store.clock.advance(5)
    simulator.store.cancel_booking(already)
    simulator.store.cancel_booking(ahead)
    rest = [o for page in pages for o in page]
    listed = first + rest
    assert set(created) | {already, ahead} <= {o.id for o in listed}
    latest = {o.id: o for o in listed}  # the last version of each order wins
    assert latest[ahead].current_state == STATE_CANCELLED
    assert latest[already].current_state == STATE_CANCELLED
    assert Counter(o.id for o in rest)[ahead] == 1
    assert Counter(o.id for o in rest)[already] == 1  # its new version, after the old one in page one


def test_overlap_window_rereads_recent_seconds_only(client, simulator):
    simulator.store.clock.freeze("2026-11-27 05:00:00")
    old = simulator.store.generate_bookings(5, seed=3)
    simulator.store.clock.advance(10)
    new = simulator.store.generate_bookings(5, seed=4)
    cursor = (T0 + timedelta(seconds=10), max(new))
    assert sorted(ids(client.iter_orders_changed_since(cursor))) == sorted(new)
    wide = ids(client.iter_orders_changed_since(cursor, overlap=timedelta(seconds=10)))
    assert sorted(wide) == sorted(old + new)
    later = ids(client.iter_orders_changed_since((T0 + timedelta(seconds=13), 0), overlap=timedelta(seconds=2)))
    assert later == []


def test_full_listing_by_id(client, simulator):
    created = simulator.store.generate_bookings(130, seed=5)
    pages = list(client.iter_all_orders())
    listed = ids(pages)
    assert listed == sorted(listed) and set(created) <= set(listed)
    assert len(listed) == len(set(listed))
    assert [len(p) for p in pages][:2] == [50, 50]


def test_snapshots_join_room_lines_and_customers(client, simulator):
    created = simulator.store.generate_bookings(60, seed=6)
    snapshots = [s for page in client.iter_all_orders() for s in client.snapshots_for(page)]  # as a full pull does
    by_id = {s.id: s for s in snapshots}
    assert set(created) <= set(by_id)
    for snap in by_id.values():
        assert snap.customer is not None and snap.customer.id == snap.order.id_customer
        assert {rb.id for rb in snap.room_bookings} == set(snap.order.room_booking_ids) and snap.consistent
        assert all(rb.id_order == snap.id for rb in snap.room_bookings)


def test_a_pages_room_lines_and_customers_are_asked_for_at_the_same_time(client, simulator):
    orders = client.get_orders(simulator.store.generate_bookings(3, seed=5))
    simulator.faults.add("hold", count=1, method="GET", path="/api/room_bookings")
    got: list[list] = []
    reader = threading.Thread(target=lambda: got.append(client.snapshots_for(orders)))
    reader.start()
    # The customers are asked for while the room lines are still held
    wait_until(lambda: simulator.faults.held == 1 and simulator.request_counts["GET /api/customers"] == 1,
               what="the customers request beside the held room lines")
    simulator.faults.release()
    reader.join(timeout=10)
    assert [s.id for s in got[0]] == [o.id for o in orders]
    assert all(s.consistent and s.customer is not None and s.customer.id == s.order.id_customer for s in got[0])
    assert client.request_count == 3


def test_a_failed_room_lines_request_is_the_error_raised_not_the_customers(client, simulator):
    from qlosync.qloapps.errors import QloAppsServerError

    orders = client.get_orders(simulator.store.generate_bookings(2, seed=5))
    simulator.faults.add("http_500", count=1, method="GET", path="/api/room_bookings")
    simulator.faults.add("fatal_html", count=1, method="GET", path="/api/customers")
    with pytest.raises(QloAppsServerError) as raised:
        client.snapshots_for(orders)
    assert "room_bookings" in str(raised.value)
    assert simulator.request_counts["GET /api/customers"] == 1  # it had been sent, and had ended


def test_full_snapshot_listing_of_1000_bookings_costs_three_requests_per_page(simulator):
    created = simulator.store.generate_bookings(1000, seed=7)
    with QloAppsClient(simulator.base_url, Secret(TEST_API_KEY), page_size=100) as client:
        simulator.reset_counts()
        snapshots = [s for page in client.iter_orders_changed_since(None) for s in client.snapshots_for(page)]
        pages = math.ceil(len(snapshots) / 100)
        assert {s.id for s in snapshots} >= set(created)
        assert len(snapshots) == len({s.id for s in snapshots})
        # one orders + one room_bookings + one customers request per page, plus the short page that ends the pass
        assert client.request_count <= 3 * pages + 1
        counts = simulator.request_counts
        assert counts["GET /api/room_bookings"] == pages and counts["GET /api/customers"] == pages
        assert counts["GET /api/bookings"] == 0  # /bookings cannot page (B6)
        assert sum(counts.values()) == client.request_count
