"""Outbound at scale: 500 reservations written by plain SQL while two workers and two relays run.

Two `dramatiq qlosync.actors` workers (one process, two threads each) and two `qlosync relay` processes
share one vhost and one database; the simulator runs in this process. The reservations arrive in
transactions of very different sizes, and the biggest batch is touched again right after its commit,
so a reservation can have two messages (from either relay) handled by two workers at once: every
reservation must still become exactly one QloApps order.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from qlosync.db.session import transaction
from qlosync.sync.push_token import token_in
from tests.acceptance.outbound_support import all_changes_published, listening, sql_burst
from tests.outbound_fixtures import pending_reservations, pms_room_type
from tests.pms_desk import desk_for
from tests.runtime_support import fresh_vhost, queue_counts, wait_until  # noqa: F401  (fixture)
from tests.subprocesses import start_process, stop_process

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow

RESERVATIONS = 500
BATCHES = (1, 9, 40, 200, 3, 120, 27, 100)  # reservations per transaction, in this order
assert sum(BATCHES) == RESERVATIONS


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as c:
        return int(c.scalar(text(sql)) or 0)


def test_500_sql_reservations_with_two_workers_and_two_relays_become_500_orders(
    simulator, shop, mapped_catalog, session_factory, engine: Engine, database_url, secret_key,
    fresh_vhost, tmp_path, pms_kind  # noqa: F811
):
    with transaction(session_factory) as session:
        room_types = [pms_room_type(session, shop.id, qlo) for qlo in (1, 2, 3, 4)]
        # This measures qlosync's own pace: the shop allows more than the polite default of 25 requests a second
        session.execute(text("UPDATE qloapps_config SET max_requests_per_second = 1000 WHERE id = :id"), {"id": shop.id})
    assert all(room_types)
    assert len(simulator.store.table("orders")) == 0
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))},
        "DATABASE_URL": database_url, "RABBITMQ_URL": fresh_vhost, "QLOSYNC_SECRET_KEY": secret_key.reveal(),
        "QLOSYNC_PMS": pms_kind,
    }
    worker_cmd = [str(BIN / "dramatiq"), "qlosync.actors", "--processes", "1", "--threads", "2"]
    processes = [start_process(worker_cmd, env, tmp_path / f"worker-{n}.log") for n in (1, 2)]

    def logs() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(tmp_path.glob("*.log")))

    def alive() -> None:
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{process.args} exited with {process.returncode}\n{logs()}")

    def consumers() -> int:
        alive()
        counts = queue_counts(fresh_vhost, "qloapps.outbound")
        return counts[1] if counts else 0

    def listening_relays() -> int:
        alive()
        return listening(engine, make_url(database_url).database)

    try:
        wait_until(lambda: consumers() >= 2, timeout=30, interval=0.1, what="two workers consuming qloapps.outbound")
        processes += [start_process([str(BIN / "qlosync"), "relay"], env, tmp_path / f"relay-{n}.log") for n in (1, 2)]
        wait_until(lambda: listening_relays() == 2, timeout=30, interval=0.05, what="two relays LISTENing")

        # When 500 reservations are inserted by plain SQL, in transactions of 1 to 200 reservations
        started = time.monotonic()
        reservation_ids: list[str] = []
        for count in BATCHES:
            batch = sql_burst(engine, room_types, len(reservation_ids), count, days_ahead=10)
            reservation_ids += batch
            if count == max(BATCHES):
                # And the biggest batch is touched again at once (a column the push does not send): a second
                # message for each of its reservations, often while the first one's create is in flight
                desk_for(engine).set_source(batch, "Front desk, checked")
            time.sleep(0.2)  # the processes are already busy with the previous batches
        assert len(set(reservation_ids)) == RESERVATIONS

        # Then every one of them gets its QloApps order
        def pushed() -> bool:
            alive()
            return _scalar(engine, "SELECT count(*) FROM qloapps_reservation_mappings "
                                   "WHERE qloapps_order_id IS NOT NULL") == RESERVATIONS

        wait_until(pushed, timeout=90, interval=0.25, what="500 reservations with a QloApps order")
        elapsed = time.monotonic() - started
        wait_until(lambda: all_changes_published(engine), timeout=20, interval=0.1,
                   what="every captured change marked published")
        # and nothing is left on the queue (duplicate messages included) before the processes stop
        wait_until(lambda: queue_counts(fresh_vhost, "qloapps.outbound")[0] == 0, timeout=20, interval=0.1,
                   what="the outbound queue drained")
    finally:
        for process in processes:
            stop_process(process)

    with engine.connect() as c:
        mappings = c.execute(text(
            "SELECT pms_reservation_id, qloapps_order_id, push_token, push_error FROM qloapps_reservation_mappings"
        )).all()
        dead = c.execute(text("SELECT actor_name, args, reason, error_message FROM qloapps_dead_letters")).all()
    with simulator.store.lock:
        orders = {i: dict(o) for i, o in simulator.store.table("orders").items()}
        lines = Counter(int(r["id_order"]) for r in simulator.store.table("room_bookings").values())

    # Exactly 500 orders, one per reservation, each with its one room line
    assert len(orders) == RESERVATIONS, f"{len(orders)} orders in QloApps\n{logs()}"
    assert simulator.request_counts["POST /api/bookings"] == RESERVATIONS
    assert sorted(m.pms_reservation_id for m in mappings) == sorted(map(str, reservation_ids))
    assert {m.qloapps_order_id for m in mappings} == set(orders)
    assert all(lines[order_id] == 1 for order_id in orders)
    # No two orders carry the same push token, and each order carries its reservation's token
    tokens = Counter(token_in(o.get("source")) for o in orders.values())
    assert None not in tokens
    assert [t for t, n in tokens.items() if n > 1] == []
    assert {m.push_token for m in mappings} == set(tokens)
    assert all(token_in(orders[m.qloapps_order_id]["source"]) == m.push_token for m in mappings)
    # Every captured change (the reservations and the touch of the biggest batch) was published
    assert all_changes_published(engine) and pending_reservations(engine) == {}
    # Nothing failed for good
    assert dead == []
    assert (queue_counts(fresh_vhost, "qloapps.dlq") or (0, 0))[0] == 0
    assert [m for m in mappings if m.push_error is not None] == []
    assert elapsed < 90, f"500 reservations took {elapsed:.1f} s to reach QloApps"
