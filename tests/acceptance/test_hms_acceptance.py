"""Issue 21 acceptance: qlosync in the Hotel Management System's database (the hotelmanangement adapter).

Read off that PMS's own rows (tests/hms/schema.sql's tables in ``public``), not through the port: a full pull
of the simulator's bookings lands booking by booking as that PMS holds a booking (one reservation per room type
and stay, ``units_requested`` rooms, occupancy and money per reservation, its status words, one guest name,
the hotel on every row); a reservation its API would insert reaches QloApps once through the relay and a
worker, and its date change, cancellation and soft delete follow; a checked-in guest survives a pull; two
hotels with two shops stay apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from qlosync.db.session import transaction
from qlosync.qloapps.models import STATE_CANCELLED, BookingRequest, CustomerDetail, RoomRequest, RoomTypeRequest
from qlosync.runtime.context import Runtime
from qlosync.states import CLOSED_STATUSES, ReservationStatus
from qlosync.sync.inbound.catalog import import_catalog
from qlosync.sync.inbound.mapper import ORDER_STATE_TO_STATUS
from qlosync.sync.inbound.pull import run_pull
from qlosync.sync.outbound.jobs import push
from qlosync.sync.push_token import without_token
from tests.acceptance.outbound_support import (dead_letters, mapping_of, order_customer, order_state,
                                               orders_with_token, pms_lines, posts, qlo_lines)
from tests.hms.desk import DEFAULT_HOTEL, HmsDesk
from tests.integration.sync_helpers import move_booking, reservation_of_order
from tests.outbound_fixtures import stay
from tests.pms_desk import desk_for
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)
from tests.sync_fixtures import simulated_shops

CENT = Decimal("0.01")


@pytest.fixture(params=["hotelmanangement"])
def pms_kind(request: pytest.FixtureRequest) -> str:
    """This module is the hotelmanangement adapter's alone (ids end in [hotelmanangement])."""
    return str(request.param)


@pytest.fixture
def desk(engine: Engine) -> HmsDesk:
    made = desk_for(engine)
    assert isinstance(made, HmsDesk)
    return made


# -- what QloApps has, and what that PMS's rows hold ----------------------------------------------------------

def _room_type_map(engine: Engine, config_id: int) -> dict[int, str]:
    with engine.connect() as c:
        return {int(q): p for q, p in c.execute(text(
            "SELECT qloapps_room_type_id, pms_room_type_id FROM qloapps_room_type_mappings WHERE config_id = :c"),
            {"c": config_id})}


def _pms_source(source: str | None) -> str:
    # The source column's words for QloApps' channel (that PMS's own QloApps integration's rule).
    folded = (source or "").casefold()
    return "Booking.com" if "booking" in folded else "Expedia" if "expedia" in folded else "QloApps"


def _expected(simulator: Any, room_types: dict[int, str], order_id: int) -> dict[str, object]:
    """The rows one order should be in that PMS: a reservation per (room type, stay) of its booked rooms."""
    store = simulator.store
    order = store.table("orders")[order_id]
    customer = store.table("customers")[order["id_customer"]]
    rows = [r for r in store.table("room_bookings").values() if r["id_order"] == order_id]
    status = ORDER_STATE_TO_STATUS[order["current_state"]]
    if status not in CLOSED_STATUSES:
        live = [r for r in rows if not int(r["is_cancelled"])]
        rows, status = (live, status) if live else (rows, ReservationStatus.CANCELLED)
    stays: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for r in rows:
        stays[(room_types[int(r["id_product"])], str(r["date_from"])[:10], str(r["date_to"])[:10])].append(r)
    source = without_token(str(order.get("source") or "")) or None
    return {
        "status": "Cancelled" if status in CLOSED_STATUSES else "Confirmed",
        "source": (_pms_source(source), source),
        "guest": (f"{customer['firstname'].strip()} {customer['lastname'].strip()}", customer["email"],
                  customer["phone"] or None),
        "reservations": sorted(
            (room_type, checkin, checkout, len(lines), sum(int(r["adults"]) for r in lines),
             sum(int(r["children"]) for r in lines),
             sum(Decimal(str(r["total_price_tax_excl"])) for r in lines).quantize(CENT),
             sum(Decimal(str(r["total_price_tax_incl"])) - Decimal(str(r["total_price_tax_excl"]))
                 for r in lines).quantize(CENT))
            for (room_type, checkin, checkout), lines in stays.items()),
        "paid": Decimal(str(order["total_paid_real"])).quantize(CENT),
        "hotels": {DEFAULT_HOTEL},
        "primary_rows": 1,
    }


