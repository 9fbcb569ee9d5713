"""Inbound pull against the simulator over HTTP and the real PostgreSQL."""

from __future__ import annotations

import pytest

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import func, select, text

from qlosync.db.models import QloAppsReservationMapping, QloAppsSyncCursor, QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.qloapps import bodies
from qlosync.qloapps.models import RoomRequest, RoomTypeRequest
from qlosync.sync.locks import lock_key
from qlosync.sync.inbound.pull import run_pull
from tests.integration.sync_helpers import (
    actual_booking,
    expected_booking,
    move_booking,
    request_like,
    reservation_of_order,
    reservation_state,
    write_fingerprint,
)
from tests.pms_desk import desk_for
from tests.runtime_support import wait_until


def test_full_import_of_500_bookings_matches_the_simulator_and_a_second_run_writes_nothing(
    simulator, deps, engine, session_factory, mapped_catalog, shop
):
    # Given 500 generated bookings in QloApps
    order_ids = simulator.store.generate_bookings(500, seed=7)

    # When a first pull runs (no cursor yet, so it is a full one)
    report = run_pull(deps, kind="incremental", trigger="manual")

    # Then every booking is in the PMS exactly as QloApps has it
    assert (report.status, report.kind, report.trigger) == ("succeeded", "full", "fallback")
    assert report.counts["created"] == 500 and report.counts["failed"] == 0
    desk = desk_for(engine)
    assert desk.reservation_count() == 500
    # Bookings of one customer (often within one page) share one guest
    customers = {simulator.store.table("orders")[o]["id_customer"] for o in order_ids}
    assert len(customers) < 500
    assert desk.guest_count() == len(customers)
    with transaction(session_factory) as session:
        for order_id in order_ids:
            assert actual_booking(session, shop.id, order_id) == expected_booking(simulator, order_id, session), order_id
        before = write_fingerprint(session)
        cursor = session.get_one(QloAppsSyncCursor, shop.id)
        assert cursor.last_successful_sync is not None and cursor.cursor_date_upd is not None

    # And a second full run writes nothing
    again = run_pull(deps, kind="full", trigger="manual")
    assert again.status == "succeeded"
    assert again.counts["unchanged"] == 500 and again.counts["created"] == again.counts["updated"] == 0
    with transaction(session_factory) as session:
        after = write_fingerprint(session)
    assert {k: v for k, v in after.items() if k != "qloapps_sync_cursor"} == {
        k: v for k, v in before.items() if k != "qloapps_sync_cursor"
    }


def test_incremental_pull_brings_same_second_changes_cancellation_date_change_and_new_booking(
    simulator, deps, client, session_factory, mapped_catalog, shop
):
    order_ids = simulator.store.generate_bookings(40, seed=3)
    # The generator overbooks on purpose; the booking whose dates move gets free rooms of its own.
    order_ids[1] = client.create_booking(request_like(client, order_ids[1], (
        RoomTypeRequest(2, date(2030, 5, 1), date(2030, 5, 4), rooms=(RoomRequest(adults=2), RoomRequest(adults=1))),
    ))).id
    assert run_pull(deps).status == "succeeded"
    with transaction(session_factory) as session:
        lines_before = _line_ids(session, order_ids[1])

    # Given several changes in QloApps within the same second
    simulator.store.clock.freeze(simulator.store.clock.now() + timedelta(seconds=3))
    simulator.store.cancel_booking(order_ids[0])
    move_booking(client, order_ids[1], days=1)
    simulator.store.rename_customer(
        simulator.store.table("orders")[order_ids[2]]["id_customer"], "Renamed", "Guest"
    )
    simulator.store.refund_booking(order_ids[2])  # touches the order, so the rename arrives too
    new_id = client.create_booking(request_like(client, order_ids[3], (
        RoomTypeRequest(1, date(2028, 3, 1), date(2028, 3, 4), rooms=(RoomRequest(adults=2, children=0),)),
        RoomTypeRequest(3, date(2028, 3, 2), date(2028, 3, 5), rooms=(RoomRequest(adults=1), RoomRequest(adults=2))),
    ))).id

    # When the incremental pull runs
    report = run_pull(deps, kind="incremental", trigger="schedule")

    # Then each change arrived
    assert (report.status, report.kind) == ("succeeded", "incremental")
    assert report.counts["created"] == 1 and report.counts["updated"] == 3
    with transaction(session_factory) as session:
        for order_id in (order_ids[0], order_ids[1], order_ids[2], new_id):
            assert actual_booking(session, shop.id, order_id) == expected_booking(simulator, order_id, session)
        assert actual_booking(session, shop.id, order_ids[0])["status"] == "cancelled"
        assert actual_booking(session, shop.id, order_ids[2])["name"] == ("Renamed", "Guest")
        # The date change renumbered QloApps' room lines but updated the same PMS lines
        lines_after = _line_ids(session, order_ids[1])
        assert lines_after == lines_before
        assert len(actual_booking(session, shop.id, new_id)["lines"]) >= 2


