"""scripts/demo for real (the README's first command), on this test's own database, vhost, port and directory.

It must show both directions through real background processes (a dramatiq worker and the outbox relay),
and stop them with SIGTERM when it ends.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from qlosync.runtime.queues import INBOUND, OUTBOUND
from tests.deploy.entry_points import ROOT
from tests.runtime_support import fresh_vhost, queue_counts  # noqa: F401  (fixture)

BOOKINGS = 50
TIME_LIMIT_S = 180  # the demo takes about 15 s here; this only bounds a hung run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return state[state.rindex(")") + 2] == "Z"


def run_demo(database_url: str, vhost_url: str, demo_dir: Path, cwd: Path, *args: str) -> str:
    """scripts/demo *args* on the test's own database, vhost, port and directory; its output (it must succeed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_", "DEMO_"))}
    env.update(DEMO_DATABASE_URL=database_url, DEMO_RABBITMQ_URL=vhost_url, DEMO_SIMULATOR_PORT=str(free_port()),
               DEMO_BOOKINGS=str(BOOKINGS), DEMO_DIR=str(demo_dir), DEMO_WAIT_SECONDS="60")
    started = time.monotonic()
    demo = subprocess.Popen([str(ROOT / "scripts" / "demo"), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = demo.communicate(timeout=TIME_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(demo.pid, signal.SIGTERM)  # the script's EXIT trap stops its background processes
        output, _ = demo.communicate(timeout=60)
        pytest.fail(f"scripts/demo still running after {TIME_LIMIT_S} s:\n{output}")
    elapsed = time.monotonic() - started
    print(output)
    assert demo.returncode == 0, output
    # A hang guard, not a benchmark: a demo took 104-112 s while a 10k-booking benchmark ran beside it.
    assert elapsed < 180, f"the demo took {elapsed:.0f} s"
    return output


def assert_processes_stopped(output: str, demo_dir: Path, vhost_url: str) -> None:
    """Every background process stopped by SIGTERM (none needed SIGKILL), the queues left with no consumer."""
    pids = dict(re.findall(r"(\w+) started \(pid (\d+)", output))
    assert set(pids) == {"simulator", "worker", "relay"}, output
    for name, pid in pids.items():
        assert gone(int(pid)), f"{name} (pid {pid}) is still running after the demo"
        assert re.search(rf"^   {name} stopped$", output, re.M), output
    assert "SIGKILL" not in output, output
    assert "Worker has been shut down" in (demo_dir / "worker.log").read_text(errors="replace")
    for queue in (INBOUND, OUTBOUND):
        counts = queue_counts(vhost_url, queue)
        assert counts is not None and counts[1] == 0, f"{queue}: {counts}"


def test_demo_shows_both_directions_with_real_processes(db_factory, fresh_vhost, tmp_path):  # noqa: F811
    database_url = db_factory(migrated=False)  # the demo drops and recreates it, as it does qlosync_demo
    demo_dir = tmp_path / "demo"
    output = run_demo(database_url, fresh_vhost, demo_dir, tmp_path)

    def log(name: str) -> str:
        return (demo_dir / f"{name}.log").read_text(errors="replace")

    # The full pull, with its progress lines.
    assert re.search(rf"run \d+: full succeeded; seen {BOOKINGS}, created {BOOKINGS}", output), output
    assert re.search(rf"seen {BOOKINGS}\s+created {BOOKINGS}", output), output

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            # PMS -> QloApps: the walk-in was created in QloApps by the worker, fed by the relay (nobody ran push).
            walk_in = re.search(r"PMS reservation (\d+) -> QloApps order (\d+)", output)
            assert walk_in, output
            reservation, order = walk_in.group(1), int(walk_in.group(2))  # PMS ids are text in the mappings
            assert connection.scalar(text(
                "SELECT qloapps_order_id FROM qloapps_reservation_mappings WHERE pms_reservation_id = :r"),
                {"r": reservation}) == order
            assert f"Reservation {reservation} created as QloApps order {order}" in log("worker")
            relayed = re.search(r"outbox relay stopped: (\d+) messages", log("relay"))
            assert relayed and int(relayed.group(1)) >= 1, log("relay")
            assert re.search(rf'QloApps order: \{{"id": {order}, .*Front desk', output), output

            # QloApps -> PMS: the website cancellation, by an incremental pull the worker ran.
            cancel = re.search(r"QloApps order (\d+) cancelled on the website \(PMS reservation (\d+) is (\w+)\)", output)
            assert cancel and cancel.group(3) not in ("cancelled", "refunded"), output
            cancelled = cancel.group(2)
            assert connection.scalar(text("SELECT status FROM pms_reservations WHERE id = :r"),
                                     {"r": cancelled}) == "cancelled"
            assert connection.scalar(text(
                "SELECT qloapps_order_id FROM qloapps_reservation_mappings WHERE pms_reservation_id = :r"),
                {"r": cancelled}) == int(cancel.group(1))
            assert "enqueued incremental pull of default" in output
            assert re.search(r"Pull run \d+ \(incremental/manual\) succeeded: .*updated 1", log("worker")), log("worker")
            run = connection.execute(text(
                "SELECT kind, trigger, status, updated FROM qloapps_sync_state ORDER BY id DESC LIMIT 1")).one()
            assert tuple(run) == ("incremental", "manual", "succeeded", 1)
    finally:
        engine.dispose()

    # The status at the end, then every background process stopped by SIGTERM (none needed SIGKILL).
    assert re.search(r"== status\nschema\s+\S+", output), output
    assert_processes_stopped(output, demo_dir, fresh_vhost)


def test_demo_on_the_hotelmanangement_pms(db_factory, fresh_vhost, tmp_path):  # noqa: F811
    database_url = db_factory(migrated=False)
    demo_dir = tmp_path / "demo"
    output = run_demo(database_url, fresh_vhost, demo_dir, tmp_path, "--pms", "hotelmanangement")

    def log(name: str) -> str:
        return (demo_dir / f"{name}.log").read_text(errors="replace")

    # It says whose schema the PMS's tables are: the project's own test double, not that PMS.
    assert "tests/hms/schema.sql" in output and "test double of that PMS's schema" in output, output
    assert "QLOSYNC_PMS=hotelmanangement" in output, output
    assert re.search(rf"run \d+: full succeeded; seen {BOOKINGS}, created {BOOKINGS}", output), output

    # The PMS's tables are in public; qlosync's in its schema, named so (the database's search_path is left
    # alone: public has tables named like qlosync's).
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM public.reservations")) >= BOOKINGS
            # PMS -> QloApps: the walk-in, as that PMS's API writes one, reached QloApps by trigger, relay, worker.
            walk_in = re.search(r"PMS reservation ([0-9a-f-]{36}) -> QloApps order (\d+)", output)
            assert walk_in, output
            reservation, order = walk_in.group(1), int(walk_in.group(2))
            row = connection.execute(text(
                "SELECT r.hotel_id::text, r.source, r.units_requested, r.total_amount, rt.price_per_night,"
                " r.check_out - r.check_in, r.primary_guest_id FROM public.reservations r"
                " JOIN public.room_types rt ON rt.id = r.room_type_id WHERE r.id = CAST(:r AS uuid)"),
                {"r": reservation}).one()
            assert row[:3] == ("00000000-0000-0000-0000-000000000000", "Direct", 1)
            assert row[3] == row[4] * row[5] * row[2]
            assert connection.execute(text(
                "SELECT guest_id, guest_type FROM public.reservation_guests WHERE reservation_id = CAST(:r AS uuid)"),
                {"r": reservation}).all() == [(row[6], "Primary")]
            assert connection.scalar(text(
                "SELECT qloapps_order_id FROM qlosync.qloapps_reservation_mappings WHERE pms_reservation_id = :r"),
                {"r": reservation}) == order
            assert f"Reservation {reservation} created as QloApps order {order}" in log("worker")
            relayed = re.search(r"outbox relay stopped: (\d+) messages", log("relay"))
            assert relayed and int(relayed.group(1)) >= 1, log("relay")
            assert re.search(rf'QloApps order: \{{"id": {order}, .*Direct', output), output

            # QloApps -> PMS: the website cancellation reached every live reservation of the booking's group.
            cancel = re.search(r"QloApps order (\d+) cancelled on the website \(PMS reservation ([0-9a-f-]{36}) is "
                               r"Confirmed\)", output)
            assert cancel, output
            group = cancel.group(2)
            statuses = connection.scalars(text(
                "SELECT DISTINCT status FROM public.reservations WHERE deleted_at IS NULL AND (id::text = :g OR"
                " id::text IN (SELECT reservation_id FROM qlosync.hms_reservation_groups WHERE group_id = :g))"),
                {"g": group}).all()
            assert statuses == ["Cancelled"]
            assert connection.scalar(text(
                "SELECT qloapps_order_id FROM qlosync.qloapps_reservation_mappings WHERE pms_reservation_id = :g"),
                {"g": group}) == int(cancel.group(1))
            assert re.search(r"Pull run \d+ \(incremental/manual\) succeeded: .*updated 1", log("worker")), log("worker")
    finally:
        engine.dispose()

    assert re.search(r"== status\nschema\s+\S+", output), output
    assert_processes_stopped(output, demo_dir, fresh_vhost)
