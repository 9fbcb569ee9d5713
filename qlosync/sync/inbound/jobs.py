"""What the inbound actors do, as plain functions of a Runtime (tests call these without a broker)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import select, true
from sqlalchemy.exc import OperationalError

from qlosync.db.models import QloAppsConfig, QloAppsShopGate, QloAppsSyncState
from qlosync.errors import ConfigurationError, SyncDisabledError, TransientError
from qlosync.runtime.context import Runtime
from qlosync.settings import MIN_SYNC_INTERVAL_MS, Settings
from qlosync.sync.inbound import runs
from qlosync.sync.inbound.apply import ApplyResult
from qlosync.sync.inbound.pull import RunReport, import_booking, run_pull
from qlosync.sync.inbound.schedule_slots import shop_slots
from qlosync.sync.service import load_shop_config, pull_deps
from qlosync.states import RunKind, RunStatus, RunTrigger

logger = logging.getLogger(__name__)

# Triggers of the pulls the scheduler enqueues, by kind: "schedule" every QLOAPPS_SYNC_INTERVAL_MS, and
# "nightly" for the full reconciliation at QLOSYNC_FULL_SYNC_AT (the slot's claim records the same).
SLOT_TRIGGERS = runs.SLOT_TRIGGERS
SCHEDULED_TRIGGERS = tuple(SLOT_TRIGGERS.values())


class Enqueue(Protocol):
    """Sends one scheduled pull (the actor: a delayed ``pull_bookings`` message)."""

    def __call__(self, shop: str, slot: datetime, delay_ms: int, kind: str = RunKind.INCREMENTAL) -> None: ...


def pull(runtime: Runtime, shop_name: str, *, kind: str, trigger: str, slot_at: str | None,
         retry_booking: Callable[[int], object], message_id: str | None = None,
         interval_ms: int | None = None) -> RunReport | None:
    """One pull; a shop whose sync was switched off (or that was removed) meanwhile is skipped quietly (not
    dead-lettered), and one whose configuration cannot work is a failed run with the error (not a dead letter).

    *interval_ms* is the interval of the scheduler that made the slot (how late a slot may run is measured
    in its intervals); without it, this process's own.

    A scheduled pull that cannot even start (PostgreSQL down) is dropped with a warning: the next slot
    is the retry, and a dead letter per slot would bury the real ones. A manual pull raises instead.
    A nightly full reconciliation that claimed its slot but did not succeed (failed, or skipped because
    another pull held the shop or a later pull started first) leaves a full-sync reason on the cursor:
    the next pull of the shop becomes a full one (``trigger = fallback``), so the night is not lost.
    """
    try:
        settings = runtime.settings if interval_ms is None else runtime.settings.with_(sync_interval_ms=interval_ms)
        shop = load_shop_config(settings, runtime.session_factory, shop_name, require_enabled=True)
        slot = datetime.fromisoformat(slot_at) if slot_at else None
        with pull_deps(settings, runtime.engine, runtime.session_factory, shop, retry_booking) as deps:
            report = run_pull(deps, kind=kind, trigger=trigger, slot_at=slot, message_id=message_id)
        if trigger == RunTrigger.NIGHTLY and report.status in (RunStatus.FAILED, RunStatus.SKIPPED):
            _owe_full_sync(runtime, shop.id, f"the nightly full reconciliation of {slot_at} was {report.status}: "
                                             f"{report.error}")
        return report
    except ConfigurationError as exc:
        return _configuration_failed(runtime, shop_name, kind, trigger, slot_at, message_id, exc)
    except SyncDisabledError:
        logger.info("Sync of %s is disabled: pull skipped.", shop_name, extra={"action": "pull_skipped"})
        return None
    except (TransientError, OperationalError) as exc:
        if trigger not in SCHEDULED_TRIGGERS:
            raise
        logger.warning("Scheduled pull of %s (slot %s) could not run: %s: %s; the next slot retries.", shop_name,
                       slot_at, type(exc).__name__, exc, extra={"action": "pull_dropped"})
        return None


def _configuration_failed(runtime: Runtime, shop_name: str, kind: str, trigger: str, slot_at: str | None,
                          message_id: str | None, exc: ConfigurationError) -> RunReport | None:
    """A failed run with the error, not a dead letter per slot; tick() then sends the shop no more slots."""
    error = f"{type(exc).__name__}: {exc}"
    with runtime.transaction() as session:
        found = session.execute(select(QloAppsConfig.id, QloAppsConfig.pms_hotel_id)
                                .where(QloAppsConfig.name == shop_name)).one_or_none()
        config_id, pms_hotel_id = found if found is not None else (None, None)
        if config_id is None:
            logger.info("Pull of %s skipped: the shop is not configured (removed meanwhile?).", shop_name,
                        extra={"action": "pull_skipped"})
            return None
        slot = datetime.fromisoformat(slot_at) if slot_at else None
        run = runs.fail_on_configuration(session, config_id, kind, trigger, slot, error, message_id)
        if run is None:
            return RunReport(None, kind, trigger, status="duplicate")
        session.flush()
        report = RunReport(run.id, kind, trigger, status=RunStatus.FAILED, error=run.error)
    runs.report_to_pms(runtime.session_factory, shop_name, pms_hotel_id, RunStatus.FAILED, error)
    logger.warning("Pull of %s cannot run: %s; no scheduled pulls until its configuration changes.", shop_name, error,
                   extra={"action": "pull_misconfigured"})
    return report


def import_one(runtime: Runtime, shop_name: str, order_id: int) -> ApplyResult:
    shop = load_shop_config(runtime.settings, runtime.session_factory, shop_name)
    with pull_deps(runtime.settings, runtime.engine, runtime.session_factory, shop, lambda _: None) as deps:
        return import_booking(deps, order_id)


def _owe_full_sync(runtime: Runtime, config_id: int, reason: str) -> None:
    """Make the shop's next pull a full one (unless a reason is already pending)."""
    with runtime.transaction() as session:
        row = runs.cursor_row(session, config_id, lock=True)
        if not row.full_sync_reason:
            row.full_sync_reason = reason[:2000]
    logger.warning("Nightly full reconciliation of shop %s did not run to the end; the next pull is a full one: %s",
                   config_id, reason, extra={"action": "nightly_missed"})


