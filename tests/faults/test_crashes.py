"""Scenarios 1 and 2: processes SIGKILLed at the worst moment, then restarted.

1. An inbound worker killed in the middle of a full import of 2,000 bookings.
2. An outbound worker, and (separately) the relay, killed between the QloApps POST and its commit.
   `tests/acceptance/test_outbound_processes.py` already covers the worker killed while the read-back
   after the POST is held (`test_worker_killed_between_post_and_commit_adopts_the_order_on_redelivery`)
   and an unknown outcome (500 after commit, timeout). What is left, and covered here: the worker killed
   while the POST itself is held (QloApps commits only after the kill), with a burst around it; and the
   relay killed after RabbitMQ has its message but before it marks the outbox row sent (its republish
   after restart is a duplicate message).
"""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import Engine, text

from qlosync.db.session import transaction
from tests.acceptance.outbound_support import mapping_of, orders_with_token, posts
from tests.faults.support import (
    BIN, INBOUND, OUTBOUND, RELAY_CMD, Fleet, assert_in_agreement, consumers, scalar, vhost_of, worker_cmd,
)
from tests.outbound_fixtures import front_desk_reservation, pms_room_type, stay, unsent_changes
from tests.pms_desk import desk_for
from tests.runtime_support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]

BOOKINGS = 2_000


def _reservations(engine: Engine) -> int:
    return len(desk_for(engine).reservation_ids())


