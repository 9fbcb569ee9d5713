"""A PMS reservation's life pushed to QloApps: create, modify (dates, room type, guest, an added room),
cancel; every change made at the PMS's front desk (tests/pms_desk.py) so that its change capture sees it.
Real PostgreSQL, the simulator over HTTP, ``push_reservation`` and ``run_pull`` called directly (no broker)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from qlosync.sync.inbound.pull import run_pull
from qlosync.sync.outbound.push import cancel_deleted, push_reservation
from tests.outbound_fixtures import (
    front_desk_reservation,
    pending_reservations,
    pms_room,
    pms_room_type,
    pms_state,
    stay,
    unsent_changes,
)
from tests.pms_desk import desk_for


def _pms_type(engine: Engine, shop, qloapps_room_type: int) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return pms_room_type(session, shop.id, qloapps_room_type)


def _day(value: str) -> date:
    return date.fromisoformat(str(value)[:10])


def _qlosync_orders(simulator) -> list[dict]:  # type: ignore[no-untyped-def]
    return [o for o in simulator.store.table("orders").values() if "[qlosync:" in str(o["source"])]


def _sim_lines(simulator, order_id: int) -> list[tuple[int, date, date, int, int]]:  # type: ignore[no-untyped-def]
    """The simulator's own room lines of an order: (room type, from, to, adults, children)."""
    return sorted((int(r["id_product"]), _day(r["date_from"]), _day(r["date_to"]), int(r["adults"]), int(r["children"]))
                  for r in simulator.store.table("room_bookings").values() if r["id_order"] == order_id)


def _sim_line_ids(simulator, order_id: int) -> set[int]:  # type: ignore[no-untyped-def]
    return {rid for rid, r in simulator.store.table("room_bookings").items() if r["id_order"] == order_id}


def _qloapps_types(engine: Engine, shop) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return {pms: qlo for pms, qlo in c.execute(text(
            "SELECT pms_room_type_id, qloapps_room_type_id FROM qloapps_room_type_mappings WHERE config_id = :c"),
            {"c": shop.id})}


def _pms_lines(engine: Engine, shop, reservation_id: str) -> list[tuple[int, date, date, int, int]]:  # type: ignore[no-untyped-def]
    """The PMS lines, read through the port, with their room type translated through the room-type mappings."""
    state = pms_state(engine, shop, reservation_id)
    assert state is not None
    types = _qloapps_types(engine, shop)
    assert all(line.room_type_id in types for line in state.lines), "every PMS line has a mapped room type"
    return sorted((types[line.room_type_id], line.checkin, line.checkout, line.adults, line.children)
                  for line in state.lines)


def _captured(engine: Engine, reservation_id: str, unsent_before: int) -> bool:
    """The PMS captured a change of the reservation since the backlog held *unsent_before* changes."""
    return unsent_changes(engine) > unsent_before and reservation_id in pending_reservations(engine)


def _mapping(engine: Engine, reservation_id: str):  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return c.execute(text("SELECT id, qloapps_order_id, push_error, pms_hash, qloapps_hash "
                              "FROM qloapps_reservation_mappings WHERE pms_reservation_id = :r"),
                         {"r": reservation_id}).one()


def _line_mappings(engine: Engine, shop, reservation_id: str) -> set[int]:  # type: ignore[no-untyped-def]
    state = pms_state(engine, shop, reservation_id)
    assert state is not None
    with engine.connect() as c:
        return set(c.execute(text(
            "SELECT qloapps_room_booking_id FROM qloapps_room_line_mappings WHERE pms_reservation_line_id = ANY(:l)"),
            {"l": [line.id for line in state.lines]}).scalars())


