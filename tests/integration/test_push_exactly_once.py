"""A create whose outcome is unknown (500 after commit, a read timeout) is never sent twice: the next push
finds the order by the token committed before the POST and adopts it; a create QloApps refused (400)
is simply sent again. The simulator's faults reproduce each failure over real HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from qlosync.errors import TransientError
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.errors import QloAppsOutcomeUnknown, QloAppsTimeout
from qlosync.sync.outbound.mapper import PushRejected
from qlosync.sync.inbound.pull import run_pull
from qlosync.sync.create_once import CreatePending
from qlosync.sync.outbound.push import PushDeps, PushOptions, push_reservation
from qlosync.sync.push_token import token_in
from tests.outbound_fixtures import front_desk_reservation, pms_room_type, pms_state, stay
from tests.pms_desk import desk_for
from tests.runtime_support import wait_until

BOOKINGS = "/api/bookings"


def _pms_type(engine: Engine, shop, qloapps_room_type: int) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return pms_room_type(session, shop.id, qloapps_room_type)


def _mapping(engine: Engine, reservation_id: str):  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return c.execute(text("SELECT qloapps_order_id, push_token, push_attempted_at, push_error "
                              "FROM qloapps_reservation_mappings WHERE pms_reservation_id = :r"),
                         {"r": reservation_id}).one()


def _orders_with(simulator, token: str) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(o["id"] for o in simulator.store.table("orders").values() if token_in(o["source"]) == token)


def _reservations(engine: Engine) -> int:
    return len(desk_for(engine).reservation_ids())


@pytest.fixture
def reservation(engine, shop, mapped_catalog) -> str:  # type: ignore[no-untyped-def]
    checkin, checkout = stay(25)
    return front_desk_reservation(engine, room_type_id=_pms_type(engine, shop, 2), checkin=checkin, checkout=checkout,
                           first="Once", last="Only", email="once.only@example.com")


@pytest.fixture
def impatient_deps(engine, shop, mapped_catalog) -> Iterator[PushDeps]:  # type: ignore[no-untyped-def]
    """Push dependencies whose client gives up reading after one second; creates settle for 20 s."""
    with QloAppsClient(shop.base_url, shop.api_key, read_timeout=1.0) as client:
        yield PushDeps(engine=engine, client=client, shop=shop,
                       options=PushOptions(lock_timeout_s=5, settle_after=timedelta(seconds=20)))


def test_a_500_after_the_order_was_created_is_adopted_by_the_next_push_not_created_again(
    simulator, push_deps, engine, reservation
):
    # Given QloApps will create the order and then answer 500 (B21, capture 054)
    simulator.faults.add("error_after_commit", count=1, method="POST", path=BOOKINGS)

    # When the reservation is pushed
    with pytest.raises(TransientError) as failed:
        push_reservation(push_deps, reservation)

    # Then the push does not know what happened, but QloApps has the order, carrying the committed token
    assert isinstance(failed.value, QloAppsOutcomeUnknown)
    intent = _mapping(engine, reservation)
    assert intent.qloapps_order_id is None and intent.push_token and intent.push_attempted_at is not None
    created = _orders_with(simulator, intent.push_token)
    assert len(created) == 1 and len(simulator.store.table("orders")) == 1

    # When the push is retried
    result = push_reservation(push_deps, reservation)

    # Then it adopts that order instead of creating a second one
    assert (result.action, result.qloapps_order_id) == ("adopted", created[0])
    assert len(simulator.store.table("orders")) == 1
    assert _mapping(engine, reservation).qloapps_order_id == created[0]
    # And from then on there is nothing to do
    again = push_reservation(push_deps, reservation)
    assert (again.action, again.requests) == ("unchanged", 0)


def test_a_pull_that_sees_the_unrecorded_order_first_links_it_and_imports_nothing(
    simulator, push_deps, deps, engine, reservation
):
    # Given a create whose answer was lost after QloApps committed it
    simulator.faults.add("error_after_commit", count=1, method="POST", path=BOOKINGS)
    with pytest.raises(QloAppsOutcomeUnknown):
        push_reservation(push_deps, reservation)
    order_id = _orders_with(simulator, _mapping(engine, reservation).push_token)[0]
    reservations = _reservations(engine)

    # When a pull reads QloApps before the push is retried
    report = run_pull(deps, kind="full", trigger="manual")

    # Then it links the order to the reservation instead of importing it as a new one
    assert report.status == "succeeded" and report.counts["created"] == 0
    assert _reservations(engine) == reservations
    assert _mapping(engine, reservation).qloapps_order_id == order_id
    # And the retried push updates that order: still one order
    assert push_reservation(push_deps, reservation).qloapps_order_id == order_id
    assert list(simulator.store.table("orders")) == [order_id]


def test_a_timed_out_create_waits_to_settle_and_then_adopts_the_order_qloapps_made_late(
    simulator, impatient_deps, engine, reservation
):
    # Given QloApps takes longer to create the order than the client waits
    simulator.faults.add("timeout", count=1, method="POST", path=BOOKINGS, delay_s=2.5)

    # When the reservation is pushed
    with pytest.raises(QloAppsOutcomeUnknown) as failed:
        push_reservation(impatient_deps, reservation)
    assert isinstance(failed.value.cause, QloAppsTimeout)
    token = _mapping(engine, reservation).push_token

    # Then a retry while QloApps is still working neither creates nor gives up: it waits for the outcome
    with pytest.raises(CreatePending):
        push_reservation(impatient_deps, reservation)
    assert _mapping(engine, reservation).qloapps_order_id is None

    # When QloApps has committed the slow create and the push is retried
    created = wait_until(lambda: _orders_with(simulator, token), timeout=10, what="the slow create to commit")
    result = push_reservation(impatient_deps, reservation)

    # Then the late order is adopted: exactly one order
    assert (result.action, result.qloapps_order_id) == ("adopted", created[0])
    assert len(simulator.store.table("orders")) == 1


@pytest.mark.parametrize("kind", ["http_500", "fatal_html"])
def test_a_failed_create_that_left_no_order_is_sent_again_only_after_the_settle_window(
    kind, simulator, push_deps, engine, reservation
):
    # Given QloApps fails the create before writing anything (an empty 500, a 200 "Fatal error")
    simulator.faults.add(kind, count=1, method="POST", path=BOOKINGS)
    with pytest.raises(QloAppsOutcomeUnknown):
        push_reservation(push_deps, reservation)
    token = _mapping(engine, reservation).push_token
    assert not simulator.store.table("orders")

    # When the push is retried within the settle window
    with pytest.raises(CreatePending):
        push_reservation(push_deps, reservation)
    assert not simulator.store.table("orders")

    # And again once the window has passed (the attempt is a minute older than the window)
    with engine.begin() as c:
        c.execute(text("UPDATE qloapps_reservation_mappings SET push_attempted_at = push_attempted_at - :age "
                       "WHERE pms_reservation_id = :r"),
                  {"age": push_deps.options.settle_after + timedelta(minutes=1), "r": reservation})
    result = push_reservation(push_deps, reservation)

    # Then the create is sent again, with the same token, and there is one order
    assert result.action == "created"
    assert _orders_with(simulator, token) == [result.qloapps_order_id]
    assert len(simulator.store.table("orders")) == 1


def test_a_create_qloapps_refused_is_sent_again_at_once(simulator, push_deps, engine, shop):
    # Given all five General Rooms are taken for the stay
    general = _pms_type(engine, shop, 1)
    checkin, checkout = stay(35)
    taken = []
    for n in range(5):
        earlier = front_desk_reservation(engine, room_type_id=general, checkin=checkin, checkout=checkout,
                                  first="Early", last="Bird", email=f"early{n}@example.com")
        taken.append(push_reservation(push_deps, earlier).qloapps_order_id)
    late = front_desk_reservation(engine, room_type_id=general, checkin=checkin, checkout=checkout, first="Late",
                           last="Comer", email="late@example.com")

    # When a sixth reservation is pushed, QloApps answers 400 "Requested room(s) not available."
    with pytest.raises(PushRejected, match=r"Requested room\(s\) not available"):
        push_reservation(push_deps, late)
    # Then nothing was created, so the attempt is not left to settle (the token may be reused)
    refused = _mapping(engine, late)
    assert refused.push_attempted_at is None and refused.push_token is not None
    assert len(simulator.store.table("orders")) == 5

    # When a website guest cancels one of the rooms and the reservation is pushed again right away
    simulator.store.cancel_booking(taken[0])
    result = push_reservation(push_deps, late)

    # Then it is created now, without waiting out the settle window
    assert push_deps.options.settle_after >= timedelta(seconds=60)
    assert result.action == "created"
    assert _orders_with(simulator, refused.push_token) == [result.qloapps_order_id]
    assert len(simulator.store.table("orders")) == 6


@pytest.mark.parametrize("strategy", ["qloapps_wins", "manual", "pms_wins"])
def test_an_update_whose_answer_was_lost_is_not_applied_twice_and_both_sides_agree(
    simulator, push_deps, deps, engine, shop, reservation, strategy
):
    # Given a shop with this conflict strategy (a lost answer must not look like a website change to any)
    push_deps = dataclasses.replace(push_deps, shop=dataclasses.replace(shop, conflict_strategy=strategy))
    # And a pushed reservation whose stay then moves in the PMS
    order_id = push_reservation(push_deps, reservation).qloapps_order_id
    simulator.store.clock.advance(1)  # the update lands in a later second than the create (date_upd resolution)
    desk_for(engine).shift_lines(reservation, checkin_days=2, checkout_days=2)
    moved = pms_state(engine, shop, reservation)
    assert moved is not None and len(moved.lines) == 1
    checkin, checkout = moved.lines[0].checkin, moved.lines[0].checkout
    # And QloApps applies the PUT but the answer is lost
    simulator.faults.add("error_after_commit", count=1, method="PUT", path=BOOKINGS)
    with pytest.raises(QloAppsOutcomeUnknown):
        push_reservation(push_deps, reservation)
    stays = [(r["date_from"][:10], r["date_to"][:10]) for r in simulator.store.table("room_bookings").values()
             if r["id_order"] == order_id]
    assert stays == [(checkin.isoformat(), checkout.isoformat())]

    # When the push is retried
    retried = push_reservation(push_deps, reservation)

    # Then QloApps still has one order with one room line, the PMS keeps the new stay, and all is settled
    assert list(simulator.store.table("orders")) == [order_id]
    lines = [r for r in simulator.store.table("room_bookings").values() if r["id_order"] == order_id]
    assert [(r["date_from"][:10], r["date_to"][:10]) for r in lines] == [(checkin.isoformat(), checkout.isoformat())]
    kept = pms_state(engine, shop, reservation)
    assert kept is not None and [(line.checkin, line.checkout) for line in kept.lines] == [(checkin, checkout)]
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM qloapps_conflicts")).scalar_one() == 0
    assert retried.action == "updated"  # recognised as its own earlier write: neither a conflict nor a pull
    again = push_reservation(push_deps, reservation)
    assert (again.action, again.requests) == ("unchanged", 0)
    assert run_pull(deps, kind="full", trigger="manual").counts["unchanged"] == 1
