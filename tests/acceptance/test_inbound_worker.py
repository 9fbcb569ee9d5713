"""Inbound sync through the real runtime: `qlosync sync` enqueues, a `dramatiq` worker pulls, one bad
booking is isolated on its own message and dead-lettered with its reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qlosync.db.models import QloAppsDeadLetter, QloAppsReservationMapping, QloAppsSyncState
from qlosync.db.session import transaction
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)
from tests.subprocesses import start_process, stop_process

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def test_sync_command_enqueues_a_pull_and_a_bad_booking_ends_in_the_dlq_alone(
    simulator, shop, mapped_catalog, session_factory, database_url, secret_key, fresh_vhost, tmp_path,  # noqa: F811
    pms_kind
):
    order_ids = simulator.store.generate_bookings(30, seed=8)
    # Given one booking whose room lines are gone in QloApps (it cannot be represented in the PMS)
    bad = order_ids[7]
    lines = simulator.store.table("room_bookings")
    for line_id in [i for i, r in lines.items() if r["id_order"] == bad]:
        del lines[line_id]
    simulator.store.table("orders")[bad]["associations"]["bookings"] = []

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))},
        "DATABASE_URL": database_url, "RABBITMQ_URL": fresh_vhost, "QLOSYNC_SECRET_KEY": secret_key.reveal(),
        "QLOSYNC_PMS": pms_kind,
    }
    worker = start_process([str(BIN / "dramatiq"), "qlosync.actors", "--processes", "1", "--threads", "2"], env,
                    tmp_path / "worker.log")
    try:
        # When an operator asks for a full sync
        result = subprocess.run([str(BIN / "qlosync"), "sync", "--full"], env=env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        assert "enqueued full pull of default as message" in result.stdout

        def dead_letter_after_the_run():
            with transaction(session_factory) as session:
                run = session.scalars(select(QloAppsSyncState)).first()
                letter = session.scalars(select(QloAppsDeadLetter)).first()
                return letter if run is not None and run.status != "running" else None

        # The retry message is sent before the page commits, so it may die before the run finishes
        letter = wait_until(dead_letter_after_the_run, timeout=60, interval=0.2,
                            what="the pull to finish and the bad booking's dead letter")
    finally:
        stop_process(worker)

    # Then the run imported the others, the bad booking failed alone and was dead-lettered with its reason
    with transaction(session_factory) as session:
        run = session.scalars(select(QloAppsSyncState)).one()
        assert (run.status, run.kind, run.created, run.failed) == ("succeeded", "full", 29, 1)
        assert session.scalar(select(func.count()).select_from(QloAppsReservationMapping).where(
            QloAppsReservationMapping.pms_reservation_id.is_not(None))) == 29
    assert (letter.actor_name, letter.queue_name, letter.reason) == ("import_booking", "qloapps.inbound", "permanent")
    assert letter.args == ["default", bad]
    assert letter.error_class.endswith("InvalidBookingError")
    assert f"order {bad} has no room lines" in letter.error_message
    listing = subprocess.run([str(BIN / "qlosync"), "dlq", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert "import_booking" in listing.stdout and "InvalidBookingError" in listing.stdout