def test_a_reservation_lives_through_create_modify_and_cancel_and_qloapps_follows_each_step(
    simulator, push_deps, deps, engine, shop
):
    general, delux, executive = (_pms_type(engine, shop, qlo) for qlo in (1, 2, 3))
    checkin, checkout = stay(40, nights=3)

    # Given a reservation the front desk wrote by plain SQL: one adult (QloApps would default to 2, B13), a price
    reservation = front_desk_reservation(engine, room_type_id=general, checkin=checkin, checkout=checkout, first="Walk",
                                  last="In", email="walk.in@example.com", adults=1, price="1800")
    desk = desk_for(engine)
    assert _captured(engine, reservation, 0)
    captured = unsent_changes(engine)

    # When it is pushed
    result = push_reservation(push_deps, reservation)

    # Then QloApps has exactly one order for it, as the PMS says
    assert result.action == "created" and result.qloapps_order_id is not None
    order_id = result.qloapps_order_id
    orders = _qlosync_orders(simulator)
    assert [o["id"] for o in orders] == [order_id]
    order = orders[0]
    # The PMS's own source ("Front desk", "Direct"...) with the push token after it
    state = pms_state(engine, shop, reservation)
    assert state is not None and state.source and order["source"].startswith(f"{state.source} [qlosync:")
    assert order["current_state"] == 2  # confirmed: payment received (B20)
    line = next(r for r in simulator.store.table("room_bookings").values() if r["id_order"] == order_id)
    assert (int(line["id_product"]), _day(line["date_from"]), _day(line["date_to"])) == (1, checkin, checkout)
    assert int(line["adults"]) == 1  # sent as "adult" (B13)
    assert Decimal(str(line["total_price_tax_excl"])) == Decimal("1800")
    customer = simulator.store.table("customers")[order["id_customer"]]
    assert (customer["firstname"], customer["lastname"], customer["email"]) == ("Walk", "In", "walk.in@example.com")
    mapping = _mapping(engine, reservation)
    assert mapping.qloapps_order_id == order_id and mapping.push_error is None
    assert _line_mappings(engine, shop, reservation) == _sim_line_ids(simulator, order_id)
    # And the push itself wrote nothing the change capture would see
    assert unsent_changes(engine) == captured

    # When the stay moves by plain SQL and is pushed
    moved_in, moved_out = checkin + timedelta(days=7), checkout + timedelta(days=8)
    old_line_ids = _sim_line_ids(simulator, order_id)
    desk.move(reservation, moved_in, moved_out)
    assert _captured(engine, reservation, captured)
    assert push_reservation(push_deps, reservation).action == "updated"

    # Then QloApps has the new dates on a new room line (B24), and the line mapping follows it
    assert _sim_lines(simulator, order_id) == _pms_lines(engine, shop, reservation) == [(1, moved_in, moved_out, 1, 0)]
    new_line_ids = _sim_line_ids(simulator, order_id)
    assert new_line_ids.isdisjoint(old_line_ids)
    assert _line_mappings(engine, shop, reservation) == new_line_ids

    # When the room type changes
    desk.update_lines(reservation, room_type_id=delux)
    assert push_reservation(push_deps, reservation).action == "updated"
    # Then the line is a Delux Room now
    assert _sim_lines(simulator, order_id) == _pms_lines(engine, shop, reservation) == [(2, moved_in, moved_out, 1, 0)]
    assert _line_mappings(engine, shop, reservation) == _sim_line_ids(simulator, order_id)

    # When the guest's last name is corrected (the guest row, not the reservation)
    captured = unsent_changes(engine)
    desk.update_guest(reservation, last_name="Inman")
    assert _captured(engine, reservation, captured)  # a guest change pushes the guest's reservations
    assert push_reservation(push_deps, reservation).action == "updated"
    # Then the customer qlosync created is renamed, and the order still belongs to it
    order = simulator.store.table("orders")[order_id]
    customer = simulator.store.table("customers")[order["id_customer"]]
    assert (customer["firstname"], customer["lastname"], customer["email"]) == ("Walk", "Inman", "walk.in@example.com")
    assert sum(1 for c in simulator.store.table("customers").values() if c["email"] == "walk.in@example.com") == 1

    # When a second room is added
    second_in, second_out = stay(50, nights=2)
    desk.add_line(reservation, room_type_id=executive, checkin=second_in, checkout=second_out, adults=2)
    kept_line_ids = _sim_line_ids(simulator, order_id)
    assert push_reservation(push_deps, reservation).action == "updated"
    # Then the order has two room lines matching the PMS line by line, the first one kept (B24: adding keeps lines)
    assert _sim_lines(simulator, order_id) == _pms_lines(engine, shop, reservation) == [
        (2, moved_in, moved_out, 1, 0), (3, second_in, second_out, 2, 0)]
    assert kept_line_ids < _sim_line_ids(simulator, order_id)
    assert _line_mappings(engine, shop, reservation) == _sim_line_ids(simulator, order_id)

    # When the reservation is cancelled at the front desk
    captured = unsent_changes(engine)
    desk.set_status(reservation, "cancelled")
    assert _captured(engine, reservation, captured)
    assert push_reservation(push_deps, reservation).action == "cancelled"
    # Then the order is cancelled (state 4), still one order for the reservation
    assert simulator.store.table("orders")[order_id]["current_state"] == 4
    assert [o["id"] for o in _qlosync_orders(simulator)] == [order_id]

    # And a full pull afterwards changes nothing in the PMS: both sides agree
    before = desk.write_fingerprint()
    unsent_before = unsent_changes(engine)
    report = run_pull(deps, kind="full", trigger="manual")
    assert report.status == "succeeded"
    assert report.counts["created"] == report.counts["updated"] == 0
    assert desk.write_fingerprint() == before
    assert unsent_changes(engine) == unsent_before
    state = pms_state(engine, shop, reservation)
    assert state is not None and state.status == "cancelled"

    # And a second push finds nothing to do and sends nothing
    again = push_reservation(push_deps, reservation)
    assert (again.action, again.requests) == ("unchanged", 0)