def _line_ids(session, order_id: int) -> set[str]:  # type: ignore[no-untyped-def]
    """The ids of the PMS lines of the reservation QloApps order *order_id* became."""
    return {line.id for line in reservation_state(session, reservation_of_order(session, order_id)).lines}


def test_idle_incremental_cycle_makes_one_request_and_no_writes(simulator, deps, client, session_factory, mapped_catalog):
    simulator.store.generate_bookings(120, seed=5)
    run_pull(deps)
    with transaction(session_factory) as session:
        before = write_fingerprint(session)
    requests_before = client.request_count
    report = run_pull(deps, kind="incremental", trigger="schedule")
    assert report.status == "succeeded" and report.kind == "incremental"
    assert client.request_count - requests_before <= 2
    assert report.counts["created"] == report.counts["updated"] == 0
    with transaction(session_factory) as session:
        after = write_fingerprint(session)
    assert {k: v for k, v in after.items() if k != "qloapps_sync_cursor"} == {
        k: v for k, v in before.items() if k != "qloapps_sync_cursor"
    }


def test_a_locked_booking_is_isolated_and_the_run_goes_on(simulator, deps, engine, session_factory, mapped_catalog, retried, shop):
    order_ids = simulator.store.generate_bookings(30, seed=11)
    # Given another transaction holds the lock of one booking
    with engine.connect() as blocker:
        blocker.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("qloapps-order", shop.id, order_ids[5])})
        # When a pull runs
        report = run_pull(deps)
        blocker.execute(text("SELECT pg_advisory_unlock_all()"))
    # Then that booking failed alone and was handed to its own retry; the others and the cursor moved on
    assert report.status == "succeeded"
    assert report.counts["failed"] == 1 and report.counts["created"] == 29
    assert retried == [order_ids[5]]
    with transaction(session_factory) as session:
        assert session.get_one(QloAppsSyncCursor, shop.id).cursor_date_upd is not None
        run = session.get_one(QloAppsSyncState, report.run_id)
        assert (run.failed, run.created, run.status) == (1, 29, "succeeded")


def test_qloapps_outage_marks_the_run_failed_and_keeps_the_cursor(simulator, deps, session_factory, mapped_catalog, shop):
    simulator.store.generate_bookings(10, seed=2)
    run_pull(deps)
    with transaction(session_factory) as session:
        cursor_before = session.get_one(QloAppsSyncCursor, shop.id).cursor_date_upd
    simulator.faults.add("http_500", count=None, path="/api/orders")
    report = run_pull(deps, kind="incremental", trigger="schedule")
    simulator.faults.clear()
    assert report.status == "failed" and "QloAppsServerError" in (report.error or "")
    with transaction(session_factory) as session:
        assert session.get_one(QloAppsSyncCursor, shop.id).cursor_date_upd == cursor_before
        assert session.get_one(QloAppsSyncState, report.run_id).status == "failed"


def test_two_pulls_never_overlap(simulator, deps, engine, session_factory, mapped_catalog, shop):
    with engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("qloapps-pull", shop.id)})
        report = run_pull(deps)
        other.execute(text("SELECT pg_advisory_unlock_all()"))
    assert report.status == "skipped"
    assert "another pull" in (report.error or "")


