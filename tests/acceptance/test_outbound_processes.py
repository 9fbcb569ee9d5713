"""Outbound sync through the real processes: PMS rows written by plain SQL, the capture triggers, a
`qlosync relay` subprocess, RabbitMQ, a `dramatiq qlosync.actors` worker subprocess and the QloApps
simulator over HTTP.

Every subprocess runs with QLOAPPS_HTTP_READ_TIMEOUT_S=2 (the push's settle window is then 9 s) unless
a test says why not.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from qlosync.qloapps.models import STATE_CANCELLED
from qlosync.qloapps.simulator import Simulator
from tests.acceptance.outbound_support import (
    dead_letters,
    mapping_of,
    order_customer,
    order_state,
    orders_with_token,
    all_changes_published,
    pms_lines,
    posts,
    qlo_cancelled_flags,
    qlo_lines,
    reservation_messages_sent,
    sync_actions,
)
from tests.outbound_fixtures import front_desk_reservation, pending_reservations, stay
from tests.pms_desk import desk_for
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def _pushed_order(engine: Engine, simulator: Simulator, reservation_id: int) -> int | None:
    """The simulator's order carrying the reservation's push token (None while there is none)."""
    mapping = mapping_of(engine, reservation_id)
    if mapping is None or mapping.push_token is None:
        return None
    found = orders_with_token(simulator, mapping.push_token)
    return found[0] if found else None


def _in_sync(engine: Engine, simulator: Simulator, config_id: int, reservation_id: int, order_id: int) -> bool:
    """QloApps shows the PMS reservation's lines and the push recorded the order."""
    mapping = mapping_of(engine, reservation_id)
    return (mapping is not None and mapping.qloapps_order_id == order_id
            and qlo_lines(simulator, order_id) == pms_lines(engine, config_id, reservation_id))


#: Commit -> visible in QloApps. Measured about 0.1-0.3 s; a missed NOTIFY would cost the 30 s poll.
QUICK_S = 2.5


