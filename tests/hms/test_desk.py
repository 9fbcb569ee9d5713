"""The hotelmanangement front desk (tests/hms/desk.py) writes that PMS's rows as its API does, on the test double
(tests/hms/schema.sql) migrated like the adapter's test databases (tests/conftest.py hms_template_db)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from qlosync.db.session import make_engine
from qlosync.settings import Settings
from tests.hms.desk import DEFAULT_HOTEL, HmsDesk, guest_name, split_name
from tests.pms_desk import Booking, DeskCannot, desk_for

CHECKIN = date(2031, 3, 10)
CHECKOUT = CHECKIN + timedelta(days=3)


@pytest.fixture
def hms_engine(db_factory) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    # As the shared suites' engine fixture makes it: qlosync's search_path, the adapter in the options
    engine = make_engine(Settings(database_url=db_factory(pms="hotelmanangement"), pms="hotelmanangement"))
    yield engine
    engine.dispose()


@pytest.fixture
def desk(hms_engine: Engine) -> HmsDesk:
    made = desk_for(hms_engine)
    assert isinstance(made, HmsDesk)
    return made


def _row(engine: Engine, sql: str, **params: object):  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return c.execute(text(sql), params).one()


def _rows(engine: Engine, sql: str, **params: object):  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return c.execute(text(sql), params).all()


def test_the_template_holds_the_double_and_qlosync_schema(hms_engine):
    # The PMS's default hotel is there, and qlosync's tables for the adapter sit in qlosync's schema
    assert _row(hms_engine, "SELECT hotel_name FROM public.hotels WHERE id = :h", h=DEFAULT_HOTEL).hotel_name \
        == "Default Hotel"
    schemas = {r.table_name: r.table_schema for r in _rows(
        hms_engine, "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_name IN ('hms_outbox', 'hms_reservation_groups', 'reservations', 'qloapps_config')")}
    assert schemas["hms_outbox"] == schemas["hms_reservation_groups"] == "qlosync"
    assert schemas["reservations"] == "public"


def test_a_room_type_comes_with_its_rooms_and_named_rooms_take_their_place(desk, hms_engine):
    suite = desk.room_type("suite", "Garden Suite", max_adults=3, max_children=1)
    row = _row(hms_engine, "SELECT hotel_id::text, room_type, qty, price_per_night, max_adult, max_children, "
                           "max_people FROM public.room_types WHERE id = :t", t=suite)
    assert tuple(row) == (DEFAULT_HOTEL, "suite", 1, Decimal("100.00"), 3, 1, 4)
    # The API made its one room, numbered from the name, legacy columns filled
    assert [tuple(r) for r in _rows(hms_engine, "SELECT room_number, type, room_type, status, floor, hotel_id::text "
                                                "FROM public.rooms WHERE room_type_id = :t", t=suite)] \
        == [("garden-suite-1", "Suite", "suite", "Available", 1, DEFAULT_HOTEL)]
    # The first room the desk names takes its place; the next one raises qty
    first = desk.room(suite, "201")
    second = desk.room(suite, "202")
    rooms = {r.id: r.room_number for r in _rows(hms_engine, "SELECT id::text, room_number FROM public.rooms "
                                                            "WHERE room_type_id = :t", t=suite)}
    assert rooms == {first: "201", second: "202"}
    assert _row(hms_engine, "SELECT qty FROM public.room_types WHERE id = :t", t=suite).qty == 2


def test_a_reservation_is_written_as_the_api_writes_one(desk, hms_engine):
    std = desk.room_type("double", "Standard")
    reservation = desk.reservation(room_type_id=std, checkin=CHECKIN, checkout=CHECKOUT, first=" Ann ",
                                   last="de  Vries", email="ann@example.com", adults=1)
    row = _row(hms_engine, "SELECT hotel_id::text, room_type_id::text, units_requested, check_in, check_out, status, "
                           "total_amount, source, num_adult, num_child, deleted_at FROM public.reservations "
                           "WHERE id = :r", r=reservation)
    # price_per_night x nights x units, source 'Direct', the hotel on the row
    assert tuple(row) == (DEFAULT_HOTEL, std, 1, CHECKIN, CHECKOUT, "Confirmed", Decimal("300.00"), "Direct", 1, 0,
                          None)
    # And its Primary guest row, in the same hotel, for a guest named in one field
    link = _row(hms_engine, "SELECT rg.hotel_id::text, rg.guest_type, g.name, g.email, g.hotel_id::text AS gh "
                            "FROM public.reservation_guests rg JOIN public.guests g ON g.id = rg.guest_id "
                            "WHERE rg.reservation_id = :r", r=reservation)
    assert tuple(link) == (DEFAULT_HOTEL, "Primary", "Ann de Vries", "ann@example.com", DEFAULT_HOTEL)
    # A price the test names is the stay's amount
    priced = desk.reservation(room_type_id=std, checkin=CHECKIN, checkout=CHECKOUT, price="1800")
    assert _row(hms_engine, "SELECT total_amount FROM public.reservations WHERE id = :r", r=priced).total_amount \
        == Decimal("1800.00")


def test_a_returning_guest_is_picked_not_typed_again(desk, hms_engine):
    std = desk.room_type("double", "Standard")
    first = desk.reservation(room_type_id=std, checkin=CHECKIN, checkout=CHECKOUT)
    again = desk.reservation(room_type_id=std, checkin=CHECKOUT, checkout=CHECKOUT + timedelta(days=1))
    other = desk.reservation(room_type_id=std, checkin=CHECKIN, checkout=CHECKOUT, first="Sam")
    guests = {r.id: r.primary_guest_id for r in _rows(hms_engine, "SELECT id::text, primary_guest_id::text "
                                                                  "FROM public.reservations")}
    assert guests[first] == guests[again] != guests[other]
    assert desk.guest_count() == 2


def test_changes_act_on_the_live_members_of_a_group_and_stamp_updated_at(desk, hms_engine):
    std = desk.room_type("double", "Standard")
    anchor = desk.reservation(room_type_id=std, checkin=CHECKIN, checkout=CHECKOUT)
    member = desk.reservation(room_type_id=std, checkin=CHECKIN, checkout=CHECKOUT + timedelta(days=1))
    alone = desk.reservation(room_type_id=std, checkin=CHECKIN, checkout=CHECKOUT)
    # Given the first two are one QloApps order's (what the adapter records)
    with hms_engine.begin() as c:
        c.execute(text("INSERT INTO hms_reservation_groups (reservation_id, group_id, hotel_id, qloapps_status) "
                       "VALUES (:a, :a, :h, 'confirmed'), (:m, :a, :h, 'confirmed')"),
                  {"a": anchor, "m": member, "h": DEFAULT_HOTEL})
        c.execute(text("UPDATE public.reservations SET updated_at = now() - interval '1 day'"))
    assert desk.reservation_ids() == {anchor, alone} and desk.reservation_count() == 2
    # When the group's stay moves
    desk.shift_lines(anchor, checkin_days=1, checkout_days=1)
    rows = {r.id: r for r in _rows(hms_engine, "SELECT id::text, check_in, updated_at > now() - interval '1 hour' "
                                               "AS stamped FROM public.reservations")}
    # Then both members moved and were stamped; the other reservation was not touched
    assert (rows[anchor].check_in, rows[member].check_in, rows[alone].check_in) == (
        CHECKIN + timedelta(days=1), CHECKIN + timedelta(days=1), CHECKIN)
    assert (rows[anchor].stamped, rows[member].stamped, rows[alone].stamped) == (True, True, False)
    # And a cancel reaches every member, a soft delete too (as the API deletes: deleted_at and 'Cancelled')
    desk.set_status(anchor, "refunded")
    assert {r.status for r in _rows(hms_engine, "SELECT status FROM public.reservations WHERE id IN (:a, :m)",
                                    a=anchor, m=member)} == {"Cancelled"}
    desk.delete(alone)
    assert tuple(_row(hms_engine, "SELECT status, deleted_at IS NOT NULL FROM public.reservations WHERE id = :r",
                      r=alone)) == ("Cancelled", True)


def test_a_line_is_a_unit_of_the_one_reservation(desk, hms_engine):
    std, suite = desk.room_type("double", "Standard"), desk.room_type("suite", "Suite")
    reservation = desk.reservation(room_type_id=std, checkin=CHECKIN, checkout=CHECKOUT, adults=2)
    assert desk.add_line(reservation, room_type_id=std, checkin=CHECKIN, checkout=CHECKOUT, adults=1) \
        == f"{reservation}#2"
    row = _row(hms_engine, "SELECT units_requested, num_adult, total_amount FROM public.reservations WHERE id = :r",
               r=reservation)
    assert tuple(row) == (2, 3, Decimal("600.00"))
    desk.update_lines(reservation, adults=1)
    assert _row(hms_engine, "SELECT num_adult FROM public.reservations WHERE id = :r", r=reservation).num_adult == 2
    # Another room type or stay cannot join it
    with pytest.raises(DeskCannot, match="one room type for one stay"):
        desk.add_line(reservation, room_type_id=suite, checkin=CHECKIN, checkout=CHECKOUT)
    with pytest.raises(DeskCannot):
        desk.remove_lines(reservation, std)
    desk.remove_lines(reservation, suite)  # it holds none of those: nothing to do


def test_guest_details_go_into_its_one_name_field(desk, hms_engine):
    std = desk.room_type("double", "Standard")
    reservation = desk.reservation(room_type_id=std, checkin=CHECKIN, checkout=CHECKOUT, first="Jo", last="van Dam")
    desk.update_guest(reservation, last_name="Smith", phone="")
    assert tuple(_row(hms_engine, "SELECT name, phone FROM public.guests")) == ("Jo Smith", None)
    desk.update_every_guest(first_name="John")
    assert _row(hms_engine, "SELECT name FROM public.guests").name == "John Smith"
    assert split_name(guest_name("Mary", "van der Berg")) == ("Mary", "van der Berg")


def test_another_hotel_gets_every_row_of_its_own(desk, hms_engine):
    south = desk.at(desk.add_hotel("South"))
    std = south.room_type("double", "Standard")
    [reservation] = south.batch([Booking(std, CHECKIN, CHECKOUT, "Bo", "Berg", "bo@example.com")])
    hotels = _row(hms_engine, "SELECT r.hotel_id::text AS r, g.hotel_id::text AS g, rg.hotel_id::text AS rg, "
                              "rt.hotel_id::text AS rt FROM public.reservations r JOIN public.guests g "
                              "ON g.id = r.primary_guest_id JOIN public.reservation_guests rg ON rg.reservation_id = r.id "
                              "JOIN public.room_types rt ON rt.id = r.room_type_id WHERE r.id = :r", r=reservation)
    assert set(hotels) == {south.hotel_id} and south.hotel_id != DEFAULT_HOTEL


def test_out_of_order_is_the_room_status_and_rates_are_the_nightly_price(desk, hms_engine):
    std = desk.room_type("double", "Standard")
    rooms = [desk.room(std, n) for n in ("101", "102", "103")]
    desk.room_out_of_order(rooms[1], CHECKIN, CHECKOUT)
    desk.raise_rates("20.50")
    statuses = {r.id: r.status for r in _rows(hms_engine, "SELECT id::text, status FROM public.rooms")}
    assert [statuses[r] for r in rooms] == ["Available", "Out of Service", "Available"]
    assert _row(hms_engine, "SELECT price_per_night FROM public.room_types").price_per_night == Decimal("120.50")
    for cannot in (lambda: desk.set_rate(std, CHECKIN, "90"), lambda: desk.close_night(std, CHECKIN),
                   lambda: desk.remove_rates("100")):
        with pytest.raises(DeskCannot):
            cannot()


def test_a_test_asking_what_the_pms_cannot_do_is_skipped_with_the_reason(desk):
    # The conftest hook turns this into a skip: "the hotelmanangement PMS cannot: no closed nights"
    desk.close_night(desk.room_type("double", "Standard"), CHECKIN)
    pytest.fail("close_night should have raised DeskCannot")


def test_a_bookings_rooms_are_kept_as_one_reservation_per_room_type_and_stay():
    desk = HmsDesk(engine=None)  # type: ignore[arg-type]  (kept_lines reads nothing)
    d1, d2 = date(2031, 1, 1), date(2031, 1, 3)
    lines = [(1, d1, d2, "101", 2, 1, Decimal("100.01"), Decimal("10.00")),
             (2, d1, d2, "201", 1, 0, Decimal("80.00"), Decimal("8.00")),
             (1, d1, d2, "102", 1, 0, Decimal("50.00"), Decimal("5.01"))]
    assert desk.kept_lines(lines) == [
        (1, d1, d2, "101", 2, 1, Decimal("75.01"), Decimal("7.51")),
        (1, d1, d2, None, 1, 0, Decimal("75.00"), Decimal("7.50")),
        (2, d1, d2, "201", 1, 0, Decimal("80.00"), Decimal("8.00"))]
