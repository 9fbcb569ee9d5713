"""What the inbound actors call, run with an explicit Runtime (no broker needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from qlosync.db.models import QloAppsConfig, QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.runtime.context import Runtime
from qlosync.sync.inbound import jobs
from qlosync.sync.inbound.schedule_slots import slot_offset_ms


@pytest.fixture
def runtime(settings, shop):  # type: ignore[no-untyped-def]
    built = Runtime.build(settings.with_(sync_interval_ms=15_000))
    yield built
    built.close()


def test_tick_enqueues_this_minutes_slots_for_enabled_shops_only(runtime, session_factory, shop):
    sent = []
    minute = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert jobs.tick(runtime, lambda name, slot, delay: sent.append((name, slot, delay)), now=minute) == 4
    # The shop's slots sit at its own offset in the 15 s interval (a stable hash of its name)
    offset = slot_offset_ms("default", 15_000)
    assert [(n, s, d) for n, s, d in sent] == [
        ("default", minute + timedelta(milliseconds=offset + k * 15_000), offset + k * 15_000) for k in range(4)]
    with transaction(session_factory) as session:
        session.execute(update(QloAppsConfig).values(sync_enabled=False))
    assert jobs.tick(runtime, lambda *a: sent.append(a), now=minute) == 0



def test_a_tick_caught_up_late_sends_its_minutes_slots_as_one_pull_at_once(runtime, shop):
    """A tick periodiq dropped is sent again (runtime.middleware.dropped_ticks) naming its minute: the slots
    of that minute, all past by now, collapse into one pull sent without delay; none is lost."""
    minute = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    late = minute + timedelta(minutes=3, seconds=10)
    sent = []
    assert jobs.tick(runtime, lambda name, slot, delay: sent.append((name, slot, delay)), now=late, minute=minute) == 1
    offset = slot_offset_ms("default", 15_000)
    assert sent == [("default", minute + timedelta(milliseconds=offset + 3 * 15_000), 0)]
    # while the tick of the current minute sends the current minute's slots
    current = []
    jobs.tick(runtime, lambda name, slot, delay: current.append(slot), now=late)
    assert current and all(slot >= late.replace(second=0) for slot in current)

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


def test_tick_sends_no_slot_to_a_shop_whose_breaker_is_open(runtime, session_factory, shop):
    from qlosync.db.models import QloAppsShopGate

    minute = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    with transaction(session_factory) as session:
        # paused until the middle of the minute: the slots after that are sent (the first one is the trial)
        session.add(QloAppsShopGate(config_id=shop.id, failures=3, trips=1, open_until=minute + timedelta(seconds=30)))
    sent: list[tuple[str, datetime, int]] = []
    assert jobs.tick(runtime, lambda name, slot, delay: sent.append((name, slot, delay)), now=minute) == 2
    assert all(slot >= minute + timedelta(seconds=30) for _, slot, _ in sent)


def test_prune_deletes_old_runs_but_keeps_each_shops_latest(runtime, session_factory, shop):
    from datetime import timedelta as td

    from qlosync.db.models import QloAppsSyncState as Run

    now = datetime.now(UTC)
    with transaction(session_factory) as session:
        for age_days, status in ((90, "succeeded"), (60, "failed"), (40, "succeeded"), (1, "succeeded")):
            session.add(Run(config_id=shop.id, kind="incremental", trigger="schedule", status=status,
                            started_at=now - td(days=age_days)))
    assert jobs.prune(runtime, now=now) == 3
    with transaction(session_factory) as session:
        ages = [(now - r.started_at).days for r in session.scalars(select(Run))]
    assert ages == [1]
    # The only run of a shop stays even when it is old
    with transaction(session_factory) as session:
        session.execute(update(Run).values(started_at=now - td(days=400)))
    assert jobs.prune(runtime, now=now) == 0


def test_the_tick_keeps_the_schedulers_interval_and_a_worker_that_disagrees_warns_once(runtime, shop, caplog,
                                                                                     monkeypatch):
    # A process that has said nothing yet: the test runs once per PMS adapter, in one process or several.
    monkeypatch.setattr(jobs, "_mismatches_told", set())
    # The worker runs with 15 s; the scheduler that sent the ticks with 6 s (the value its messages carry).
    minute = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    offset = slot_offset_ms("default", 6_000)
    caplog.set_level("WARNING", logger="qlosync.sync.inbound.jobs")
    for _ in range(3):  # three ticks (or one delivered three times)
        sent: list[tuple[str, datetime, int]] = []
        interval = jobs.scheduler_interval(runtime.settings, 6_000)
        assert jobs.tick(runtime, lambda name, slot, delay: sent.append((name, slot, delay)), now=minute,
                         interval_ms=interval) == 10
        assert [s for _, s, _ in sent] == [minute + timedelta(milliseconds=offset + k * 6_000) for k in range(10)]
    warnings = [r for r in caplog.records if getattr(r, "action", None) == "interval_mismatch"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "6000" in warnings[0].getMessage() and "15000" in warnings[0].getMessage()
    # A tick from an older scheduler carries nothing: the worker's own value, and no warning
    assert jobs.scheduler_interval(runtime.settings, None) == 15_000
    assert jobs.scheduler_interval(runtime.settings, 15_000) == 15_000
    assert len([r for r in caplog.records if getattr(r, "action", None) == "interval_mismatch"]) == 1


def test_a_scheduled_pull_counts_its_lateness_in_the_schedulers_interval(simulator, runtime, mapped_catalog, shop):
    simulator.store.generate_bookings(2, seed=9)
    assert jobs.pull(runtime, "default", kind="incremental", trigger="manual", slot_at=None,
                     retry_booking=print).status == "succeeded"
    now = datetime.now(UTC)
    # 20 s late, and a pull started since: two of the scheduler's 5 s intervals, so covered ...
    late = jobs.pull(runtime, "default", kind="incremental", trigger="schedule",
                     slot_at=(now - timedelta(seconds=20)).isoformat(), retry_booking=print, interval_ms=5_000)
    assert (late.status, late.error) == ("skipped", "a later pull already covered this slot")
    # ... but not two of the worker's own 15 s ones: a slot that carries no interval runs
    own = jobs.pull(runtime, "default", kind="incremental", trigger="schedule",
                    slot_at=(now - timedelta(seconds=21)).isoformat(), retry_booking=print)
    assert own.status == "succeeded"


# -- what an idle pull costs (issue 22 item 4) --------------------------------------------------------------

ADVISORY_LOCKS_HERE = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                       "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def _scheduled_pull(runtime, number: int):  # type: ignore[no-untyped-def]
    slot = datetime.now(UTC).replace(microsecond=0) + timedelta(milliseconds=number)
    return jobs.pull(runtime, "default", kind="incremental", trigger="schedule", slot_at=slot.isoformat(),
                     retry_booking=lambda _id: None)


def test_an_idle_scheduled_pull_costs_three_transactions_and_one_request(runtime, simulator, mapped_catalog):
    from sqlalchemy import event, text

    simulator.store.generate_bookings(30, seed=3)
    assert _scheduled_pull(runtime, 0).status == "succeeded"  # the first: a full pull
    assert _scheduled_pull(runtime, 1).status == "succeeded"  # warms the gate's rows up
    begun: list[object] = []

    def count(connection: object) -> None:
        begun.append(connection)

    event.listen(runtime.engine, "begin", count)
    simulator.reset_counts()
    report = _scheduled_pull(runtime, 2)
    event.remove(runtime.engine, "begin", count)
    # The newest bookings are inside the cursor's overlap: re-read, found unchanged
    assert report.status == "succeeded" and report.counts["seen"] > 0 and report.counts["unchanged"] == report.counts["seen"]
    assert sum(simulator.request_counts.values()) == 1
    # The shop's config, the run's first transaction (claim, lock, bookkeeping, the request's admission) and
    # its last (outcome, the request's end, unlock)
    assert len(begun) == 3
    with runtime.engine.connect() as connection:
        # Every lane given back, the breaker's success noted, and no advisory lock left behind
        assert connection.execute(text("SELECT count(*) FROM qloapps_request_lanes WHERE holder IS NOT NULL")).scalar() == 0
        assert connection.execute(text("SELECT failures FROM qloapps_shop_gate")).scalar() == 0
        assert connection.execute(text(ADVISORY_LOCKS_HERE)).scalar() == 0


def test_a_pulls_first_request_that_fails_is_counted_by_the_breaker_at_once(runtime, simulator, mapped_catalog):
    from sqlalchemy import text

    simulator.store.generate_bookings(5, seed=3)
    assert _scheduled_pull(runtime, 0).status == "succeeded"
    simulator.faults.add("http_500", count=1, method="GET", path="/api/orders")
    report = _scheduled_pull(runtime, 1)
    assert report.status == "failed" and "QloAppsServerError" in (report.error or "")
    with runtime.engine.connect() as connection:
        assert connection.execute(text("SELECT failures FROM qloapps_shop_gate")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM qloapps_request_lanes WHERE holder IS NOT NULL")).scalar() == 0
        assert connection.execute(text(ADVISORY_LOCKS_HERE)).scalar() == 0
    # And the next one goes through, its success closing the count
    assert _scheduled_pull(runtime, 2).status == "succeeded"
    with runtime.engine.connect() as connection:
        assert connection.execute(text("SELECT failures FROM qloapps_shop_gate")).scalar() == 0


def test_a_pull_that_finds_the_shop_locked_is_skipped_in_its_first_transaction(runtime, simulator, mapped_catalog,
                                                                              shop):
    from sqlalchemy import text

    from qlosync.sync.locks import lock_key

    simulator.store.generate_bookings(5, seed=3)
    with runtime.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("qloapps-pull", shop.id)})
        other.commit()
        simulator.reset_counts()
        report = _scheduled_pull(runtime, 0)
        other.execute(text("SELECT pg_advisory_unlock_all()"))
        other.commit()
    assert (report.status, report.error) == ("skipped", "another pull of this shop is running")
    assert sum(simulator.request_counts.values()) == 0
    with runtime.engine.connect() as connection:
        # Nothing admitted for a request that never came
        assert connection.execute(text("SELECT count(*) FROM qloapps_request_lanes WHERE holder IS NOT NULL")).scalar() == 0
    with transaction(runtime.session_factory) as session:
        run = session.get_one(QloAppsSyncState, report.run_id)
        assert (run.status, run.finished_at is not None) == ("skipped", True)


def test_a_shop_of_one_lane_pulls_page_after_page_without_polling_for_its_own_lane(runtime, simulator,
                                                                                   mapped_catalog, shop, monkeypatch):
    from qlosync.db.models import QloAppsConfig
    from qlosync.sync.gate import ShopGate

    with transaction(runtime.session_factory) as session:
        session.execute(update(QloAppsConfig).values(max_concurrent_requests=1))
    simulator.store.generate_bookings(10, seed=3)
    assert _scheduled_pull(runtime, 0).status == "succeeded"
    waits: list[str] = []
    real_wait = ShopGate._wait_for_lane
    monkeypatch.setattr(ShopGate, "_wait_for_lane", lambda self, holder: waits.append(holder) or real_wait(self, holder))
    simulator.store.generate_bookings(250, seed=4)
    simulator.reset_counts()
    report = _scheduled_pull(runtime, 1)
    # Three pages, each its orders, room lines and customers, one request at a time in the one lane: the
    # first request's lane (admitted ahead) is given back when the next one is admitted, never waited for
    assert report.status == "succeeded" and report.counts["created"] == 250
    assert simulator.request_counts["GET /api/orders"] == 3 and simulator.request_counts["GET /api/room_bookings"] == 3
    assert waits == []