def test_a_booking_changed_between_the_two_listing_requests_is_deferred_not_half_applied(
    simulator, deps, client, session_factory, mapped_catalog, shop
):
    import threading

    order_ids = simulator.store.generate_bookings(5, seed=13)
    movable = client.create_booking(request_like(client, order_ids[0], (
        RoomTypeRequest(4, date(2031, 1, 10), date(2031, 1, 12), rooms=(RoomRequest(adults=2),)),
    ))).id
    # Given QloApps holds the room_bookings request of the first pull...
    simulator.faults.add("hold", count=1, method="GET", path="/api/room_bookings")
    reports = []
    puller = threading.Thread(target=lambda: reports.append(run_pull(deps)))
    puller.start()
    wait_until(lambda: simulator.faults.held == 1, what="the held room_bookings request")
    # ...while the booking's dates change, which replaces its room line (B24)
    booking = bodies.request_from_booking(client.get_booking(movable), None)
    client.update_booking(replace(booking, room_types=(
        RoomTypeRequest(4, date(2031, 1, 11), date(2031, 1, 13), rooms=(RoomRequest(adults=2),)),)))
    simulator.faults.release()
    puller.join(timeout=30)
    # Then that booking was deferred, the others applied, and the next pull brings it whole
    assert reports[0].counts["deferred"] == 1 and reports[0].counts["created"] == 5
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(QloAppsReservationMapping).where(
            QloAppsReservationMapping.qloapps_order_id == movable)) == 0
    assert run_pull(deps, kind="incremental").counts["created"] == 1
    with transaction(session_factory) as session:
        assert actual_booking(session, shop.id, movable) == expected_booking(simulator, movable, session)


def test_the_next_orders_page_is_read_while_this_pages_room_lines_are_and_pages_apply_in_order(
    simulator, deps, session_factory, mapped_catalog, shop
):
    import threading

    from qlosync.qloapps.client import QloAppsClient

    order_ids = simulator.store.generate_bookings(5, seed=17)
    with QloAppsClient(shop.base_url, shop.api_key, page_size=2) as client:
        paged = replace(deps, client=client)
        # Given the room lines of the first page are held
        simulator.faults.add("hold", count=1, method="GET", path="/api/room_bookings")
        simulator.reset_counts()
        reports = []
        puller = threading.Thread(target=lambda: reports.append(run_pull(paged, kind="full")))
        puller.start()
        # Then the second orders page is asked for meanwhile (the newest-order marker, page 1, page 2)...
        wait_until(lambda: simulator.faults.held == 1 and simulator.request_counts["GET /api/orders"] == 3,
                   what="the second orders page beside the held room lines")
        # ...and when the third page fails, the two pages before it are applied, in order, and nothing after
        simulator.faults.add("http_500", count=None, method="GET", path="/api/orders")
        simulator.faults.release()
        puller.join(timeout=30)
    report = reports[0]
    assert report.status == "failed" and "QloAppsServerError" in (report.error or "")
    assert report.counts["created"] == 4 and report.counts["seen"] == 4
    with transaction(session_factory) as session:
        mapped = set(session.scalars(select(QloAppsReservationMapping.qloapps_order_id).where(
            QloAppsReservationMapping.config_id == shop.id)))
    assert mapped == set(sorted(order_ids)[:4])


# -- one booking read alone (the import_booking message) ------------------------------------------------------


def test_a_booking_read_alone_through_an_error_page_is_retried_not_dead_lettered(deps, simulator, mapped_catalog):
    from qlosync.qloapps.errors import QloAppsBadResponse
    from qlosync.sync.inbound.mapper import InvalidBookingError
    from qlosync.sync.inbound.pull import import_booking

    order_id = simulator.store.generate_bookings(1, seed=8)[0]
    simulator.faults.add("fatal_html", count=1, method="GET", path="/api/customers")
    # An HTML error page instead of JSON: the server's trouble, a transient error (the message is retried) ...
    with pytest.raises(QloAppsBadResponse) as raised:
        import_booking(deps, order_id)
    assert raised.value.garbled and not isinstance(raised.value, InvalidBookingError)
    # ... and the retry reads it
    assert import_booking(deps, order_id).outcome == "created"