#: Every live PMS reservation of each mapped order (its group's members), with its guest and Primary link.
_MEMBERS = """
SELECT m.qloapps_order_id, r.id::text AS id, r.hotel_id::text AS hotel, r.room_type_id::text AS room_type,
       r.check_in, r.check_out, r.units_requested, r.num_adult, r.num_child, r.total_amount, r.tax, r.deposit,
       r.status, r.source, r.channel, g.name, g.email, g.phone, g.hotel_id::text AS guest_hotel,
       (SELECT count(*) FROM public.reservation_guests rg WHERE rg.reservation_id = r.id
          AND rg.guest_id = r.primary_guest_id AND rg.guest_type = 'Primary' AND rg.hotel_id = r.hotel_id)
         AS primary_rows
FROM qloapps_reservation_mappings m
JOIN public.reservations r ON r.deleted_at IS NULL
LEFT JOIN hms_reservation_groups hg ON hg.reservation_id = r.id::text
JOIN public.guests g ON g.id = r.primary_guest_id
WHERE m.config_id = :c AND m.qloapps_order_id IS NOT NULL
  AND coalesce(hg.group_id, r.id::text) = m.pms_reservation_id
"""


def _actual(engine: Engine, config_id: int) -> dict[int, dict[str, object]]:
    """What that PMS's rows hold for each order, in the shape of :func:`_expected`."""
    with engine.connect() as c:
        rows = c.execute(text(_MEMBERS), {"c": config_id}).all()
    by_order: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_order[int(row.qloapps_order_id)].append(row)
    return {order_id: {
        "status": next(iter({r.status for r in members})) if len({r.status for r in members}) == 1
        else sorted(r.status for r in members),
        "source": next(iter({(r.source, r.channel) for r in members})),
        "guest": next(iter({(r.name, r.email, r.phone) for r in members})),
        "reservations": sorted((r.room_type, r.check_in.isoformat(), r.check_out.isoformat(), r.units_requested,
                                r.num_adult, r.num_child, r.total_amount, r.tax) for r in members),
        "paid": sum((r.deposit or Decimal(0) for r in members), Decimal(0)).quantize(CENT),
        "hotels": {r.hotel for r in members} | {r.guest_hotel for r in members},
        "primary_rows": min(r.primary_rows for r in members),
    } for order_id, members in by_order.items()}


def test_a_full_pull_of_300_bookings_lands_as_that_pms_holds_each_booking(simulator, deps, engine, shop,
                                                                          mapped_catalog):
    # Given 300 generated bookings in QloApps: one to three room types, up to two rooms each, every status
    order_ids = simulator.store.generate_bookings(300, seed=21)
    # When a full pull runs
    report = run_pull(deps, kind="full", trigger="manual")
    assert (report.status, report.counts["created"], report.counts["failed"]) == ("succeeded", 300, 0)
    # Then each booking is in that PMS's rows as its API would hold it, booking by booking
    with simulator.store.lock:
        expected = {o: _expected(simulator, _room_type_map(engine, shop.id), o) for o in order_ids}
    actual = _actual(engine, shop.id)
    assert set(actual) == set(order_ids)
    for order_id in order_ids:
        assert actual[order_id] == expected[order_id], order_id
    # And the sample was worth it: orders of several room types, reservations of several rooms, cancellations
    shapes = Counter()
    for e in expected.values():
        shapes["several stays"] += len(e["reservations"]) > 1  # type: ignore[arg-type]
        shapes["several units"] += any(r[3] > 1 for r in e["reservations"])  # type: ignore[attr-defined]
        shapes["cancelled"] += e["status"] == "Cancelled"
    assert min(shapes.values()) >= 10 and len(shapes) == 3, shapes
    # And a second full pull writes none of those rows again
    with engine.connect() as c:
        before = c.execute(text("SELECT count(*), max(xmin::text::bigint) FROM public.reservations")).one()
    again = run_pull(deps, kind="full", trigger="manual")
    assert again.counts["unchanged"] == 300
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*), max(xmin::text::bigint) FROM public.reservations")).one() == before


