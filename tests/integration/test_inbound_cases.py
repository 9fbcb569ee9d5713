"""Inbound edge cases: parked room types, echo suppression, fallback to full, stale slots, apply twice."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select, update

from qlosync.cli import cli
from qlosync.db.models import (
    QloAppsReservationMapping,
    QloAppsRoomTypeMapping,
    QloAppsSyncCursor,
    QloAppsSyncLog,
    QloAppsSyncState,
)
from qlosync.db.session import transaction
from qlosync.qloapps.client import QloAppsClient
from qlosync.sync.inbound import runs
from qlosync.sync.inbound.apply import Catalog, apply_snapshot
from qlosync.sync.inbound.mapper import content_hash, map_snapshot
from qlosync.sync.inbound.pull import run_pull
from tests.integration.sync_helpers import actual_booking, expected_booking, write_fingerprint
from tests.pms_desk import desk_for


def test_unmapped_room_type_is_parked_visible_and_applied_after_mappings_set(
    simulator, deps, client, session_factory, mapped_catalog, shop, database_url, secret_key, pms_environ
):
    # Given room type 4 is not mapped
    with transaction(session_factory) as session:
        pms_type = session.scalars(
            select(QloAppsRoomTypeMapping.pms_room_type_id).where(QloAppsRoomTypeMapping.qloapps_room_type_id == 4)
        ).one()
        session.execute(QloAppsRoomTypeMapping.__table__.delete().where(QloAppsRoomTypeMapping.qloapps_room_type_id == 4))
    order_ids = simulator.store.generate_bookings(60, seed=4)
    with_type_4 = {r["id_order"] for r in simulator.store.table("room_bookings").values() if r["id_product"] == 4}
    assert with_type_4

    # When a pull runs, those bookings are parked and the others applied
    report = run_pull(deps)
    assert report.counts["parked"] == len(with_type_4)
    assert report.counts["created"] == len(order_ids) - len(with_type_4)
    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal()}
    status = CliRunner().invoke(cli, ["status"], env=env)
    assert f"parked {len(with_type_4)}" in status.output
    with transaction(session_factory) as session:
        reasons = set(session.scalars(select(QloAppsReservationMapping.parked_reason).where(
            QloAppsReservationMapping.parked_reason.is_not(None))))
        assert reasons == {"QloApps room type(s) 4 not mapped to a PMS room type"}
        assert session.scalar(select(func.count()).select_from(QloAppsSyncLog).where(QloAppsSyncLog.action == "parked")) == len(with_type_4)

    # Then mapping the room type applies them at once
    result = CliRunner().invoke(cli, ["mappings", "set", "4", str(pms_type)], env=env)
    assert result.exit_code == 0, result.output
    assert f"created {len(with_type_4)}" in result.output
    with transaction(session_factory) as session:
        for order_id in with_type_4:
            assert actual_booking(session, shop.id, order_id) == expected_booking(simulator, order_id, session)
        assert session.scalar(select(func.count()).select_from(QloAppsReservationMapping).where(
            QloAppsReservationMapping.parked_reason.is_not(None))) == 0


def test_a_booking_qlosync_pushed_itself_is_not_imported_again(simulator, deps, client, engine, session_factory,
                                                               mapped_catalog, shop):
    # Given a booking that the outbound side created in QloApps and recorded (origin pms, hash of what it pushed)
    order_id = simulator.store.generate_bookings(1, seed=9)[0]
    snapshot = client.snapshots_for(client.get_orders([order_id]))[0]
    with transaction(session_factory) as session:
        reservation_id = _create_reservation_like(session, shop, snapshot)
        mapping = session.scalars(select(QloAppsReservationMapping).where(
            QloAppsReservationMapping.qloapps_order_id == order_id)).one()
        mapping.origin = "pms"
    with transaction(session_factory) as session:  # once committed: the desk reads the PMS on its own connection
        before = write_fingerprint(session)
    # When the pull sees it
    report = run_pull(deps, kind="full")
    # Then it is a no-op: no new reservation, nothing written
    assert report.counts["unchanged"] == 1 and report.counts["created"] == 0
    assert desk_for(engine).reservation_count() == 1
    with transaction(session_factory) as session:
        assert session.scalars(select(QloAppsReservationMapping.pms_reservation_id)).one() == reservation_id
        after = write_fingerprint(session)
    assert {k: v for k, v in after.items() if k != "qloapps_sync_cursor"} == {
        k: v for k, v in before.items() if k != "qloapps_sync_cursor"}


def _create_reservation_like(session, shop, snapshot) -> str | None:  # type: ignore[no-untyped-def]
    catalog = Catalog.load(session, shop.id, {1: "USD"})
    result = apply_snapshot(session, shop, snapshot, catalog)
    mapping = session.scalars(select(QloAppsReservationMapping)).one()
    assert mapping.qloapps_hash == content_hash(map_snapshot(snapshot, {1: "USD"}))
    return result.pms_reservation_id


def test_applying_the_same_booking_twice_writes_nothing(simulator, client, session_factory, mapped_catalog, shop):
    order_id = simulator.store.generate_bookings(1, seed=12)[0]
    snapshot = client.snapshots_for(client.get_orders([order_id]))[0]
    with transaction(session_factory) as session:
        first = apply_snapshot(session, shop, snapshot, Catalog.load(session, shop.id, {1: "USD"}))
    with transaction(session_factory) as session:
        before = write_fingerprint(session)
        second = apply_snapshot(session, shop, snapshot, Catalog.load(session, shop.id, {1: "USD"}))
    with transaction(session_factory) as session:
        after = write_fingerprint(session)
    assert (first.outcome, second.outcome) == ("created", "unchanged")
    assert after == before


def test_a_doubtful_cursor_makes_the_next_pull_full(simulator, deps, session_factory, mapped_catalog, shop):
    simulator.store.generate_bookings(5, seed=1)
    run_pull(deps)
    with transaction(session_factory) as session:
        session.execute(update(QloAppsSyncCursor).values(full_sync_reason="filter ignored"))
    report = run_pull(deps, kind="incremental", trigger="schedule")
    assert (report.kind, report.trigger, report.status) == ("full", "fallback", "succeeded")
    with transaction(session_factory) as session:
        assert session.get_one(QloAppsSyncCursor, shop.id).full_sync_reason is None


class _FilterIgnoringClient(QloAppsClient):
    """A QloApps that ignores the date filter and lists every order (what an unparsable date does, B29)."""

    def iter_orders_changed_since(self, cursor, *, overlap=timedelta(seconds=2), page_size=None):  # type: ignore[no-untyped-def]
        return self.iter_all_orders(page_size)


def test_an_ignored_date_filter_fails_the_run_and_forces_a_full_pull(simulator, deps, session_factory, mapped_catalog, shop):
    simulator.store.generate_bookings(5, seed=1)
    run_pull(deps)
    simulator.store.clock.freeze(simulator.store.clock.now() + timedelta(hours=1))
    simulator.store.generate_bookings(1, seed=2)
    assert run_pull(deps, kind="incremental").kind == "incremental"  # the cursor is now an hour later
    deps.client = _FilterIgnoringClient(shop.base_url, shop.api_key)
    report = run_pull(deps, kind="incremental", trigger="schedule")
    assert report.status == "failed" and "DoubtfulCursorError" in (report.error or "")
    with transaction(session_factory) as session:
        assert session.get_one(QloAppsSyncCursor, shop.id).full_sync_reason
    assert run_pull(deps, kind="incremental").kind == "full"


def test_a_stale_slot_is_skipped_when_a_later_pull_covered_it(simulator, deps, session_factory, mapped_catalog):
    simulator.store.generate_bookings(3, seed=1)
    old_slot = runs.now() - timedelta(hours=1)
    assert run_pull(deps).status == "succeeded"  # a pull after the slot
    report = run_pull(deps, slot_at=old_slot, trigger="schedule")
    assert report.status == "skipped" and "covered" in (report.error or "")
    # And the same slot can never run twice
    assert run_pull(deps, slot_at=old_slot, trigger="schedule").status == "duplicate"


def test_a_run_left_running_by_a_dead_worker_is_marked_failed_by_the_next_pull(simulator, deps, session_factory, shop):
    with transaction(session_factory) as session:
        dead = runs.start_run(session, shop.id, "incremental", "schedule").id
    report = run_pull(deps)
    with transaction(session_factory) as session:
        row = session.get_one(QloAppsSyncState, dead)
        assert (row.status, row.error) == ("failed", "interrupted: its worker stopped or died")
        assert session.get_one(QloAppsSyncState, report.run_id).status == "succeeded"


def test_an_interrupted_pull_closes_its_run_row(simulator, deps, session_factory, mapped_catalog, shop):
    simulator.store.generate_bookings(3, seed=1)

    def interrupt(_report):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # stands in for dramatiq's TimeLimitExceeded (also a BaseException)

    deps.progress = interrupt
    try:
        run_pull(deps)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt was swallowed")
    with transaction(session_factory) as session:
        run = session.scalars(select(QloAppsSyncState)).one()
        assert run.status == "failed" and run.error.startswith("interrupted: KeyboardInterrupt")
        assert run.created == 3  # the committed page stands