def test_unchanged_push_sends_nothing_and_an_update_that_changes_nothing_makes_no_outbox_row(
    simulator, push_deps, engine, shop
):
    reservation = front_desk_reservation(engine, room_type_id=_pms_type(engine, shop, 2), checkin=stay(20)[0],
                                  checkout=stay(20)[1])
    assert push_reservation(push_deps, reservation).action == "created"
    unsent = unsent_changes(engine)
    requests = sum(simulator.request_counts.values())
    # When a host rewrites the reservation with its own values (only updated_at would change)
    desk_for(engine).touch(reservation)
    # Then the change capture sees nothing, and a push makes no request
    assert unsent_changes(engine) == unsent
    result = push_reservation(push_deps, reservation)
    assert (result.action, result.requests) == ("unchanged", 0)
    assert sum(simulator.request_counts.values()) == requests


def test_inbound_writes_create_no_outbox_rows_but_a_plain_sql_update_does(
    simulator, push_deps, deps, engine, shop, client
):
    # Given bookings made on the website
    order_ids = simulator.store.generate_bookings(6, seed=21)
    live = next(o for o in order_ids if simulator.store.table("orders")[o]["current_state"] not in (4, 5))
    pending_before = pending_reservations(engine)

    # When a pull imports them into the PMS
    report = run_pull(deps, kind="full", trigger="manual")
    assert report.status == "succeeded" and report.counts["created"] == len(order_ids)

    # Then the inbound writes queued no push of a reservation (no echo; a PMS may still queue availability
    # for the nights they take, as the hotelmanangement PMS's capture does)
    assert pending_reservations(engine) == pending_before
    outbox_before = unsent_changes(engine)
    with engine.connect() as c:
        reservation = c.execute(text("SELECT pms_reservation_id FROM qloapps_reservation_mappings "
                                     "WHERE qloapps_order_id = :o"), {"o": live}).scalar_one()
    # And pushing an imported reservation sends nothing: the pull stored the PMS-side hash
    result = push_reservation(push_deps, reservation)
    assert (result.action, result.requests) == ("unchanged", 0)

    # When the front desk changes that reservation
    desk_for(engine).set_status(reservation, "cancelled")
    # Then exactly that change is captured (a row per PMS row it changed: an order of two room types is two
    # reservations of the hotelmanangement PMS, one change of the port's reservation)
    assert set(pending_reservations(engine)) == {reservation}
    assert unsent_changes(engine) > outbox_before
    # And the push carries it to QloApps
    assert push_reservation(push_deps, reservation).action == "cancelled"
    assert simulator.store.table("orders")[live]["current_state"] == 4