# -- outbound through the processes ---------------------------------------------------------------------------

def _pushed_order(engine: Engine, simulator: Any, reservation_id: str) -> int | None:
    mapping = mapping_of(engine, reservation_id)
    if mapping is None or mapping.push_token is None:
        return None
    found = orders_with_token(simulator, mapping.push_token)
    return found[0] if found else None


def _line_prices(simulator: Any, order_id: int) -> list[Decimal]:
    with simulator.store.lock:
        return [Decimal(str(r["total_price_tax_excl"])).quantize(CENT)
                for r in simulator.store.table("room_bookings").values() if r["id_order"] == order_id]


@pytest.mark.slow
def test_a_reservation_made_as_its_api_makes_one_reaches_qloapps_once_and_follows_the_front_desk(
    processes, simulator, shop, engine, desk, room_types
):
    procs = processes()
    double, _twin = room_types
    checkin, checkout = stay(30)
    # When the front desk books a room as that PMS's API would (its price per night x 2 nights, 'Direct')
    reservation = desk.reservation(room_type_id=double, checkin=checkin, checkout=checkout, first="Ada",
                                   last="Lovelace", email="ada@example.com")
    with engine.connect() as c:
        price = c.scalar(text("SELECT price_per_night FROM public.room_types WHERE id = :t"), {"t": double})
    # Then one order appears in QloApps, with the guest split back into first and last name, and that amount
    order_id = wait_until(lambda: _pushed_order(engine, simulator, reservation), timeout=30,
                          what=f"the order in QloApps\n{procs.all_logs()}")
    wait_until(lambda: (m := mapping_of(engine, reservation)) is not None and m.qloapps_order_id == order_id,
               timeout=20, what="the create to be recorded")
    assert qlo_lines(simulator, order_id) == pms_lines(engine, shop.id, reservation) == [
        (1, checkin.isoformat(), checkout.isoformat(), 2)]
    assert order_customer(simulator, order_id) == ("Ada", "Lovelace", "ada@example.com")
    assert _line_prices(simulator, order_id) == [(price * 2).quantize(CENT)]

    # When its dates change at the front desk
    moved_in, moved_out = checkin + timedelta(days=5), checkout + timedelta(days=6)
    desk.move(reservation, moved_in, moved_out)
    # Then the same order follows
    wait_until(lambda: qlo_lines(simulator, order_id) == [(1, moved_in.isoformat(), moved_out.isoformat(), 2)],
               timeout=30, what=f"the date change in QloApps\n{procs.all_logs()}")

    # When it is cancelled
    desk.set_status(reservation, "cancelled")
    wait_until(lambda: order_state(simulator, order_id) == STATE_CANCELLED, timeout=30,
               what=f"the cancellation in QloApps\n{procs.all_logs()}")

    # And another one is booked, then deleted (that PMS's delete: deleted_at, status 'Cancelled')
    other = desk.reservation(room_type_id=double, checkin=checkin, checkout=checkout, first="Alan",
                             last="Turing", email="alan@example.com")
    other_order = wait_until(lambda: _pushed_order(engine, simulator, other), timeout=30,
                             what=f"the second order in QloApps\n{procs.all_logs()}")
    desk.delete(other)
    wait_until(lambda: order_state(simulator, other_order) == STATE_CANCELLED, timeout=30,
               what=f"the soft delete's cancellation in QloApps\n{procs.all_logs()}")
    # Then each reservation was created once (one POST each), its changes went to its own order
    assert posts(simulator) == 2 and other_order != order_id
    assert orders_with_token(simulator, mapping_of(engine, reservation).push_token) == [order_id]
    assert dead_letters(engine) == []


# -- the front desk's statuses --------------------------------------------------------------------------------

def _book(client: Any, checkin: Any, rooms: int = 1) -> int:
    request = BookingRequest(
        id_property=1, currency="USD", source="Booking.com",
        customer=CustomerDetail("Cy", "Checkin", "cy.checkin@example.com", "+1 555 010 4040"),
        room_types=(RoomTypeRequest(1, checkin, checkin + timedelta(days=3),
                                    rooms=tuple(RoomRequest(adults=2) for _ in range(rooms))),))
    return int(client.create_booking(request).id)


