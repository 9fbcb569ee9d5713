"""The hotelmanangement PMS's change capture: what its triggers write to hms_outbox for each kind of change, what
they skip under mark_sync_writes, and the feed that claims the rows as the port's changes (one per group).

One database per module (the double, migrated with QLOSYNC_PMS=hotelmanangement, which installed the capture);
each test starts from an empty outbox and writes rows of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from qlosync.db.session import make_sessionmaker, transaction
from qlosync.pms.hotelmanangement import changes
from qlosync.pms.hotelmanangement.changes import CHANNEL, HmsFeed, mark_sync_writes
from qlosync.pms.port import ReservationChange, RoomTypeChange
from tests.hms.capture_support import (
    HOTEL,
    Row,
    add_guest,
    add_reservation,
    add_room,
    add_room_type,
    clear_outbox,
    create_hms_database,
    drop_database,
    horizon,
    nights,
    outbox,
    qlosync_engine,
)

D = date


@pytest.fixture(scope="module")
def hms_url(pg_admin: Engine) -> Iterator[str]:
    name, url = create_hms_database(pg_admin)
    yield url
    drop_database(pg_admin, name)


@pytest.fixture(scope="module")
def module_engine(hms_url: str) -> Iterator[Engine]:
    engine = qlosync_engine(hms_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(module_engine: Engine) -> Engine:
    clear_outbox(module_engine)
    return module_engine


@pytest.fixture
def pms_engine(hms_url: str) -> Iterator[Engine]:
    """The PMS's own connections: search_path just public (the database's default is left alone beside a PMS)."""
    engine = create_engine(hms_url)
    yield engine
    engine.dispose()


@pytest.fixture
def booked(engine: Engine) -> tuple[str, str, str]:
    """(guest, room type, reservation): a front-desk reservation of 2030-01-10..13, then an empty outbox."""
    with engine.begin() as connection:
        guest = add_guest(connection)
        room_type = add_room_type(connection, out_of_service=1)
        reservation = add_reservation(connection, guest, room_type, D(2030, 1, 10), D(2030, 1, 13))
    clear_outbox(engine)
    return guest, room_type, reservation


def write(engine: Engine, sql: str, *, sync: bool = False, **params: object) -> list[Row]:
    """Run *sql* in one transaction (marked as qlosync's own inbound apply when *sync*); the outbox after."""
    with transaction(make_sessionmaker(engine)) as session:
        if sync:
            mark_sync_writes(session)
        session.execute(text(sql), params)
    return outbox(engine)


def reservation_rows(rows: list[Row]) -> list[tuple[str, str]]:
    return [(row.aggregate_id, row.operation) for row in rows if row.aggregate == "reservation"]


def room_type_rows(rows: list[Row]) -> list[tuple[str, str, dict[str, str]]]:
    return [(row.aggregate_id, row.operation, row.payload) for row in rows if row.aggregate == "room_type"]


# --- reservations --------------------------------------------------------------------------------------------


def test_a_front_desk_reservation_is_a_create_and_availability_for_its_nights(engine: Engine) -> None:
    with engine.begin() as connection:
        guest = add_guest(connection)
        room_type = add_room_type(connection, out_of_service=1)
    clear_outbox(engine)
    with engine.begin() as connection:
        reservation = add_reservation(connection, guest, room_type, D(2030, 1, 10), D(2030, 1, 13), units=2)
    rows = outbox(engine)
    # The reservation, then its Primary guest row (same reservation: the feed makes them one change)
    assert reservation_rows(rows) == [(reservation, "create"), (reservation, "update")]
    assert room_type_rows(rows) == [(room_type, "availability", nights(D(2030, 1, 10), D(2030, 1, 12)))]


def test_the_pms_own_connections_reach_the_functions_in_qlosync_schema(pms_engine: Engine, engine: Engine) -> None:
    # The PMS writes with search_path public: the functions pin theirs, so they find hms_outbox.
    with pms_engine.begin() as connection:
        assert connection.scalar(text("SHOW search_path")) == '"$user", public'
        guest = add_guest(connection)
        room_type = add_room_type(connection)
        reservation = add_reservation(connection, guest, room_type, D(2030, 2, 1), D(2030, 2, 2))
    assert (reservation, "create") in reservation_rows(outbox(engine))
    with engine.connect() as connection:
        configs = connection.execute(text(
            "SELECT n.nspname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname LIKE 'qlosync_hms_%'")).all()
    assert sorted(configs) == [("qlosync", ["search_path=qlosync, public"])] * 4


def test_a_change_of_details_is_an_update_without_availability(engine: Engine, booked: tuple[str, str, str]) -> None:
    _, _, reservation = booked
    rows = write(engine, "UPDATE public.reservations SET notes = 'late arrival', updated_at = now(), "
                 "modified_time = now() WHERE id = :id", id=reservation)
    assert reservation_rows(rows) == [(reservation, "update")]
    assert room_type_rows(rows) == []


def test_a_save_that_changes_only_its_timestamps_is_not_captured(engine: Engine,
                                                                  booked: tuple[str, str, str]) -> None:
    _, _, reservation = booked
    rows = write(engine, "UPDATE public.reservations SET updated_at = now() + interval '1 minute', "
                 "modified_time = now() WHERE id = :id", id=reservation)
    assert rows == []


def test_new_dates_are_an_update_and_availability_of_the_old_and_new_nights(engine: Engine,
                                                                           booked: tuple[str, str, str]) -> None:
    _, room_type, reservation = booked
    rows = write(engine, "UPDATE public.reservations SET check_in = '2030-01-20', check_out = '2030-01-22' "
                 "WHERE id = :id", id=reservation)
    assert reservation_rows(rows) == [(reservation, "update")]
    # One row for the statement: 10..12 (the old stay) and 20..21 (the new one)
    assert room_type_rows(rows) == [(room_type, "availability", nights(D(2030, 1, 10), D(2030, 1, 21)))]


@pytest.mark.parametrize("change", ["units_requested = 3", "status = 'Checked-in'"])
def test_units_or_status_change_availability(engine: Engine, booked: tuple[str, str, str], change: str) -> None:
    _, room_type, reservation = booked
    rows = write(engine, f"UPDATE public.reservations SET {change} WHERE id = :id", id=reservation)
    assert reservation_rows(rows) == [(reservation, "update")]
    assert room_type_rows(rows) == [(room_type, "availability", nights(D(2030, 1, 10), D(2030, 1, 12)))]


def test_a_stay_change_where_no_room_is_out_of_service_is_no_availability(engine: Engine) -> None:
    # Nothing of the room type is held off sale: a stay there changes no hold (as the built-in PMS's capture)
    with engine.begin() as connection:
        guest = add_guest(connection)
        room_type = add_room_type(connection)
    clear_outbox(engine)
    with engine.begin() as connection:
        reservation = add_reservation(connection, guest, room_type, D(2030, 1, 10), D(2030, 1, 13))
    rows = write(engine, "UPDATE public.reservations SET check_out = '2030-01-15' WHERE id = :id", id=reservation)
    assert room_type_rows(outbox(engine)) == room_type_rows(rows) == []
    assert reservation_rows(rows) == [(reservation, "create"), (reservation, "update"), (reservation, "update")]


def test_another_room_type_is_availability_of_both(engine: Engine, booked: tuple[str, str, str]) -> None:
    _, room_type, reservation = booked
    with engine.begin() as connection:
        other = add_room_type(connection, out_of_service=1)
    clear_outbox(engine)
    rows = write(engine, "UPDATE public.reservations SET room_type_id = :other WHERE id = :id",
                 other=other, id=reservation)
    assert reservation_rows(rows) == [(reservation, "update")]
    stay = nights(D(2030, 1, 10), D(2030, 1, 12))
    assert sorted(room_type_rows(rows)) == sorted([(room_type, "availability", stay), (other, "availability", stay)])


@pytest.mark.parametrize("change", ["status = 'Cancelled', cancel_time = now()", "deleted_at = now()"])
def test_cancelled_or_soft_deleted_is_a_cancel(engine: Engine, booked: tuple[str, str, str], change: str) -> None:
    _, room_type, reservation = booked
    rows = write(engine, f"UPDATE public.reservations SET {change}, updated_at = now() WHERE id = :id", id=reservation)
    assert reservation_rows(rows) == [(reservation, "cancel")]
    assert room_type_rows(rows) == [(room_type, "availability", nights(D(2030, 1, 10), D(2030, 1, 12)))]


def test_a_deleted_reservation_is_a_cancel_and_its_guest_rows_add_nothing(engine: Engine,
                                                                           booked: tuple[str, str, str]) -> None:
    _, room_type, reservation = booked
    rows = write(engine, "DELETE FROM public.reservations WHERE id = :id", id=reservation)
    # The cascade deleted its reservation_guests row: no second row for a reservation that is gone
    assert [(row.aggregate_id, row.operation, row.payload) for row in rows if row.aggregate == "reservation"] == [
        (reservation, "cancel", {"deleted": True})]
    assert room_type_rows(rows) == [(room_type, "availability", nights(D(2030, 1, 10), D(2030, 1, 12)))]


def test_a_guest_row_of_the_reservation_changes_it(engine: Engine, booked: tuple[str, str, str]) -> None:
    _, _, reservation = booked
    with engine.begin() as connection:
        companion = add_guest(connection, "Bo Lee")
    clear_outbox(engine)
    rows = write(engine, "INSERT INTO public.reservation_guests (hotel_id, reservation_id, guest_id, guest_type) "
                 "VALUES (:hotel, :reservation, :guest, 'Secondary')", hotel=HOTEL, reservation=reservation,
                 guest=companion)
    assert rows == [Row("reservation", reservation, "update", {})]


def test_a_guest_change_updates_its_live_reservations_only(engine: Engine, booked: tuple[str, str, str]) -> None:
    guest, room_type, live = booked
    with engine.begin() as connection:
        cancelled = add_reservation(connection, guest, room_type, D(2030, 3, 1), D(2030, 3, 2))
        deleted = add_reservation(connection, guest, room_type, D(2030, 4, 1), D(2030, 4, 2))
        connection.execute(text("UPDATE public.reservations SET status = 'Cancelled' WHERE id = :id"), {"id": cancelled})
        connection.execute(text("UPDATE public.reservations SET deleted_at = now() WHERE id = :id"), {"id": deleted})
    clear_outbox(engine)
    rows = write(engine, "UPDATE public.guests SET name = 'Ann Leigh', updated_at = now() WHERE id = :id", id=guest)
    assert rows == [Row("reservation", live, "update", {})]
    assert write(engine, "UPDATE public.guests SET updated_at = now() WHERE id = :id", id=guest) == rows  # no new row


# --- room types and rooms ------------------------------------------------------------------------------------


def test_a_price_is_rates_for_every_night_qlosync_pushes(engine: Engine) -> None:
    with engine.begin() as connection:
        room_type = add_room_type(connection)
    clear_outbox(engine)
    first, last = horizon()
    rows = write(engine, "UPDATE public.room_types SET price_per_night = 120 WHERE id = :id", id=room_type)
    assert rows == [Row("room_type", room_type, "rates", {"from": first, "to": last})]


@pytest.mark.parametrize("change", ["qty = 1", "deleted_at = now()"])
def test_qty_or_soft_delete_is_availability(engine: Engine, change: str) -> None:
    with engine.begin() as connection:
        room_type = add_room_type(connection)
    clear_outbox(engine)
    first, last = horizon()
    rows = write(engine, f"UPDATE public.room_types SET {change} WHERE id = :id", id=room_type)
    assert rows == [Row("room_type", room_type, "availability", {"from": first, "to": last})]


def test_other_room_type_columns_are_not_captured(engine: Engine) -> None:
    with engine.begin() as connection:
        room_type = add_room_type(connection)
    clear_outbox(engine)
    assert write(engine, "UPDATE public.room_types SET name = 'Deluxe', updated_at = now() WHERE id = :id",
                 id=room_type) == []


def test_rooms_added_removed_moved_or_out_of_service_are_availability(engine: Engine) -> None:
    with engine.begin() as connection:
        room_type, other = add_room_type(connection, qty=1), add_room_type(connection, qty=1)
    clear_outbox(engine)
    first, last = horizon()
    every_night = {"from": first, "to": last}

    def availability(sql: str, **params: object) -> list[str]:
        clear_outbox(engine)
        rows = write(engine, sql, **params)
        assert all(row.operation == "availability" and row.payload == every_night for row in rows), rows
        return sorted(row.aggregate_id for row in rows)

    with engine.begin() as connection:
        room = add_room(connection, room_type, f"{room_type[:8]}-x")
    assert [row.aggregate_id for row in outbox(engine)] == [room_type]
    assert availability("UPDATE public.rooms SET status = 'Out of Service' WHERE id = :id", id=room) == [room_type]
    assert availability("UPDATE public.rooms SET room_type_id = :other WHERE id = :id", other=other,
                        id=room) == sorted([room_type, other])
    assert availability("UPDATE public.rooms SET room_number = 'A1', updated_at = now() WHERE id = :id",
                        id=room) == []
    assert availability("DELETE FROM public.rooms WHERE id = :id", id=room) == [other]


# --- qlosync's own writes ------------------------------------------------------------------------------------


def test_sync_writes_are_not_captured_as_reservation_changes_but_still_as_availability(engine: Engine) -> None:
    with engine.begin() as connection:
        guest = add_guest(connection)
        room_type = add_room_type(connection, out_of_service=1)
    clear_outbox(engine)
    with transaction(make_sessionmaker(engine)) as session:
        mark_sync_writes(session)
        reservation = add_reservation(session.connection(), guest, room_type, D(2030, 5, 1), D(2030, 5, 3))
        session.execute(text("UPDATE public.guests SET name = 'Ann Leigh' WHERE id = :id"), {"id": guest})
        session.execute(text("UPDATE public.reservations SET notes = 'from QloApps' WHERE id = :id"),
                        {"id": reservation})
        session.execute(text("UPDATE public.room_types SET price_per_night = 90 WHERE id = :id"), {"id": room_type})
    rows = outbox(engine)
    # No echo of what qlosync wrote; availability and rates still, as the built-in PMS's stay and rate capture
    assert reservation_rows(rows) == []
    assert [(rt, op) for rt, op, _ in room_type_rows(rows)] == [(room_type, "availability"), (room_type, "rates")]
    # The mark was the transaction's only: the next one is captured
    rows = write(engine, "UPDATE public.reservations SET notes = 'by the desk' WHERE id = :id", id=reservation)
    assert reservation_rows(rows) == [(reservation, "update")]


def test_the_catalog_import_copying_qloapps_rooms_is_not_captured(engine: Engine) -> None:
    with engine.begin() as connection:
        room_type = add_room_type(connection)
    clear_outbox(engine)
    # qlosync's catalog import (a marked transaction) adds a room and raises qty to the rooms QloApps has
    with transaction(make_sessionmaker(engine)) as session:
        mark_sync_writes(session)
        add_room(session.connection(), room_type, f"{room_type[:8]}-q")
        session.execute(text("UPDATE public.room_types SET qty = qty + 1 WHERE id = :id"), {"id": room_type})
    assert outbox(engine) == []
    # The same by the front desk is captured
    with engine.begin() as connection:
        add_room(connection, room_type, f"{room_type[:8]}-d")
        connection.execute(text("UPDATE public.room_types SET qty = qty + 1 WHERE id = :id"), {"id": room_type})
    assert [(rt, op) for rt, op, _ in room_type_rows(outbox(engine))] == [(room_type, "availability")] * 2


def test_one_statement_over_many_stays_is_one_availability_row_per_room_type(engine: Engine) -> None:
    with engine.begin() as connection:
        guest = add_guest(connection)
        room_type = add_room_type(connection, qty=5, out_of_service=1)
        ids = [add_reservation(connection, guest, room_type, D(2030, 6, day), D(2030, 6, day + 2))
               for day in (1, 5, 9)]
    clear_outbox(engine)
    rows = write(engine, "UPDATE public.reservations SET units_requested = 2 WHERE id = ANY(:ids)", ids=ids)
    assert sorted(reservation_rows(rows)) == sorted((i, "update") for i in ids)
    assert room_type_rows(rows) == [(room_type, "availability", nights(D(2030, 6, 1), D(2030, 6, 10)))]


def test_a_commit_notifies_the_relays_and_a_rollback_does_not(engine: Engine, hms_url: str,
                                                               booked: tuple[str, str, str]) -> None:
    _, _, reservation = booked
    with psycopg.connect(hms_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with engine.connect() as connection, connection.begin() as rolled_back:
            connection.execute(text("UPDATE public.reservations SET notes = 'x' WHERE id = :id"), {"id": reservation})
            rolled_back.rollback()
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
        write(engine, "UPDATE public.reservations SET notes = 'y' WHERE id = :id", id=reservation)
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [CHANNEL]


# --- the feed ------------------------------------------------------------------------------------------------


def test_the_feed_makes_one_change_per_group_and_per_room_type_and_operation(engine: Engine) -> None:
    with engine.begin() as connection:
        guest = add_guest(connection)
        room_type, other = add_room_type(connection, qty=3, out_of_service=1), add_room_type(connection, out_of_service=1)
    clear_outbox(engine)  # the rooms' availability rows
    with engine.begin() as connection:
        anchor = add_reservation(connection, guest, room_type, D(2030, 7, 1), D(2030, 7, 3))
        member = add_reservation(connection, guest, other, D(2030, 7, 10), D(2030, 7, 12))
        desk = add_reservation(connection, guest, room_type, D(2030, 8, 1), D(2030, 8, 2))
        # One QloApps order = the anchor and its member (the adapter records it; the anchor has a row too)
        connection.execute(text(
            "INSERT INTO hms_reservation_groups (reservation_id, group_id, hotel_id) VALUES "
            "(:anchor, :anchor, :hotel), (:member, :anchor, :hotel)"),
            {"anchor": anchor, "member": member, "hotel": HOTEL})
    rows_before = len(outbox(engine))
    write(engine, "UPDATE public.reservations SET notes = 'member only' WHERE id = :id", id=member)
    with transaction(make_sessionmaker(engine)) as session:
        changes_ = HmsFeed(session).claim(100)
    reservations = {c.reservation_id: c for c in changes_ if isinstance(c, ReservationChange)}
    room_types = {(c.room_type_id, c.operation): c for c in changes_ if isinstance(c, RoomTypeChange)}
    # The member's rows are its group's: one change for the order, one for the front-desk reservation
    assert sorted(reservations) == sorted([anchor, desk])
    assert len(reservations[anchor].row_ids) == 5  # anchor: create + guest row; member: create + guest row + update
    assert len(reservations[desk].row_ids) == 2
    assert reservations[anchor].first_created_at is not None
    assert sorted(room_types) == sorted([(room_type, "availability"), (other, "availability")])
    coalesced = room_types[(room_type, "availability")]
    assert (coalesced.date_from, coalesced.date_to) == (D(2030, 7, 1), D(2030, 8, 1))
    every_row = sorted(i for change in changes_ for i in change.row_ids)
    assert len(every_row) == rows_before + 1 == len(set(every_row))


def test_claimed_rows_are_skipped_by_another_relay_and_marked_rows_leave_the_backlog(
        engine: Engine, booked: tuple[str, str, str]) -> None:
    _, _, reservation = booked
    write(engine, "UPDATE public.reservations SET notes = 'a' WHERE id = :id", id=reservation)
    write(engine, "UPDATE public.guests SET notes = 'regular' WHERE id = (SELECT primary_guest_id FROM "
          "public.reservations WHERE id = :id)", id=reservation)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as first:
        feed = HmsFeed(first)
        backlog = feed.backlog()
        assert backlog.unsent == 2 and backlog.oldest_unsent_at is not None
        (claimed,) = feed.claim(1)
        assert isinstance(claimed, ReservationChange) and len(claimed.row_ids) == 1
        with transaction(sessions) as second:
            (other,) = HmsFeed(second).claim(10)  # the row the first relay holds is skipped
            assert set(other.row_ids).isdisjoint(claimed.row_ids)
            second.rollback()
        feed.mark_published(claimed.row_ids)
    with transaction(sessions) as session:
        assert HmsFeed(session).backlog().unsent == 1


def test_request_push_queues_the_group(engine: Engine, booked: tuple[str, str, str]) -> None:
    _, _, reservation = booked
    with transaction(make_sessionmaker(engine)) as session:
        HmsFeed(session).request_push(reservation, "operator")
    assert outbox(engine) == [Row("reservation", reservation, "update", {"reason": "operator"})]
    with Session(engine) as session, pytest.raises(ValueError, match="cannot name a reservation"):
        HmsFeed(session).request_push("42", "operator")


# --- install and remove --------------------------------------------------------------------------------------

EXPECTED = sorted([
    "function qlosync.qlosync_hms_capture_reservation()", "function qlosync.qlosync_hms_capture_room_types()",
    "function qlosync.qlosync_hms_capture_rooms()", "function qlosync.qlosync_hms_capture_stays()",
    "trigger qlosync_ari_delete on rooms", "trigger qlosync_ari_insert on rooms", "trigger qlosync_ari_update on rooms",
    "trigger qlosync_ari_update on room_types", "trigger qlosync_capture on guests",
    "trigger qlosync_capture on reservation_guests", "trigger qlosync_capture on reservations",
    "trigger qlosync_stays_delete on reservations", "trigger qlosync_stays_insert on reservations",
    "trigger qlosync_stays_update on reservations",
])


def test_install_and_remove_are_idempotent(engine: Engine, booked: tuple[str, str, str]) -> None:
    _, _, reservation = booked
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as session:
            assert changes.installed(session) == EXPECTED  # alembic upgrade head installed them
            assert changes.install(session) == []  # already there
            assert changes.remove(session) == EXPECTED
            assert changes.remove(session) == []
            assert changes.installed(session) == []
        # Without the capture, PMS writes reach no outbox (and still work)
        assert write(engine, "UPDATE public.reservations SET notes = 'unseen' WHERE id = :id", id=reservation) == []
    finally:
        with transaction(sessions) as session:
            assert changes.install(session) == EXPECTED
            assert changes.install(session) == []
    rows = write(engine, "UPDATE public.reservations SET notes = 'seen' WHERE id = :id", id=reservation)
    assert reservation_rows(rows) == [(reservation, "update")]
