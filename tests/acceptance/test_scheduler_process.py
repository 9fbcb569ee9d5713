"""The scheduler for real: `periodiq qlosync.schedule` twice and a `dramatiq qlosync.actors` worker.

periodiq ticks at the start of each minute, so this test takes one to two minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from qlosync.db.models import QloAppsSyncState
from qlosync.db.session import transaction
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_five_second_interval_runs_one_pull_per_slot_with_two_schedulers(
    simulator, shop, mapped_catalog, session_factory, database_url, secret_key, fresh_vhost, tmp_path  # noqa: F811
):
    simulator.store.generate_bookings(20, seed=1)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))},
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": fresh_vhost,
        "QLOSYNC_SECRET_KEY": secret_key.reveal(),
        "QLOAPPS_SYNC_INTERVAL_MS": "5000",
        "TZ": "UTC",
    }
    processes = [
        _start([str(BIN / "dramatiq"), "qlosync.actors", "--processes", "1", "--threads", "2"], env, tmp_path / "worker.log"),
        _start([str(BIN / "periodiq"), "qlosync.schedule"], env, tmp_path / "scheduler-1.log"),
        _start([str(BIN / "periodiq"), "qlosync.schedule"], env, tmp_path / "scheduler-2.log"),
    ]
    try:
        def scheduled_runs() -> list[QloAppsSyncState]:
            with transaction(session_factory) as session:
                return list(session.scalars(
                    select(QloAppsSyncState).where(QloAppsSyncState.trigger.in_(("schedule", "fallback")),
                                                   QloAppsSyncState.slot_at.is_not(None))
                    .order_by(QloAppsSyncState.slot_at)))

        runs = wait_until(lambda: [r for r in scheduled_runs() if r.status != "running"][5:] and scheduled_runs(),
                          timeout=150, interval=0.5, what="six finished scheduled pulls")
    finally:
        for process in processes:
            _stop(process)
    logs = {p.name: p.read_text(errors="replace") for p in tmp_path.glob("*.log")}

    slots = [r.slot_at for r in runs]
    # One run per slot (the unique claim), slots 5 s apart, each started close to its slot
    assert len(slots) == len(set(slots))
    gaps = {b - a for a, b in zip(slots, slots[1:], strict=False)}
    assert gaps <= {timedelta(seconds=5)}, gaps
    finished = [r for r in runs if r.status != "running"]
    assert all(r.status == "succeeded" for r in finished), [(r.status, r.error) for r in finished]
    assert all(timedelta(0) <= r.started_at - r.slot_at < timedelta(seconds=4) for r in finished[1:])
    # Both schedulers were ticking: every slot was enqueued twice and the second message found it claimed
    assert "Registered periodic actors" in logs["scheduler-1.log"] + logs["scheduler-2.log"]
    assert logs["worker.log"].count("already claimed") >= len(finished) - 1, logs["worker.log"][-3000:]
