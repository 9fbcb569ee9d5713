"""The scheduler for real: `periodiq qlosync.schedule` twice and a `dramatiq qlosync.actors` worker, with
QLOAPPS_SYNC_INTERVAL_MS on the schedulers only.

periodiq ticks at the start of each minute, so this test takes one to two minutes.
"""

from __future__ import annotations

import os
import subprocess
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import NoResultFound

from qlosync.db.models import QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.qloapps.models import RoomRequest, RoomTypeRequest
from tests.integration.sync_helpers import actual_booking, expected_booking, move_booking, request_like
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)
from tests.subprocesses import BIN, start_process, stop_process

pytestmark = pytest.mark.slow


def test_five_second_interval_runs_one_pull_per_slot_with_two_schedulers(
    simulator, client, shop, mapped_catalog, session_factory, database_url, secret_key, fresh_vhost, tmp_path,  # noqa: F811
    pms_kind
):
    order_ids = simulator.store.generate_bookings(20, seed=1)
    movable = client.create_booking(request_like(client, order_ids[1], (
        RoomTypeRequest(2, date(2030, 5, 1), date(2030, 5, 4), rooms=(RoomRequest(adults=2),)),
    ))).id
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))},
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": fresh_vhost,
        "QLOSYNC_SECRET_KEY": secret_key.reveal(),
        "QLOSYNC_PMS": pms_kind,
        "TZ": "UTC",
    }
    # The interval is set on the schedulers only, as the guide says; the worker keeps the default (5 min).
    scheduler_env = {**env, "QLOAPPS_SYNC_INTERVAL_MS": "5000"}
    processes = [
        start_process([str(BIN / "dramatiq"), "qlosync.actors", "--processes", "1", "--threads", "2"], env, tmp_path / "worker.log"),
    ]
    try:
        # The shop's first full pull runs by hand before the schedulers start. A scheduled one could be a
        # late tick's catch-up slot, sent less than a second before the next slot, which it would then
        # hold the shop's pull lock against: a skip that says nothing about the scheduler. This also has
        # the worker up before the first tick.
        result = subprocess.run([str(BIN / "qlosync"), "sync", "--full"], env=env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        wait_until(lambda: _manual_run_status(session_factory) == "succeeded", timeout=120, interval=0.5,
                   what="the first full pull")
        processes += [
            start_process([str(BIN / "periodiq"), "qlosync.schedule"], scheduler_env, tmp_path / "scheduler-1.log"),
            start_process([str(BIN / "periodiq"), "qlosync.schedule"], scheduler_env, tmp_path / "scheduler-2.log"),
        ]

        def scheduled_runs() -> list[QloAppsSyncState]:
            with transaction(session_factory) as session:
                return list(session.scalars(
                    select(QloAppsSyncState).where(QloAppsSyncState.trigger.in_(("schedule", "fallback")),
                                                   QloAppsSyncState.slot_at.is_not(None))
                    .order_by(QloAppsSyncState.slot_at)))

        def finished_runs() -> list[QloAppsSyncState]:
            return [r for r in scheduled_runs() if r.status != "running"]

        wait_until(finished_runs, timeout=150, interval=0.5, what="the first scheduled pull")
        # Then QloApps changes within one second: a cancellation, a date change, a new multi-room-type booking
        changed = make_same_second_changes(simulator, client, order_ids, movable)
        arrived = wait_until(lambda: all(_arrived(session_factory, shop.id, simulator, o) for o in changed),
                             timeout=60, interval=0.5, what="the changes to arrive through scheduled pulls")
        assert arrived
        runs = wait_until(lambda: finished_runs()[5:] and scheduled_runs(),
                          timeout=150, interval=0.5, what="six finished scheduled pulls")
    finally:
        for process in processes:
            stop_process(process)
    logs = {p.name: p.read_text(errors="replace") for p in tmp_path.glob("*.log")}

    slots = [r.slot_at for r in runs]
    # One run per slot (the unique claim), slots 5 s apart, each started close to its slot
    assert len(slots) == len(set(slots))
    gaps = {b - a for a, b in zip(slots, slots[1:], strict=False)}
    assert gaps <= {timedelta(seconds=5)}, gaps
    finished = [r for r in runs if r.status != "running"]
    assert all(r.status == "succeeded" for r in finished), [(r.status, r.error) for r in finished]
    # "About every 5 s": no slot starts before its time or more than one interval late
    assert all(timedelta(0) <= r.started_at - r.slot_at < timedelta(seconds=5) for r in finished[1:])
    # Both schedulers were ticking: every slot was enqueued twice and the second message found it claimed
    assert "Registered periodic actors" in logs["scheduler-1.log"] + logs["scheduler-2.log"]
    assert logs["worker.log"].count("already claimed") >= len(finished) - 1, logs["worker.log"][-3000:]
    # The worker's own value disagrees with the schedulers': said once, not for each tick (two schedulers:
    # every minute twice)
    mismatch = [line for line in logs["worker.log"].splitlines() if "QLOAPPS_SYNC_INTERVAL_MS" in line]
    assert len(mismatch) == 1 and "5000" in mismatch[0] and "300000" in mismatch[0], mismatch
    # The changes came with incremental pulls, not a fallback
    assert all(r.kind == "incremental" and r.trigger == "schedule" for r in finished)


def _manual_run_status(session_factory) -> str | None:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return session.scalar(select(QloAppsSyncState.status).where(QloAppsSyncState.trigger == "manual")
                              .order_by(QloAppsSyncState.id.desc()).limit(1))


def make_same_second_changes(simulator, client, order_ids: list[int], movable: int) -> list[int]:  # type: ignore[no-untyped-def]
    simulator.store.clock.freeze()
    simulator.store.cancel_booking(order_ids[0])
    move_booking(client, movable, days=2)
    new_id = client.create_booking(request_like(client, order_ids[3], (
        RoomTypeRequest(1, date(2029, 3, 1), date(2029, 3, 4), rooms=(RoomRequest(adults=2),)),
        RoomTypeRequest(3, date(2029, 3, 2), date(2029, 3, 5), rooms=(RoomRequest(adults=1), RoomRequest(adults=2))),
    ))).id
    simulator.store.clock.unfreeze()
    return [order_ids[0], movable, new_id]


def _arrived(session_factory, config_id: int, simulator, order_id: int) -> bool:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        try:
            return actual_booking(session, config_id, order_id) == expected_booking(simulator, order_id, session)
        except NoResultFound:
            return False
