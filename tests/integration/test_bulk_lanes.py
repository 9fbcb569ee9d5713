"""Fairness between shops: a big full pull needs one of a few cluster-wide bulk lanes, so big imports never
occupy every worker thread; while none is free a shop with a cursor keeps pulling incrementally."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from qlosync.db.models import QloAppsSyncCursor, QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.sync.inbound.pull import PullOptions, run_pull
from qlosync.sync.locks import one_of_locks


@pytest.fixture
def bulk_deps(deps, simulator):  # type: ignore[no-untyped-def]
    # Any shop with 5 orders or more counts as a bulk import here; one lane in the whole cluster.
    return dataclasses.replace(deps, options=PullOptions(bulk_min_orders=5, bulk_lanes=1))


def _cursor(session_factory, config_id):  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return session.get(QloAppsSyncCursor, config_id)


def test_a_bulk_import_waits_for_a_lane_and_runs_once_one_is_free(bulk_deps, engine, session_factory,
                                                                  simulator, mapped_catalog, shop):
    simulator.store.generate_bookings(8, seed=5)
    with one_of_locks(engine, "qloapps-bulk-lane", 1) as held:  # another worker's big import
        assert held == 0
        report = run_pull(bulk_deps, kind="incremental", trigger="schedule")
    assert (report.kind, report.status) == ("full", "skipped")
    assert "waits for one of the 1 bulk lanes" in (report.error or "")
    assert report.counts["created"] == 0
    assert _cursor(session_factory, shop.id).full_sync_reason  # still owed

    report = run_pull(bulk_deps, kind="incremental", trigger="schedule")
    assert (report.kind, report.status, report.counts["created"]) == ("full", "succeeded", 8)
    assert _cursor(session_factory, shop.id).full_sync_reason is None


def test_a_shop_with_a_cursor_pulls_incrementally_while_its_full_pull_waits(bulk_deps, engine, session_factory,
                                                                           simulator, mapped_catalog, shop):
    ids = simulator.store.generate_bookings(8, seed=6)
    assert run_pull(bulk_deps, kind="full", trigger="manual").status == "succeeded"
    simulator.store.clock.advance(2)  # date_upd has whole seconds
    simulator.store.cancel_booking(ids[0])
    with one_of_locks(engine, "qloapps-bulk-lane", 1) as held:
        assert held == 0
        report = run_pull(bulk_deps, kind="full", trigger="nightly")
    # The change still arrived, by an incremental pull, and the full one is still owed
    assert (report.kind, report.status, report.counts["updated"]) == ("incremental", "succeeded", 1)
    with transaction(session_factory) as session:
        run = session.scalars(select(QloAppsSyncState).order_by(QloAppsSyncState.id.desc())).first()
        assert run is not None and run.kind == "incremental"
    assert "bulk lane" in (_cursor(session_factory, shop.id).full_sync_reason or "")
    report = run_pull(bulk_deps, kind="incremental", trigger="schedule")
    assert (report.kind, report.trigger, report.status) == ("full", "fallback", "succeeded")
    assert _cursor(session_factory, shop.id).full_sync_reason is None


def test_a_small_full_pull_needs_no_lane(deps, engine, simulator, mapped_catalog):
    simulator.store.generate_bookings(3, seed=7)
    small = dataclasses.replace(deps, options=PullOptions(bulk_min_orders=1_000, bulk_lanes=1))
    with one_of_locks(engine, "qloapps-bulk-lane", 1):
        report = run_pull(small, kind="full", trigger="manual")
    assert (report.status, report.counts["created"]) == ("succeeded", 3)


def test_lanes_are_a_semaphore(engine):
    with one_of_locks(engine, "test-lanes", 2) as a, one_of_locks(engine, "test-lanes", 2) as b:
        with one_of_locks(engine, "test-lanes", 2) as c:
            assert (a, b, c) == (0, 1, None)
    with one_of_locks(engine, "test-lanes", 2) as again:
        assert again == 0

