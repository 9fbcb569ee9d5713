"""Scenario 7: two schedulers, three inbound and two outbound workers (and two relays) at once, with a
5 s QLOAPPS_SYNC_INTERVAL_MS, while both sides keep changing: one pull per slot, one order per reservation.

periodiq ticks at the start of each minute, so this test waits up to a minute for the first slots.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import text

from qlosync.db.session import transaction
from tests.faults.support import (
    INBOUND, OUTBOUND, RELAY_CMD, SCHEDULER_CMD, Fleet, assert_in_agreement, consumers, sql_burst, vhost_of,
    worker_cmd,
)
from tests.outbound_fixtures import pms_room_type
from tests.runtime_support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]

SLOTS = 5  # finished scheduled pulls to watch


def test_two_schedulers_three_inbound_two_outbound_workers(
    simulator, shop, mapped_catalog, engine, session_factory, database_url, amqp_url, secret_key, private_rabbit,
    tmp_path
):
    simulator.store.generate_bookings(300, seed=7)
    with transaction(session_factory) as session:
        room_types = [pms_room_type(session, shop.id, qlo) for qlo in (1, 2, 3, 4)]
    fleet = Fleet.build(database_url, amqp_url, secret_key.reveal(), tmp_path, QLOAPPS_SYNC_INTERVAL_MS="5000",
                        TZ="UTC")
    vhost = vhost_of(amqp_url)

    def slot_runs() -> list[tuple]:  # type: ignore[type-arg]
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text(
                "SELECT slot_at, status, kind, error FROM qloapps_sync_state WHERE slot_at IS NOT NULL "
                "ORDER BY slot_at"))]

    try:
        for n in (1, 2, 3):
            fleet.start(f"inbound-{n}", worker_cmd(INBOUND))
        for n in (1, 2):
            fleet.start(f"outbound-{n}", worker_cmd(OUTBOUND))
        wait_until(lambda: fleet.check_alive() or (consumers(private_rabbit, vhost, INBOUND) == 3
                                                   and consumers(private_rabbit, vhost, OUTBOUND) == 2),
                   timeout=60, interval=0.3, what="3 inbound and 2 outbound consumers")
        fleet.start("relay-1", RELAY_CMD)
        fleet.start("relay-2", RELAY_CMD)
        fleet.start("scheduler-1", SCHEDULER_CMD)
        fleet.start("scheduler-2", SCHEDULER_CMD)
        # When both sides keep changing while the scheduled pulls run
        reservations: list[int] = []
        new_orders = 0
        deadline = time.monotonic() + 150
        while len([r for r in slot_runs() if r[1] != "running"]) < SLOTS:
            fleet.check_alive()
            assert time.monotonic() < deadline, f"fewer than {SLOTS} scheduled pulls\n{slot_runs()}\n{fleet.all_logs()}"
            if len(reservations) < 100:
                reservations += sql_burst(engine, room_types, len(reservations), 10)
            if new_orders < 30:
                simulator.store.generate_bookings(5, seed=100 + new_orders)
                new_orders += 5
            time.sleep(1)  # pacing of the changes (the wait itself is bounded by the deadline above)
        # Then, after one more slot has seen the last changes, both sides agree
        last_finished = max(r[0] for r in slot_runs() if r[1] != "running")
        wait_until(lambda: fleet.check_alive() or any(r[0] > last_finished and r[1] == "succeeded"
                                                      for r in slot_runs()),
                   timeout=30, interval=0.3, what="one more scheduled pull")
        # (the schedulers are still running: the minute's future slots wait, unacked, as delayed pulls)
        assert_in_agreement(engine, session_factory, simulator, shop.id, private_rabbit, amqp_url,
                            logs=fleet.all_logs(), settle_s=45, delayed_ok=(f"{INBOUND}.DQ",))
    finally:
        fleet.stop_all()

    runs = slot_runs()
    # One run per slot (slot_at is the unique claim), every slot 5 s after the previous
    per_slot = Counter(r[0] for r in runs)
    assert [s for s, n in per_slot.items() if n > 1] == []
    slots = sorted(per_slot)
    assert {(b - a).total_seconds() for a, b in zip(slots, slots[1:], strict=False)} <= {5.0}, slots
    # Every finished slot succeeded, or was skipped because another pull had the shop or already covered it
    # (three inbound workers: a slot's pull can start while the previous one still runs); none failed
    finished = [r for r in runs if r[1] != "running"]
    assert all(r[1] == "succeeded" or (r[1] == "skipped" and r[3] in (
        "another pull of this shop is running", "a later pull already covered this slot")) for r in finished), runs
    assert sum(r[1] == "succeeded" for r in finished) >= 3, runs
    # Both schedulers ticked, so slots were enqueued twice and the second message found them claimed
    logs = fleet.text("inbound")
    assert "already claimed" in logs, fleet.all_logs()
    # No double push: one QloApps create per reservation, and every order is in the PMS once
    assert simulator.request_counts["POST /api/bookings"] == len(reservations)
    with simulator.store.lock:
        assert len(simulator.store.table("orders")) == 300 + new_orders + len(reservations)