_mismatch_lock = threading.Lock()
_mismatches_told: set[tuple[int, int]] = set()


def scheduler_interval(settings: Settings, carried: object) -> int:
    """The interval a tick's slots are made of: the one its scheduler carried, else this process's own.

    A worker whose own QLOAPPS_SYNC_INTERVAL_MS differs says so once per value, not on every tick: the
    scheduler's value is the one that counts, but an operator who set it here meant something.
    """
    own = settings.sync_interval_ms
    if carried is None:
        return own
    if not isinstance(carried, int) or isinstance(carried, bool) or carried < MIN_SYNC_INTERVAL_MS:
        logger.warning("A scheduler tick carried an unusable interval %r; using this worker's "
                       "QLOAPPS_SYNC_INTERVAL_MS=%s.", carried, own, extra={"action": "interval_invalid"})
        return own
    if carried != own:
        with _mismatch_lock:
            first = (own, carried) not in _mismatches_told
            _mismatches_told.add((own, carried))
        if first:
            logger.warning("The scheduler's QLOAPPS_SYNC_INTERVAL_MS=%s is used for the pull slots; this worker's "
                           "own QLOAPPS_SYNC_INTERVAL_MS=%s is ignored (set the interval on the scheduler; said "
                           "once).", carried, own, extra={"action": "interval_mismatch"})
    return carried


def tick(runtime: Runtime, enqueue: Enqueue, now: datetime | None = None, interval_ms: int | None = None,
         minute: datetime | None = None) -> int:
    """Enqueue the pull slots of the current minute (or of *minute*: a tick caught up late) for every enabled
    shop; returns how many.

    The slots are *interval_ms* apart (the scheduler's interval, see :func:`scheduler_interval`), or this
    process's QLOAPPS_SYNC_INTERVAL_MS without it.

    Each shop's slots sit at its own offset in the interval (schedule_slots.shop_slots). Incremental slots
    are sent as ``enqueue(shop, slot, delay_ms)``; the nightly full reconciliation's slot as
    ``enqueue(shop, slot, delay_ms, "full")``. A shop whose circuit breaker is open gets no slot before the
    breaker's pause ends: its pulls would only fail, and would take worker time from the healthy shops. Nor
    does a shop whose latest run failed on its configuration (its run's stopped_by_configuration) until the configuration
    changes (`config set`, `shops set`) or a pull by hand succeeds.
    """
    now = now or datetime.now(UTC)
    # Each shop's latest run, one index probe per shop (ix_qloapps_sync_state_config_started), not a scan.
    latest = (select(QloAppsSyncState.status, QloAppsSyncState.stopped_by_configuration, QloAppsSyncState.finished_at)
              .where(QloAppsSyncState.config_id == QloAppsConfig.id)
              .order_by(QloAppsSyncState.started_at.desc())
              .limit(1).lateral())
    with runtime.transaction() as session:
        shops = session.execute(
            select(QloAppsConfig.name, QloAppsShopGate.open_until,
                   runs.configuration_paused(latest.c, QloAppsConfig.updated_at).is_(True).label("misconfigured"))
            .outerjoin(QloAppsShopGate, QloAppsShopGate.config_id == QloAppsConfig.id)
            .outerjoin(latest, true())
            .where(QloAppsConfig.sync_enabled.is_(True))
            .order_by(QloAppsConfig.name)
        ).all()
    settings = runtime.settings
    interval_ms = interval_ms or settings.sync_interval_ms
    count = 0
    paused = 0
    misconfigured = [name for name, _open_until, broken in shops if broken]
    for name, open_until, broken in shops:
        if broken:
            continue
        for slot, delay_ms, kind in shop_slots(name, minute or now, interval_ms, now, settings.full_sync_at):
            if open_until is not None and slot < open_until:
                paused += 1
                continue
            if kind == RunKind.INCREMENTAL:
                enqueue(name, slot, delay_ms)
            else:
                enqueue(name, slot, delay_ms, kind)
            count += 1
    if paused:
        logger.info("%s pull slots not sent: their shops' circuit breakers are open.", paused,
                    extra={"action": "slots_paused"})
    if misconfigured:
        logger.info("No pull slots for %s shop(s) whose configuration cannot work (e.g. %s) until it changes.",
                    len(misconfigured), misconfigured[0], extra={"action": "slots_misconfigured"})
    return count


def prune(runtime: Runtime, now: datetime | None = None) -> int:
    """Delete sync runs older than QLOSYNC_RUN_RETENTION_DAYS, batch by batch; returns how many."""
    older_than = (now or datetime.now(UTC)) - timedelta(days=runtime.settings.run_retention_days)
    total = 0
    while True:
        with runtime.transaction() as session:
            deleted = runs.prune_runs(session, older_than)
        total += deleted
        if not deleted:
            break
    if total:
        logger.info("Deleted %s sync runs older than %s.", total, older_than.isoformat(), extra={"action": "runs_pruned"})
    return total


__all__ = ["SCHEDULED_TRIGGERS", "SLOT_TRIGGERS", "Enqueue", "import_one", "prune", "pull", "scheduler_interval",
           "tick"]
