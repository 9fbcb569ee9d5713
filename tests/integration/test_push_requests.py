"""How many QloApps requests each kind of push makes, and that the ones it no longer makes were redundant.

The read-back after a write takes the customer, and the room lines when it shows all of them, from the write's
own answer (``read_back`` in qlosync/sync/outbound/read_back.py) instead of GETs of /api/customers and
/api/room_bookings: each test checks that what the push
recorded is exactly what a full, fresh read of the order (order, room lines, customer) gives, so the next
pull and the next push find nothing to do, also after a crash and duplicate deliveries. Real PostgreSQL,
the simulator over HTTP, ``push_reservation`` called directly (no broker).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from qlosync.errors import TransientError
from qlosync.sync.inbound.mapper import content_hash, map_snapshot
from qlosync.sync.inbound.pull import run_pull
from qlosync.sync.outbound.push import PushDeps, push_reservation
from qlosync.sync.push_token import token_in
from tests.outbound_fixtures import front_desk_reservation, pms_room_type, stay
from tests.pms_desk import desk_for

CURRENCIES = "GET /api/currencies"  # cached per shop and process (qlosync/sync/currencies.py): not per push


def _requests(simulator) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter({k: v for k, v in simulator.request_counts.items() if k != CURRENCIES})


def _sent(simulator, before: Counter[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {k: v for k, v in (_requests(simulator) - before).items() if v}


def _general(engine: Engine, shop) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return pms_room_type(session, shop.id, 1)


def _recorded(engine: Engine, reservation_id: str):  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return c.execute(text("SELECT qloapps_order_id, qloapps_hash, qloapps_date_upd, push_token "
                              "FROM qloapps_reservation_mappings WHERE pms_reservation_id = :r"),
                         {"r": reservation_id}).one()


def _customer_mappings(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as c:
        return [(int(a), str(b)) for a, b in c.execute(text(
            "SELECT qloapps_customer_id, pms_guest_id FROM qloapps_customer_mappings ORDER BY id"))]


def _alter_answers(monkeypatch, client, method: str, alter) -> None:  # type: ignore[no-untyped-def]
    """The client's *method* sends its request as before; the push gets QloApps' answer changed by *alter*."""
    real = getattr(client, method)
    monkeypatch.setattr(client, method, lambda request: alter(real(request)))


def _assert_recorded_as_a_full_read(push_deps: PushDeps, engine: Engine, reservation_id: str) -> int:
    """The mapping holds the hash and date_upd of the order as a full read (order, lines, customer) sees it now."""
    mapping = _recorded(engine, reservation_id)
    assert mapping.qloapps_order_id is not None
    client = push_deps.client
    snapshot = client.snapshots_for(client.get_orders([mapping.qloapps_order_id]))[0]
    assert snapshot.customer is not None
    assert mapping.qloapps_hash == content_hash(map_snapshot(snapshot, push_deps.currencies()))
    assert mapping.qloapps_date_upd == snapshot.order.date_upd
    return int(mapping.qloapps_order_id)


def test_each_kind_of_push_makes_only_the_requests_it_needs_and_records_what_a_full_read_shows(
    simulator, push_deps, deps, engine, shop
):
    checkin, checkout = stay(30)
    reservation = front_desk_reservation(engine, room_type_id=_general(engine, shop), checkin=checkin,
                                         checkout=checkout, first="Count", last="Me", email="count.me@example.com")
    desk = desk_for(engine)
    push_deps.currencies().get(1)  # the shop's currencies, cached once (not part of any push)

    # A new reservation: the e-mail look-up (no customer mapped yet), the POST, the order (its room lines and
    # customer are the answer's: no children, the stays asked for)
    before = _requests(simulator)
    created = push_reservation(push_deps, reservation)
    assert created.action == "created"
    assert _sent(simulator, before) == {"GET /api/customers": 1, "POST /api/bookings": 1, "GET /api/orders": 1}
    order_id = _assert_recorded_as_a_full_read(push_deps, engine, reservation)
    # the customer the answer named is mapped, as the GET used to give it
    customer_id = simulator.store.table("orders")[order_id]["id_customer"]
    assert [c for c, _ in _customer_mappings(engine)] == [customer_id]

    # A date change: the order (did QloApps change?), the PUT (to the customer qlosync created, with the e-mail
    # the create's answer showed: no GET of it), the order (the new room line, B24, comes with the answer)
    desk.move(reservation, checkin + timedelta(days=3), checkout + timedelta(days=3))
    before = _requests(simulator)
    assert push_reservation(push_deps, reservation).action == "updated"
    assert _sent(simulator, before) == {"GET /api/orders": 2, "PUT /api/bookings": 1}
    _assert_recorded_as_a_full_read(push_deps, engine, reservation)

    # A guest rename: the PUT renames the customer qlosync created (B17); the answer already shows it
    desk.update_guest(reservation, last_name="Again")
    before = _requests(simulator)
    assert push_reservation(push_deps, reservation).action == "updated"
    assert "GET /api/customers" not in _sent(simulator, before)
    assert simulator.store.table("customers")[customer_id]["lastname"] == "Again"
    _assert_recorded_as_a_full_read(push_deps, engine, reservation)

    # A cancellation: the order, the booking (QloApps' own room list, B26), the PUT, the order (every line of a
    # cancelled order is cancelled, 103/167)
    desk.set_status(reservation, "cancelled")
    before = _requests(simulator)
    assert push_reservation(push_deps, reservation).action == "cancelled"
    assert _sent(simulator, before) == {"GET /api/orders": 2, "GET /api/bookings": 1, "PUT /api/bookings": 1}
    assert simulator.store.table("orders")[order_id]["current_state"] == 4
    _assert_recorded_as_a_full_read(push_deps, engine, reservation)

    # And then a full pull finds nothing to write, and a push nothing to send
    before_pull = desk.write_fingerprint()
    report = run_pull(deps, kind="full", trigger="manual")
    assert report.status == "succeeded" and report.counts["created"] == report.counts["updated"] == 0
    assert desk.write_fingerprint() == before_pull
    again = push_reservation(push_deps, reservation)
    assert (again.action, again.requests) == ("unchanged", 0)


def test_an_answer_naming_another_customer_than_the_order_has_makes_the_read_back_read_the_customer(
    simulator, push_deps, engine, shop, monkeypatch
):
    checkin, checkout = stay(32)
    reservation = front_desk_reservation(engine, room_type_id=_general(engine, shop), checkin=checkin,
                                         checkout=checkout, first="Other", last="Answer", email="other.answer@example.com")
    assert push_reservation(push_deps, reservation).action == "created"
    desk_for(engine).move(reservation, checkin + timedelta(days=1), checkout + timedelta(days=1))

    # Given an answer to the PUT whose customer is not the order's (a customer changed in between, or an
    # answer QloApps filled differently): it must not be taken for the order's customer
    def for_someone_else(answer):  # type: ignore[no-untyped-def]
        detail = dataclasses.replace(answer.customer_detail, id_customer=999_999, lastname="Stranger")
        return dataclasses.replace(answer, customer_detail=detail)

    _alter_answers(monkeypatch, push_deps.client, "update_booking", for_someone_else)
    before = _requests(simulator)
    assert push_reservation(push_deps, reservation).action == "updated"

    # Then the read-back reads the order's customer itself (the PUT needed no look-up: qlosync's own customer)
    assert _sent(simulator, before)["GET /api/customers"] == 1
    _assert_recorded_as_a_full_read(push_deps, engine, reservation)


def test_a_create_whose_answer_was_lost_and_its_duplicate_deliveries_make_one_order_recorded_as_qloapps_has_it(
    simulator, push_deps, deps, engine, shop
):
    checkin, checkout = stay(34)
    reservation = front_desk_reservation(engine, room_type_id=_general(engine, shop), checkin=checkin,
                                         checkout=checkout, first="Twice", last="Sent", email="twice.sent@example.com")
    # Given QloApps creates the order and the worker never learns it (a 500 after the commit, B21; the same
    # as a worker killed right after the POST left)
    simulator.faults.add("error_after_commit", count=1, method="POST", path="/api/bookings")
    with pytest.raises(TransientError):
        push_reservation(push_deps, reservation)
    token = _recorded(engine, reservation).push_token
    assert token and _recorded(engine, reservation).qloapps_order_id is None

    # When the message is delivered again, twice (the redelivery and a duplicate)
    first = push_reservation(push_deps, reservation)
    second = push_reservation(push_deps, reservation)

    # Then the first adopts the order the lost create made and the second sends nothing: one order, one POST
    assert first.action == "adopted" and (second.action, second.requests) == ("unchanged", 0)
    orders = [o["id"] for o in simulator.store.table("orders").values() if token_in(o["source"]) == token]
    assert orders == [first.qloapps_order_id] and simulator.request_counts["POST /api/bookings"] == 1
    # And what the adoption recorded (its customer from the PUT's answer) is what QloApps has
    _assert_recorded_as_a_full_read(push_deps, engine, reservation)
    assert [c for c, _ in _customer_mappings(engine)] == [simulator.store.table("orders")[orders[0]]["id_customer"]]
    report = run_pull(deps, kind="full", trigger="manual")
    assert report.status == "succeeded" and report.counts["created"] == report.counts["updated"] == 0


def test_a_cancellation_qloapps_already_has_reuses_what_the_push_read_and_writes_nothing(
    simulator, push_deps, engine, shop
):
    checkin, checkout = stay(36)
    reservation = front_desk_reservation(engine, room_type_id=_general(engine, shop), checkin=checkin,
                                         checkout=checkout, first="Both", last="Cancel", email="both.cancel@example.com")
    order_id = push_reservation(push_deps, reservation).qloapps_order_id
    assert order_id is not None
    # Given the booking was cancelled on the website, and at the front desk too
    push_deps.client.cancel_booking(order_id)
    desk_for(engine).set_status(reservation, "cancelled")

    # When it is pushed
    before = _requests(simulator)
    push_reservation(push_deps, reservation)

    # Then nothing is written; the order and the snapshot its conflict check read are the read-back
    assert _sent(simulator, before) == {"GET /api/orders": 1, "GET /api/room_bookings": 1, "GET /api/customers": 1}
    assert simulator.store.table("orders")[order_id]["current_state"] == 4
    _assert_recorded_as_a_full_read(push_deps, engine, reservation)


def test_an_answer_with_children_makes_the_read_back_read_the_room_lines(simulator, push_deps, engine, shop,
                                                                         monkeypatch):
    checkin, checkout = stay(34)
    reservation = front_desk_reservation(engine, room_type_id=_general(engine, shop), checkin=checkin,
                                         checkout=checkout, first="Child", last="Ages", email="child.ages@example.com")
    push_deps.currencies().get(1)

    # Given an answer whose room has a child: its ages are not in the answer (B10), so it cannot tell the line
    def with_a_child(answer):  # type: ignore[no-untyped-def]
        room_types = tuple(dataclasses.replace(rt, rooms=tuple(dataclasses.replace(r, child=1) for r in rt.rooms))
                           for rt in answer.room_types)
        return dataclasses.replace(answer, room_types=room_types)

    _alter_answers(monkeypatch, push_deps.client, "create_booking", with_a_child)
    before = _requests(simulator)
    assert push_reservation(push_deps, reservation).action == "created"

    # Then the read-back reads the room lines, and records what QloApps holds (no child), not the answer
    assert _sent(simulator, before)["GET /api/room_bookings"] == 1
    _assert_recorded_as_a_full_read(push_deps, engine, reservation)
