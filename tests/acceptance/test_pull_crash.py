"""Crash safety of a pull: SIGKILL the worker in the middle of a full import, start another one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qlosync.db.models import QloAppsReservationMapping, QloAppsSyncCursor, QloAppsSyncState
from qlosync.db.session import transaction
from tests.integration.sync_helpers import actual_booking, expected_booking
from tests.pms_desk import desk_for
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)
from tests.subprocesses import start_process, stop_process

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def test_a_pull_killed_mid_import_is_redelivered_and_every_booking_lands_once(
    simulator, shop, mapped_catalog, engine, session_factory, database_url, secret_key, pms_kind, fresh_vhost,  # noqa: F811
    tmp_path
):
    order_ids = simulator.store.generate_bookings(400, seed=21)
    # Slow QloApps down so the pull is still running after its first page committed (a page a second: 0.4 s
    # once let the whole import finish before the kill on a loaded machine)
    simulator.faults.add("latency", count=None, path="/api/room_bookings", delay_s=1.0)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))},
        "DATABASE_URL": database_url, "RABBITMQ_URL": fresh_vhost, "QLOSYNC_SECRET_KEY": secret_key.reveal(),
        "QLOSYNC_PMS": pms_kind,
    }
    worker_cmd = [str(BIN / "dramatiq"), "qlosync.actors", "--processes", "1", "--threads", "1"]
    first = start_process(worker_cmd, env, tmp_path / "worker-1.log")
    second = None
    try:
        assert subprocess.run([str(BIN / "qlosync"), "sync", "--full"], env=env, capture_output=True,
                              timeout=60).returncode == 0

        desk = desk_for(engine)

        def committed() -> int:
            return desk.reservation_count()

        # When the worker is killed after at least one page committed and before the import finished
        wait_until(lambda: committed() >= 100, timeout=60, interval=0.05, what="a first committed page")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        assert committed() < 400
        simulator.faults.clear()
        # And another worker starts
        second = start_process(worker_cmd, env, tmp_path / "worker-2.log")

        def finished_run():
            with transaction(session_factory) as session:
                return session.scalars(select(QloAppsSyncState).where(QloAppsSyncState.status == "succeeded")).first()

        done = wait_until(finished_run, timeout=90, interval=0.2, what="the redelivered pull to finish")
    finally:
        stop_process(first)
        if second is not None:
            stop_process(second)

    # Then every booking is in the PMS exactly once and as QloApps has it
    assert desk_for(engine).reservation_count() == 400
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(QloAppsReservationMapping)) == 400
        for order_id in order_ids[::17]:
            assert actual_booking(session, shop.id, order_id) == expected_booking(simulator, order_id, session)
        runs = session.scalars(select(QloAppsSyncState).order_by(QloAppsSyncState.id)).all()
        # The killed run was recognised as dead; the redelivered message re-ran and wrote the rest
        assert [r.status for r in runs] == ["failed", "succeeded"]
        assert runs[0].error == "interrupted: its worker stopped or died"
        assert done.created + done.unchanged == 400 and done.created < 400
        assert session.get_one(QloAppsSyncCursor, shop.id).last_successful_sync is not None
