"""What the inbound actors call, run with an explicit Runtime (no broker needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from qlosync.db.models import QloAppsConfig, QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.runtime.context import Runtime
from qlosync.sync.inbound import jobs


@pytest.fixture
def runtime(settings, shop):  # type: ignore[no-untyped-def]
    built = Runtime.build(settings.with_(sync_interval_ms=15_000))
    yield built
    built.close()


def test_tick_enqueues_this_minutes_slots_for_enabled_shops_only(runtime, session_factory, shop):
    sent = []
    minute = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert jobs.tick(runtime, lambda name, slot, delay: sent.append((name, slot, delay)), now=minute) == 4
    assert [(n, s.second, d) for n, s, d in sent] == [("default", 0, 0), ("default", 15, 15_000),
                                                      ("default", 30, 30_000), ("default", 45, 45_000)]
    with transaction(session_factory) as session:
        session.execute(update(QloAppsConfig).values(sync_enabled=False))
    assert jobs.tick(runtime, lambda *a: sent.append(a), now=minute) == 0


def test_pull_job_records_a_run_and_skips_a_disabled_shop(simulator, runtime, session_factory, mapped_catalog, shop):
    simulator.store.generate_bookings(4, seed=3)
    report = jobs.pull(runtime, "default", kind="incremental", trigger="manual", slot_at=None, retry_booking=print)
    assert report is not None and report.status == "succeeded" and report.counts["created"] == 4
    with transaction(session_factory) as session:
        session.execute(update(QloAppsConfig).values(sync_enabled=False))
    assert jobs.pull(runtime, "default", kind="incremental", trigger="schedule", slot_at=None, retry_booking=print) is None
    with transaction(session_factory) as session:
        assert len(session.scalars(select(QloAppsSyncState)).all()) == 1


def test_a_scheduled_pull_without_database_is_dropped_but_a_manual_one_raises(settings, shop):
    from sqlalchemy.exc import OperationalError

    down = Runtime.build(settings.with_(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none"))
    try:
        assert jobs.pull(down, "default", kind="incremental", trigger="schedule",
                         slot_at=datetime.now(UTC).isoformat(), retry_booking=print) is None
        with pytest.raises(OperationalError):
            jobs.pull(down, "default", kind="incremental", trigger="manual", slot_at=None, retry_booking=print)
    finally:
        down.close()


def test_import_one_applies_a_single_booking(simulator, runtime, mapped_catalog, shop):
    order_id = simulator.store.generate_bookings(1, seed=5)[0]
    assert jobs.import_one(runtime, "default", order_id).outcome == "created"
    assert jobs.import_one(runtime, "default", order_id).outcome == "unchanged"
