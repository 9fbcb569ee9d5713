"""Scenarios 3 and 4: RabbitMQ (``rabbitmqctl stop_app`` / ``start_app``) and PostgreSQL
(``pg_ctl restart -m fast``) go away in the middle of a pull and in the middle of a push burst.

Both servers are this session's private ones (tests/faults/conftest.py). The processes are not restarted
by the test: they must ride out the outage on their own. After it, everything arrives exactly once.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from qlosync.db.session import transaction
from tests.faults.support import (
    BIN, INBOUND, OUTBOUND, RELAY_CMD, Fleet, sql_burst, assert_in_agreement, consumers, scalar, vhost_of, worker_cmd,
)
from tests.outbound_fixtures import pms_room_type, stay
from tests.pms_desk import desk_for
from tests.runtime_support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]

PULL_BOOKINGS = 600
PUSH_RESERVATIONS = 200


@pytest.fixture
def outage(request, private_rabbit, private_pg) -> Callable[[], float]:  # type: ignore[no-untyped-def]
    """The outage of this parameter: returns how long the service was away (s)."""

    def rabbitmq() -> float:
        started = time.monotonic()
        private_rabbit.stop_app()  # closes every connection; queues and persistent messages survive
        private_rabbit.start_app()
        return time.monotonic() - started

    def postgres() -> float:
        started = time.monotonic()
        private_pg.restart()  # -m fast: every session is terminated, open transactions roll back
        return time.monotonic() - started

    return {"rabbitmq": rabbitmq, "postgres": postgres}[request.param]


def _wait_consuming(fleet: Fleet, rabbit, vhost: str, queue: str) -> None:  # type: ignore[no-untyped-def]
    wait_until(lambda: fleet.check_alive() or consumers(rabbit, vhost, queue) > 0, timeout=30, interval=0.2,
               what=f"a consumer on {queue}")


PUSHED = "SELECT count(*) FROM qloapps_reservation_mappings WHERE qloapps_order_id IS NOT NULL"


def _wait_pushed(fleet: Fleet, engine: Engine, enough: Callable[[int], bool], *, timeout: float, interval: float,
                 what: str) -> None:
    """Wait until enough reservations are pushed; on a timeout the failure shows the processes' logs."""
    try:
        wait_until(lambda: fleet.check_alive() or enough(_count(engine, PUSHED)), timeout=timeout, interval=interval,
                   what=what)
    except pytest.fail.Exception as exc:
        pytest.fail(f"{exc} ({_count(engine, PUSHED)} pushed)\n{fleet.all_logs()}")


def _reservations(engine: Engine) -> int:
    """How many reservations the PMS has, tolerating the database being restarted under it (0 while away)."""
    try:
        return len(desk_for(engine).reservation_ids())
    except Exception:  # noqa: BLE001
        return 0


def _count(engine: Engine, sql: str) -> int:
    """A count that tolerates the database being restarted under it (0 while it is away)."""
    try:
        return int(scalar(engine, sql))
    except Exception:  # noqa: BLE001
        return -1


