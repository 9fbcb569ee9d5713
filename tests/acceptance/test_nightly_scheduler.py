"""The nightly full reconciliation for real: two `periodiq qlosync.schedule` and a `dramatiq qlosync.actors`
worker, QLOSYNC_FULL_SYNC_AT set to a minute from now. One full run with trigger nightly, and the customer
renamed in QloApps (invisible to incremental pulls) reaches the PMS. Takes one to two minutes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from qlosync.db.models import QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.sync.inbound.pull import run_pull
from qlosync.sync.inbound.schedule_slots import nightly_offset
from tests.integration.sync_helpers import pms_guest_name
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)
from tests.subprocesses import BIN, start_process, stop_process

pytestmark = pytest.mark.slow


def test_two_schedulers_run_the_nightly_full_pull_once_and_it_finds_a_renamed_customer(
    simulator, deps, shop, mapped_catalog, session_factory, database_url, secret_key, fresh_vhost, tmp_path,  # noqa: F811
    pms_kind
):
    # Given bookings already in the PMS, then a customer renamed in QloApps (no order's date_upd moves)
    order_id = simulator.store.generate_bookings(5, seed=11)[0]
    assert run_pull(deps).status == "succeeded"
    simulator.store.rename_customer(int(simulator.store.table("orders")[order_id]["id_customer"]), "Nightly", "Found")
    assert pms_guest_name(session_factory, shop.id, order_id) != ("Nightly", "Found")

    # And QLOSYNC_FULL_SYNC_AT set so that the shop's nightly slot (the time plus the shop's own offset in the
    # nightly hour) comes 30 to 90 s from now: time for the processes to start
    offset = nightly_offset("default")
    at = (datetime.now(UTC) + timedelta(seconds=90) - offset).replace(second=0, microsecond=0)
    nightly = at + offset
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))},
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": fresh_vhost,
        "QLOSYNC_SECRET_KEY": secret_key.reveal(),
        "QLOSYNC_PMS": pms_kind,
        "QLOAPPS_SYNC_INTERVAL_MS": "60000",  # an incremental slot every minute besides
        "QLOSYNC_FULL_SYNC_AT": at.strftime("%H:%M"),
        "TZ": "UTC",
    }
    processes = [
        start_process([str(BIN / "dramatiq"), "qlosync.actors", "--processes", "1", "--threads", "2"], env, tmp_path / "worker.log"),
        start_process([str(BIN / "periodiq"), "qlosync.schedule"], env, tmp_path / "scheduler-1.log"),
        start_process([str(BIN / "periodiq"), "qlosync.schedule"], env, tmp_path / "scheduler-2.log"),
    ]

    def nightly_runs() -> list[QloAppsSyncState]:
        with transaction(session_factory) as session:
            return list(session.scalars(select(QloAppsSyncState).where(QloAppsSyncState.slot_at == nightly)))

    try:
        # When the nightly minute comes
        runs = wait_until(lambda: [r for r in nightly_runs() if r.status != "running"] and nightly_runs(),
                          timeout=200, interval=0.5, what="the nightly run to finish")
        # (and the other scheduler's message for the same slot found it claimed)
        duplicate = f"Pull slot {nightly.isoformat()} of default already claimed"
        wait_until(lambda: duplicate in (tmp_path / "worker.log").read_text(errors="replace"),
                   timeout=30, interval=0.5, what="the second scheduler's nightly message")
    finally:
        for process in processes:
            stop_process(process)
    log = (tmp_path / "worker.log").read_text(errors="replace")

    # Then the slot ran once, as a full pull recorded as the nightly reconciliation
    assert [(r.kind, r.trigger, r.status) for r in runs] == [("full", "nightly", "succeeded")], log[-3000:]
    assert timedelta(0) <= runs[0].started_at - nightly < timedelta(seconds=30)
    # And the renamed customer reached the PMS
    assert pms_guest_name(session_factory, shop.id, order_id) == ("Nightly", "Found")
