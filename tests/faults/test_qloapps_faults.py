"""Scenarios 5 and 6: QloApps misbehaving over HTTP, with the real workers and relay.

5. 500s, timeouts and 401s for a while, then recovery: everything arrives, nothing twice.
6. Malformed answers for some bookings (missing field, wrong type, unknown room type, HTML instead of
   JSON): those bookings are dead-lettered (or parked, for the unknown room type) with a readable reason,
   the run goes on and the others arrive.
"""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import Engine, text

from qlosync.db.session import transaction
from tests.acceptance.outbound_support import dead_letters
from tests.faults.support import (
    BIN, INBOUND, OUTBOUND, RELAY_CMD, Fleet, sql_burst, assert_in_agreement, consumers, scalar, vhost_of, worker_cmd,
)
from tests.outbound_fixtures import pms_room_type
from tests.runtime_support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]


@pytest.fixture
def fleet(fleet, amqp_url, private_rabbit):  # type: ignore[no-untyped-def]
    """An inbound worker, an outbound worker and a relay, consuming (read timeout 2 s)."""
    fleet.start("inbound", worker_cmd(INBOUND))
    fleet.start("outbound", worker_cmd(OUTBOUND))
    fleet.start("relay", RELAY_CMD)
    vhost = vhost_of(amqp_url)
    wait_until(lambda: fleet.check_alive() or (consumers(private_rabbit, vhost, INBOUND) > 0
                                               and consumers(private_rabbit, vhost, OUTBOUND) > 0),
               timeout=30, interval=0.2, what="both queues consumed")
    return fleet


def _sync(fleet: Fleet, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "qlosync"), *args], env=fleet.env, capture_output=True, text=True, timeout=60)


def _runs(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text("SELECT status, error FROM qloapps_sync_state ORDER BY id"))]


def _pushed(engine: Engine) -> int:
    return int(scalar(engine, "SELECT count(*) FROM qloapps_reservation_mappings "
                              "WHERE origin = 'pms' AND qloapps_order_id IS NOT NULL"))


def _room_types(session_factory, shop) -> list[int]:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return [pms_room_type(session, shop.id, qlo) for qlo in (1, 2, 3, 4)]


def test_500s_and_timeouts_for_a_while_then_recovery(
    fleet, simulator, shop, engine, session_factory, private_rabbit, amqp_url
):
    simulator.store.generate_bookings(150, seed=5)
    # Given QloApps answers 500 to every read of orders, and lets every create time out (it still commits it)
    simulator.faults.add("http_500", count=None, method="GET", path="/api/orders")
    simulator.faults.add("timeout", count=None, method="POST", path="/api/bookings", delay_s=3.0)
    # When a pull is asked for and 20 reservations are made in the PMS
    assert _sync(fleet, "sync", "--full").returncode == 0
    reservations = sql_burst(engine, _room_types(session_factory, shop), 0, 20)
    wait_until(lambda: fleet.check_alive() or (_runs(engine) and _runs(engine)[0][0] == "failed"
                                               and simulator.request_counts["POST /api/bookings"] >= 5),
               timeout=60, interval=0.2, what="a failed pull and timed-out creates")
    # (the creates went through on the QloApps side: their outcome is what the workers do not know)
    assert _pushed(engine) == 0
    # And QloApps recovers
    simulator.faults.clear()
    # Then the retried pushes find their orders instead of creating them twice
    wait_until(lambda: fleet.check_alive() or _pushed(engine) == len(reservations), timeout=90, interval=0.5,
               what="every reservation pushed after the recovery")
    # And the next pull (here asked for; the scheduler's next slot in production) brings every booking
    assert _sync(fleet, "sync", "--full").returncode == 0
    wait_until(lambda: fleet.check_alive() or _runs(engine)[-1][0] == "succeeded", timeout=60, interval=0.3,
               what="the pull after the recovery")
    assert_in_agreement(engine, session_factory, simulator, shop.id, private_rabbit, amqp_url, logs=fleet.all_logs())
    runs = _runs(engine)
    assert "500" in (runs[0][1] or ""), runs
    with simulator.store.lock:
        assert len(simulator.store.table("orders")) == 150 + len(reservations)
    assert "adopting it" in fleet.text("outbound"), fleet.all_logs()