def test_a_pinned_room_a_removed_room_an_occupancy_change_and_a_refund(simulator, push_deps, engine, shop):
    general, executive = _pms_type(engine, shop, 1), _pms_type(engine, shop, 3)
    with Session(engine) as session:
        room_gr103 = pms_room(session, shop.id, 3)
    checkin, checkout = stay(70)
    # Given a reservation of two rooms, the General Room pinned to GR-103 by the front desk
    reservation = front_desk_reservation(engine, room_type_id=general, checkin=checkin, checkout=checkout)
    desk = desk_for(engine)
    desk.update_lines(reservation, room_id=room_gr103)
    desk.add_line(reservation, room_type_id=executive, checkin=checkin, checkout=checkout, adults=1)
    order_id = push_reservation(push_deps, reservation).qloapps_order_id
    assert order_id is not None
    # Then QloApps gave the pinned room
    rooms = {int(r["id_product"]): int(r["id_room"]) for r in simulator.store.table("room_bookings").values()
             if r["id_order"] == order_id}
    assert rooms[1] == 3
    assert _sim_lines(simulator, order_id) == _pms_lines(engine, shop, reservation)

    # When the Executive Room is removed at the front desk
    desk.remove_lines(reservation, executive)
    assert push_reservation(push_deps, reservation).action == "updated"
    # Then QloApps dropped that line (a PUT lists every room, B23) and kept the pinned one
    assert _sim_lines(simulator, order_id) == _pms_lines(engine, shop, reservation) == [(1, checkin, checkout, 2, 0)]
    assert [int(r["id_room"]) for r in simulator.store.table("room_bookings").values()
            if r["id_order"] == order_id] == [3]

    # When only the occupancy changes, which QloApps ignores on an existing room (B25)
    desk.update_lines(reservation, adults=1)
    assert push_reservation(push_deps, reservation).action == "updated"
    # Then the difference is logged rather than dropped silently
    assert _sim_lines(simulator, order_id) == [(1, checkin, checkout, 2, 0)]
    with engine.connect() as c:
        warnings = c.execute(text("SELECT level, entity_id FROM qloapps_sync_logs "
                                  "WHERE action = 'occupancy_not_applied'")).all()
    assert [tuple(w) for w in warnings] == [("warning", str(order_id))]
    assert push_reservation(push_deps, reservation).action == "unchanged"

    # When the reservation is refunded at the front desk
    captured = unsent_changes(engine)
    desk.set_status(reservation, "refunded")
    assert _captured(engine, reservation, captured)
    assert push_reservation(push_deps, reservation).action == "cancelled"
    # Then the order is refunded (state 5)
    assert simulator.store.table("orders")[order_id]["current_state"] == 5


def test_a_reservation_deleted_by_sql_cancels_its_qloapps_booking(simulator, push_deps, engine, shop):
    reservation = front_desk_reservation(engine, room_type_id=_pms_type(engine, shop, 4), checkin=stay(80)[0],
                                  checkout=stay(80)[1])
    order_id = push_reservation(push_deps, reservation).qloapps_order_id
    mapping_id = _mapping(engine, reservation).id
    # When the host deletes the reservation
    desk = desk_for(engine)
    desk.delete(reservation)
    change = pending_reservations(engine)[reservation]  # captured
    if desk.soft_delete:
        # Then (a PMS that keeps a deleted reservation) it reads as cancelled, and its push cancels the booking
        state = pms_state(engine, shop, reservation)
        assert state is not None and state.closed
        assert push_reservation(push_deps, reservation).action == "cancelled"
        assert simulator.store.table("orders")[order_id]["current_state"] == 4
        assert push_reservation(push_deps, reservation).requests == 0
    else:
        # Then the captured change keeps the mapping ids the cancel needs (the built-in's outbox row itself:
        # tests/integration/test_outbox_relay.py)
        assert change.mapping_ids == [mapping_id]
        assert pms_state(engine, shop, reservation) is None
        # And cancelling by those ids cancels the QloApps booking, once
        assert [r.qloapps_order_id for r in cancel_deleted(push_deps, change.mapping_ids)] == [order_id]
        assert simulator.store.table("orders")[order_id]["current_state"] == 4
        cancel_deleted(push_deps, change.mapping_ids)
    assert simulator.request_counts["PUT /api/bookings"] == 1  # the second call saw it cancelled already