def test_inbound_worker_killed_mid_import_of_2000_bookings(
    fleet, simulator, shop, engine, session_factory, private_rabbit, amqp_url
):
    simulator.store.generate_bookings(BOOKINGS, seed=12)
    # Slow QloApps a little, so the kill lands mid-import whatever the machine's speed
    simulator.faults.add("latency", count=None, path="/api/room_bookings", delay_s=0.2)
    vhost = vhost_of(amqp_url)
    fleet.start("inbound-1", worker_cmd(INBOUND))
    wait_until(lambda: fleet.check_alive() or consumers(private_rabbit, vhost, INBOUND) > 0, timeout=30,
               interval=0.2, what="an inbound consumer")
    result = subprocess.run([str(BIN / "qlosync"), "sync", "--full"], env=fleet.env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr

    # When the worker is SIGKILLed after some pages committed, well before the end
    wait_until(lambda: fleet.check_alive() or _reservations(engine) >= 300, timeout=90, interval=0.05,
               what="some committed pages")
    fleet.kill("inbound-1")
    at_kill = _reservations(engine)
    assert at_kill < BOOKINGS
    simulator.faults.clear()
    # And a new worker starts
    fleet.start("inbound-2", worker_cmd(INBOUND))

    def run_statuses() -> list[str]:
        with engine.connect() as c:
            return list(c.scalars(text("SELECT status FROM qloapps_sync_state ORDER BY id")))

    wait_until(lambda: fleet.check_alive() or "succeeded" in run_statuses(), timeout=150, interval=0.5,
               what="the redelivered pull to finish")

    # Then the import completed: every booking exactly once, as QloApps has it, nothing stuck
    assert_in_agreement(engine, session_factory, simulator, shop.id, private_rabbit, amqp_url, logs=fleet.all_logs())
    assert _reservations(engine) == BOOKINGS
    assert run_statuses() == ["failed", "succeeded"]
    with engine.connect() as c:
        done = c.execute(text("SELECT created, unchanged, failed FROM qloapps_sync_state WHERE status = 'succeeded'")).one()
    assert done.created == BOOKINGS - at_kill and done.failed == 0, (done, at_kill)


@pytest.fixture
def room_type(session_factory, shop, mapped_catalog) -> str:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return pms_room_type(session, shop.id, 1)


def _burst(engine: Engine, room_type: str, n: int, offset: int) -> list[str]:
    return [front_desk_reservation(engine, room_type_id=room_type, checkin=stay(20 + (offset + i) // 5, 1)[0],
                            checkout=stay(20 + (offset + i) // 5, 1)[1], first="Guest", last=f"N{chr(97 + i % 26)}",
                            email=f"g{offset + i}@example.com") for i in range(n)]


def test_outbound_worker_killed_while_its_post_is_held(
    fleet, simulator, shop, engine, session_factory, private_rabbit, amqp_url, room_type
):
    vhost = vhost_of(amqp_url)
    fleet.env["QLOAPPS_HTTP_READ_TIMEOUT_S"] = "10"  # the held POST must still be waiting when we kill
    fleet.start("outbound-1", worker_cmd(OUTBOUND, threads=1))
    fleet.start("relay", RELAY_CMD)
    wait_until(lambda: fleet.check_alive() or consumers(private_rabbit, vhost, OUTBOUND) > 0, timeout=30,
               interval=0.2, what="an outbound consumer")
    # Given QloApps holds the next create: the POST arrived, its answer has not left
    simulator.faults.add("hold", count=1, method="POST", path="/api/bookings")
    first = _burst(engine, room_type, 1, 0)[0]
    wait_until(lambda: simulator.faults.held == 1, timeout=20, interval=0.02, what="the POST held")
    more = _burst(engine, room_type, 9, 1)  # queued behind it
    # When the worker dies there, and only then QloApps finishes the create
    fleet.kill("outbound-1")
    simulator.faults.release()
    wait_until(lambda: posts(simulator) == 1 and orders_with_token(simulator, mapping_of(engine, first).push_token),
               timeout=20, interval=0.05, what="the held create to land in QloApps")
    assert mapping_of(engine, first).qloapps_order_id is None
    fleet.start("outbound-2", worker_cmd(OUTBOUND, threads=1))

    # Then the redelivered push adopts the order: one order per reservation
    wait_until(lambda: scalar(engine, "SELECT count(*) FROM qloapps_reservation_mappings "
                                      "WHERE qloapps_order_id IS NOT NULL") == 10,
               timeout=60, interval=0.2, what="ten pushed reservations")
    assert_in_agreement(engine, session_factory, simulator, shop.id, private_rabbit, amqp_url, logs=fleet.all_logs())
    assert len(orders_with_token(simulator, mapping_of(engine, first).push_token)) == 1
    assert posts(simulator) == 1 + len(more)
    assert "adopting it" in fleet.text("outbound-2"), fleet.all_logs()


def test_relay_killed_between_publish_and_marking_sent(
    fleet, simulator, shop, engine, session_factory, private_rabbit, amqp_url, room_type
):
    vhost = vhost_of(amqp_url)
    fleet.start("outbound-1", worker_cmd(OUTBOUND))
    wait_until(lambda: fleet.check_alive() or consumers(private_rabbit, vhost, OUTBOUND) > 0, timeout=30,
               interval=0.2, what="an outbound consumer")
    # Given a relay whose "mark sent" cannot go through: it waits on an advisory lock
    with desk_for(engine).marking_published_waits_on(4242):
        reservations = _burst(engine, room_type, 20, 0)
        with engine.connect() as blocker:
            blocker.execute(text("SELECT pg_advisory_lock(4242)"))
            fleet.start("relay", RELAY_CMD)
            # When it has published (the worker pushed every reservation) but not marked the rows sent, it is killed
            wait_until(lambda: fleet.check_alive() or scalar(
                engine, "SELECT count(*) FROM qloapps_reservation_mappings WHERE qloapps_order_id IS NOT NULL") == 20,
                timeout=60, interval=0.1, what="the pushes of the relayed messages")
            fleet.kill("relay")
            blocker.execute(text("SELECT pg_advisory_unlock(4242)"))
            blocker.commit()
    assert unsent_changes(engine) > 0
    # And it restarts: it publishes the same rows again
    fleet.start("relay", RELAY_CMD)

    # Then the duplicates change nothing: one order per reservation, every row marked sent
    wait_until(lambda: unsent_changes(engine) == 0, timeout=30, interval=0.2, what="every captured change published")
    assert_in_agreement(engine, session_factory, simulator, shop.id, private_rabbit, amqp_url, logs=fleet.all_logs())
    assert posts(simulator) == len(reservations)