def test_401_for_a_while_dead_letters_then_requeue_brings_everything(
    fleet, simulator, shop, engine, session_factory, private_rabbit, amqp_url
):
    simulator.store.generate_bookings(50, seed=6)
    # Given QloApps refuses the API key for a while
    simulator.faults.add("unauthorized", count=None)
    assert _sync(fleet, "sync", "--full").returncode == 0
    reservations = sql_burst(engine, _room_types(session_factory, shop), 0, 5)
    # Then the pushes are dead-lettered at once with a readable reason, and the pull fails saying why
    letters = wait_until(lambda: fleet.check_alive() or (len(dead_letters(engine)) == len(reservations)
                                                         and _runs(engine) and _runs(engine)[0][0] == "failed"
                                                         and dead_letters(engine)),
                         timeout=60, interval=0.2, what="five dead letters and a failed pull")
    assert {(dl.actor_name, dl.reason) for dl in letters} == {("push_reservation", "permanent")}
    assert all("401" in dl.error_message or "uthori" in dl.error_message for dl in letters), letters
    assert "401" in (_runs(engine)[0][1] or "") or "uthori" in (_runs(engine)[0][1] or ""), _runs(engine)
    assert simulator.request_counts["POST /api/bookings"] == 0
    # When the key works again and the operator requeues the dead letters and pulls
    simulator.faults.clear()
    assert _sync(fleet, "dlq", "requeue", "--all").returncode == 0
    assert _sync(fleet, "sync", "--full").returncode == 0
    # Then everything arrives once
    wait_until(lambda: fleet.check_alive() or (_pushed(engine) == len(reservations)
                                               and _runs(engine)[-1][0] == "succeeded"),
               timeout=60, interval=0.3, what="the pushes and the pull after the recovery")
    assert_in_agreement(engine, session_factory, simulator, shop.id, private_rabbit, amqp_url, logs=fleet.all_logs())
    assert simulator.request_counts["POST /api/bookings"] == len(reservations)
    with engine.connect() as c:
        assert set(c.scalars(text("SELECT status FROM qloapps_dead_letters"))) == {"succeeded"}


def _corrupt_line(simulator, order_id: int, **changes) -> None:  # type: ignore[no-untyped-def]
    with simulator.store.lock:
        line = next(r for r in simulator.store.table("room_bookings").values() if r["id_order"] == order_id)
        for key, value in changes.items():
            if value is KeyError:
                del line[key]
            else:
                line[key] = value


def test_malformed_answers_for_some_bookings(
    fleet, simulator, shop, engine, session_factory, private_rabbit, amqp_url
):
    order_ids = simulator.store.generate_bookings(120, seed=9)
    missing, wrong_type, unknown_type = order_ids[10], order_ids[50], order_ids[90]
    # Given QloApps answers some bookings with a room line missing a field, one with a wrong type,
    # one with a room type qlosync has no mapping for
    _corrupt_line(simulator, missing, date_from=KeyError)
    _corrupt_line(simulator, wrong_type, adults="two")
    _corrupt_line(simulator, unknown_type, id_product=99)
    # and one answer with an HTML page instead of JSON
    simulator.faults.add("fatal_html", count=1, method="GET", path="/api/customers")

    # When a full pull runs
    assert _sync(fleet, "sync", "--full").returncode == 0
    wait_until(lambda: fleet.check_alive() or (_runs(engine) and _runs(engine)[-1][0] != "running"),
               timeout=60, interval=0.3, what="the pull to finish")
    wait_until(lambda: fleet.check_alive() or len(dead_letters(engine)) >= 2, timeout=60, interval=0.3,
               what="the bad bookings' dead letters")
    runs = _runs(engine)
    letters = dead_letters(engine)
    print(runs, [(dl.args, dl.reason, dl.error_class, dl.error_message) for dl in letters])
    # Then the run succeeded and the bad bookings went, alone, to the DLQ with their reason
    assert runs[-1][0] == "succeeded", runs
    by_order = {dl.args[1]: dl for dl in letters}
    assert set(by_order) == {missing, wrong_type}, letters
    assert all(dl.reason == "permanent" and dl.actor_name == "import_booking" for dl in letters), letters
    assert "date_from" in by_order[missing].error_message, by_order[missing]
    assert "adults" in by_order[wrong_type].error_message or "two" in by_order[wrong_type].error_message
    # And the unknown room type is parked with its reason, not dead-lettered
    def parked_rows():  # type: ignore[no-untyped-def]
        with engine.connect() as c:
            return c.execute(text("SELECT qloapps_order_id, parked_reason FROM qloapps_reservation_mappings "
                                  "WHERE parked_reason IS NOT NULL")).all()

    # (its page may have gone to per-booking messages, which can still be running)
    parked = wait_until(lambda: fleet.check_alive() or parked_rows(), timeout=30, interval=0.2,
                        what="the parked booking")
    assert [p.qloapps_order_id for p in parked] == [unknown_type], parked
    assert "99" in parked[0].parked_reason, parked
    # And the HTML answer and the malformed bookings were isolated, not fatal
    assert simulator.faults.armed == []
    assert "could not be read" in fleet.text("inbound"), fleet.all_logs()
    # And every other booking arrived, once
    assert_in_agreement(engine, session_factory, simulator, shop.id, private_rabbit, amqp_url, dead_letters=2,
                        excluded_orders=(missing, wrong_type, unknown_type), logs=fleet.all_logs())