def test_a_checked_in_reservation_survives_a_pull(simulator, deps, client, engine, shop, session_factory,
                                                  mapped_catalog, desk):
    # Given a booking pulled into that PMS, whose guest the front desk then checks in
    checkin, _ = stay(1, nights=3)
    order_id = _book(client, checkin, rooms=2)
    assert run_pull(deps, kind="full").counts["created"] == 1
    with transaction(session_factory) as session:
        reservation = reservation_of_order(session, order_id, shop.id)
    desk.set_status(reservation, "Checked-in")

    def row() -> Any:
        with engine.connect() as c:
            return c.execute(text("SELECT status, check_in, units_requested, deleted_at FROM public.reservations "
                                  "WHERE id = :r"), {"r": reservation}).one()

    # When QloApps moves the booking a day, and a pull applies it
    simulator.store.clock.advance(1)
    move_booking(client, order_id, 1)
    assert run_pull(deps, kind="full").counts["updated"] == 1
    # Then the stay moved and the guest is still checked in
    assert tuple(row()) == ("Checked-in", checkin + timedelta(days=1), 2, None)
    # And when QloApps cancels the booking, a pull leaves the checked-in guest's reservation as it is
    simulator.store.clock.advance(1)
    simulator.store.cancel_booking(order_id)
    report = run_pull(deps, kind="full")
    assert report.status == "succeeded" and report.counts["failed"] == 0
    assert tuple(row()) == ("Checked-in", checkin + timedelta(days=1), 2, None)


# -- two hotels, two shops ------------------------------------------------------------------------------------

def test_two_hotels_with_two_shops_stay_apart(simulator, engine, session_factory, secret_key, settings, desk):
    north_hotel, south_hotel = desk.hotel_id, desk.add_hotel("South hotel")
    with simulated_shops(simulator, engine, session_factory, secret_key, ["north", "south"],
                         [north_hotel, south_hotel]) as shops:
        orders = {}
        for sim_shop, config, deps in shops:
            with transaction(session_factory) as session:
                import_catalog(session, deps.client, config)
            orders[config.id] = sim_shop.store.generate_bookings(25, seed=config.id)
            # The same customer in both shops
            orders[config.id].append(_book(deps.client, stay(20)[0]))
            assert run_pull(deps, kind="full").counts["created"] == 26
        # Then each shop's bookings are in its own hotel: every row of their reservations, guests and links
        for (_sim, config, _deps), hotel in zip(shops, (north_hotel, south_hotel), strict=True):
            actual = _actual(engine, config.id)
            assert set(actual) == set(orders[config.id])
            assert {h for a in actual.values() for h in a["hotels"]} == {hotel}  # type: ignore[attr-defined]
        with engine.connect() as c:
            cys = c.execute(text("SELECT hotel_id::text FROM public.guests WHERE email = 'cy.checkin@example.com'"
                                 " ORDER BY hotel_id")).scalars().all()
            room_types = dict(c.execute(text("SELECT hotel_id::text, count(*) FROM public.room_types "
                                             "GROUP BY hotel_id")).all())
        assert sorted(cys) == sorted([north_hotel, south_hotel])  # a guest of each hotel, not one shared
        assert room_types == {north_hotel: 4, south_hotel: 4}

        # And a reservation the south front desk makes reaches the south shop only
        (north, north_config, _), (south, south_config, _) = shops
        south_std = _room_type_map(engine, south_config.id)[1]
        checkin, checkout = stay(45)
        walk_in = desk.at(south_hotel).reservation(room_type_id=south_std, checkin=checkin, checkout=checkout,
                                                   first="Sol", last="South", email="sol@example.com")
        [pushed] = push(Runtime(settings, engine, session_factory), walk_in)
        assert pushed.action == "created"

        def qlosync_orders(sim_shop: Any) -> list[int]:
            return sorted(i for i, o in sim_shop.store.table("orders").items() if "[qlosync:" in str(o["source"]))

        assert qlosync_orders(south) == [pushed.qloapps_order_id] and qlosync_orders(north) == []