def test_sql_changes_reach_qloapps_through_relay_and_worker(
    processes, simulator, shop, engine: Engine, room_types
):
    # The relay polls only every 30 s here, so a quick arrival can only come from LISTEN/NOTIFY
    procs = processes(relay_args=("--poll-interval", "30"))
    double, twin = room_types
    checkin, checkout = stay(30)
    took: dict[str, float] = {}

    def arrives(step: str, condition, what: str):  # type: ignore[no-untyped-def]
        """Wait for *condition* after a commit just made; record how long it took."""
        started = time.monotonic()
        value = wait_until(condition, timeout=20, interval=0.01, what=what)
        took[step] = time.monotonic() - started
        return value

    # When the front desk inserts a reservation by plain SQL
    reservation = front_desk_reservation(engine, room_type_id=double, checkin=checkin, checkout=checkout, first="Ada",
                                  last="Lovelace", email="ada@example.com")
    # Then the order appears in QloApps about at once (LISTEN wakes the relay; the worker waits on the queue)
    order_id = arrives("create", lambda: _pushed_order(engine, simulator, reservation), "the order in QloApps")
    wait_until(lambda: _in_sync(engine, simulator, shop.id, reservation, order_id), timeout=20, interval=0.05,
               what="the create to be recorded")
    assert qlo_lines(simulator, order_id) == [(1, checkin.isoformat(), checkout.isoformat(), 2)]
    assert order_customer(simulator, order_id) == ("Ada", "Lovelace", "ada@example.com")

    # When the dates move by three days
    desk = desk_for(engine)
    desk.shift_lines(reservation, checkin_days=3, checkout_days=3)
    moved = (checkin + timedelta(days=3)).isoformat(), (checkout + timedelta(days=3)).isoformat()
    arrives("date change", lambda: qlo_lines(simulator, order_id) == [(1, *moved, 2)], "the date change in QloApps")
    wait_until(lambda: _in_sync(engine, simulator, shop.id, reservation, order_id)
               and sync_actions(engine, reservation)[-1:] == ["pushed_updated"], timeout=20, interval=0.05,
               what="the date change to be recorded")

    # When a second room is added
    desk.add_line(reservation, room_type_id=twin, checkin=checkin + timedelta(days=3),
                  checkout=checkout + timedelta(days=4), adults=1)
    arrives("added line", lambda: len(qlo_lines(simulator, order_id)) == 2, "the added line in QloApps")
    wait_until(lambda: _in_sync(engine, simulator, shop.id, reservation, order_id), timeout=20, interval=0.05,
               what="the added line to be recorded")
    assert qlo_lines(simulator, order_id) == sorted(
        [(1, *moved, 2), (2, moved[0], (checkout + timedelta(days=4)).isoformat(), 1)])

    # When the reservation is cancelled
    desk.set_status(reservation, "cancelled")
    arrives("cancellation", lambda: order_state(simulator, order_id) == STATE_CANCELLED
            and qlo_cancelled_flags(simulator, order_id) == [1, 1], "the cancellation in QloApps")
    wait_until(lambda: sync_actions(engine, reservation)[-1:] == ["pushed_cancelled"], timeout=20, interval=0.05,
               what="the cancellation to be recorded")
    print("commit -> visible in QloApps:", ", ".join(f"{k} {v:.3f} s" for k, v in took.items()))

    # Then each change was picked up at once, through the relay's LISTEN, not its 30 s poll
    assert max(took.values()) < QUICK_S, f"{took}\n{procs.all_logs()}"
    # And every captured change was published (the built-in's outbox rows: test_outbox_relay.py); each change
    # went out as its own push, to the same single order
    assert all_changes_published(engine) and pending_reservations(engine) == {}
    assert sync_actions(engine, reservation) == ["pushed_created", "pushed_updated", "pushed_updated",
                                                 "pushed_cancelled"]
    assert orders_with_token(simulator, mapping_of(engine, reservation).push_token) == [order_id]
    assert posts(simulator) == 1
    assert dead_letters(engine) == []
    assert pms_lines(engine, shop.id, reservation) == qlo_lines(simulator, order_id)
    procs.stop()
    relay_log = procs.log("relay.log")
    assert "outbox relay running (poll every 30 s)" in relay_log
    assert "outbox relay stopped: 4 messages for 5 rows, 0 errors" in relay_log, relay_log


def test_worker_killed_between_post_and_commit_adopts_the_order_on_redelivery(
    processes, simulator, shop, engine: Engine, room_types
):
    # A 10 s read timeout: the held read-back must still be waiting when the worker is killed
    procs = processes(read_timeout_s=10)
    # Given QloApps holds the read-back that follows the create (POST /api/bookings, then GET /api/orders)
    simulator.faults.add("hold", count=1, method="GET", path="/api/orders")
    checkin, checkout = stay(40)
    reservation = front_desk_reservation(engine, room_type_id=room_types[0], checkin=checkin, checkout=checkout)

    # When the order exists in QloApps but the worker has not recorded it
    order_id = wait_until(lambda: simulator.faults.held == 1 and _pushed_order(engine, simulator, reservation),
                          timeout=20, interval=0.01, what="the order created and its read-back held")
    assert mapping_of(engine, reservation).qloapps_order_id is None
    # And the worker dies there
    procs.kill_worker()
    simulator.faults.release()
    simulator.faults.clear()
    # And another worker starts
    procs.start_worker()

    # Then the redelivered message finds the order by its token and adopts it: no second create
    wait_until(lambda: _in_sync(engine, simulator, shop.id, reservation, order_id), timeout=30, interval=0.05,
               what="the redelivered push to adopt the order")
    mapping = mapping_of(engine, reservation)
    assert orders_with_token(simulator, mapping.push_token) == [order_id]
    assert mapping.qloapps_order_id == order_id
    assert posts(simulator) == 1
    assert sync_actions(engine, reservation) == ["pushed_adopted"]
    assert dead_letters(engine) == []
    assert "adopting it" in procs.log("worker-2.log"), procs.all_logs()
    # The relay sent the message once: the second worker got RabbitMQ's redelivery of the unacked message
    procs.stop()
    assert reservation_messages_sent(procs) == 1, procs.all_logs()