@pytest.mark.parametrize("outage", ["rabbitmq", "postgres"], indirect=True)
def test_outage_during_a_pull(fleet, simulator, shop, engine, session_factory, private_rabbit, amqp_url, outage):
    simulator.store.generate_bookings(PULL_BOOKINGS, seed=3)
    simulator.faults.add("latency", count=None, path="/api/room_bookings", delay_s=0.5)
    vhost = vhost_of(amqp_url)
    fleet.start("inbound", worker_cmd(INBOUND))
    _wait_consuming(fleet, private_rabbit, vhost, INBOUND)
    result = subprocess.run([str(BIN / "qlosync"), "sync", "--full"], env=fleet.env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    wait_until(lambda: fleet.check_alive() or _reservations(engine) >= 100,
               timeout=60, interval=0.05, what="a first committed page")

    # When the service goes away in the middle of the pull and comes back
    before = _reservations(engine)
    in_flight = _count(engine, "SELECT count(*) FROM qloapps_sync_state WHERE status = 'running'")
    away = outage()
    assert in_flight == 1, "no pull was running when the outage began"
    assert before < PULL_BOOKINGS, "the pull finished before the outage: nothing was tested"
    simulator.faults.clear()

    # Then the run that lived through it either finished, or failed saying the database went away (the data
    # it committed stays); in that case the next pull (the scheduler's next slot in production) finishes it
    def runs() -> list[tuple[str, str | None]]:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text("SELECT status, error FROM qloapps_sync_state ORDER BY id"))]

    def settled() -> list[tuple[str, str | None]] | None:
        fleet.check_alive()
        try:
            found = runs()
        except Exception:  # noqa: BLE001  (the database may still be coming back)
            return None
        return found if found and all(status != "running" for status, _ in found) else None

    first = wait_until(settled, timeout=120, interval=0.5, what="the pull caught by the outage to end")
    if first[-1][0] == "failed":
        assert "OperationalError" in (first[-1][1] or ""), first
        result = subprocess.run([str(BIN / "qlosync"), "sync", "--full"], env=fleet.env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        wait_until(lambda: (r := settled()) and len(r) > len(first) and r, timeout=120, interval=0.5,
                   what="the next pull")
    assert _reservations(engine) == PULL_BOOKINGS
    assert_in_agreement(engine, session_factory, simulator, shop.id, private_rabbit, amqp_url,
                        logs=fleet.all_logs())
    assert fleet.procs["inbound"].poll() is None
    statuses = [status for status, _ in runs()]
    assert statuses[-1] == "succeeded", runs()
    print(f"outage {away:.2f} s; {before} of {PULL_BOOKINGS} imported before; runs {statuses}")


@pytest.mark.parametrize("outage", ["rabbitmq", "postgres"], indirect=True)
def test_outage_during_a_push_burst(fleet, simulator, shop, engine, session_factory, private_rabbit, amqp_url,
                                    outage):
    with transaction(session_factory) as session:
        room_types = [pms_room_type(session, shop.id, qlo) for qlo in (1, 2, 3, 4)]
    vhost = vhost_of(amqp_url)
    fleet.start("outbound", worker_cmd(OUTBOUND))
    fleet.start("relay", RELAY_CMD)
    _wait_consuming(fleet, private_rabbit, vhost, OUTBOUND)
    # Slow every create a little, so the burst is still being pushed when the service goes away
    simulator.faults.add("latency", count=None, method="POST", path="/api/bookings", delay_s=0.05)

    # When 200 reservations are inserted by SQL in batches, and the service goes away in the middle
    inserted: list[str] = []
    for count in (40, 60):
        inserted += sql_burst(engine, room_types, len(inserted), count)
    _wait_pushed(fleet, engine, lambda n: n >= 10, timeout=60, interval=0.05, what="the first pushes")
    pushed_before = _count(engine, PUSHED)
    away = outage()
    assert pushed_before < PUSH_RESERVATIONS
    # (and the PMS keeps writing right after it comes back)
    for count in (50, 50):
        inserted += sql_burst(engine, room_types, len(inserted), count)
    assert len(inserted) == PUSH_RESERVATIONS

    # Then every reservation becomes exactly one order, with the processes that lived through it
    _wait_pushed(fleet, engine, lambda n: n == PUSH_RESERVATIONS, timeout=120, interval=0.5,
                 what="every reservation pushed after the outage")
    simulator.faults.clear()
    assert_in_agreement(engine, session_factory, simulator, shop.id, private_rabbit, amqp_url,
                        logs=fleet.all_logs())
    with simulator.store.lock:
        assert len(simulator.store.table("orders")) == PUSH_RESERVATIONS
    print(f"outage {away:.2f} s; {pushed_before} pushed before; POSTs {simulator.request_counts['POST /api/bookings']}")