@pytest.mark.parametrize(("kind", "delay_s"), [("error_after_commit", None), ("timeout", 3.0)])
def test_a_create_with_an_unknown_outcome_ends_as_one_order(
    processes, simulator, shop, engine: Engine, room_types, kind: str, delay_s: float | None
):
    procs = processes()
    # Given QloApps creates the booking but the worker cannot tell (a 500 after the commit, or no answer in 2 s)
    simulator.faults.add(kind, count=1, method="POST", path="/api/bookings", delay_s=delay_s)
    checkin, checkout = stay(50)
    reservation = front_desk_reservation(engine, room_type_id=room_types[1], checkin=checkin, checkout=checkout,
                                  first="Grace", last="Hopper", email="grace@example.com")

    # When the worker's retries run their course
    mapping = wait_until(lambda: (m := mapping_of(engine, reservation)) and m.qloapps_order_id and m,
                         timeout=45, interval=0.05, what="the push to record its order")

    # Then there is exactly one order, recorded, and nothing was dead-lettered
    assert simulator.faults.armed == []
    assert orders_with_token(simulator, mapping.push_token) == [mapping.qloapps_order_id]
    assert posts(simulator) == 1
    assert _in_sync(engine, simulator, shop.id, reservation, mapping.qloapps_order_id)
    assert sync_actions(engine, reservation) == ["pushed_adopted"]
    assert dead_letters(engine) == []
    # (the first attempt failed with an unknown outcome and was retried; the retry found the order by its token)
    log = procs.log("worker-1.log")
    assert "QloAppsOutcomeUnknown" in log and "Retrying message" in log and "adopting it" in log, procs.all_logs()


def test_a_guest_name_qloapps_rejects_is_dead_lettered_once_and_the_next_reservation_still_arrives(
    processes, simulator, shop, engine: Engine, room_types
):
    procs = processes()
    checkin, checkout = stay(60)
    # When a reservation with a name QloApps would answer with a 500 is inserted, and a good one right after
    bad = front_desk_reservation(engine, room_type_id=room_types[0], checkin=checkin, checkout=checkout, first="J0hn",
                          last="Smith", email="j0hn@example.com")
    good = front_desk_reservation(engine, room_type_id=room_types[0], checkin=checkin, checkout=checkout, first="John",
                           last="Smith", email="john@example.com")

    # Then the bad one is dead-lettered at once, without a retry and without a request to create it
    letter = wait_until(lambda: dead_letters(engine), timeout=20, interval=0.05, what="the dead letter")[0]
    order_id = wait_until(lambda: _pushed_order(engine, simulator, good), timeout=20, interval=0.05,
                          what="the good reservation's order")
    wait_until(lambda: _in_sync(engine, simulator, shop.id, good, order_id), timeout=20, interval=0.05,
               what="the good reservation recorded")
    assert (letter.actor_name, letter.queue_name, letter.reason, letter.retries) == (
        "push_reservation", "qloapps.outbound", "permanent", 0)
    assert letter.args == [bad]
    assert letter.error_class.endswith("PushRejected")
    assert "firstname contains digits" in letter.error_message
    bad_mapping = mapping_of(engine, bad)
    assert bad_mapping.push_token is None and bad_mapping.qloapps_order_id is None
    assert "firstname contains digits" in bad_mapping.push_error
    # And only the good reservation was sent: one create, one order
    assert posts(simulator) == 1
    with simulator.store.lock:
        assert list(simulator.store.table("orders")) == [order_id]
    assert len(dead_letters(engine)) == 1
    assert all_changes_published(engine)
    assert "Retrying" not in procs.log("worker-1.log"), procs.all_logs()
    procs.stop()
    assert reservation_messages_sent(procs) == 2, procs.all_logs()
