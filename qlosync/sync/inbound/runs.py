"""Bookkeeping of pull runs: the ``qloapps_sync_state`` rows and the cursor of ``qloapps_sync_cursor``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.models import QloAppsSyncCursor, QloAppsSyncState
from qlosync.db.session import rows_changed, transaction
from qlosync.pms import open_pms
from qlosync.secrets import Secret
from qlosync.states import RunKind, RunStatus, RunTrigger

logger = logging.getLogger(__name__)

Cursor = tuple[datetime, int]


def now() -> datetime:
    return datetime.now(UTC)


# The trigger a scheduler slot records, by its kind: incremental slots every QLOAPPS_SYNC_INTERVAL_MS, and
# the one full slot a day, the nightly reconciliation at QLOSYNC_FULL_SYNC_AT (schedule_slots.pull_slots).
SLOT_TRIGGERS: Mapping[str, RunTrigger] = {RunKind.INCREMENTAL: RunTrigger.SCHEDULE, RunKind.FULL: RunTrigger.NIGHTLY}


def claim_slot(session: Session, config_id: int, slot_at: datetime, kind: str,
               message_id: str | None = None) -> QloAppsSyncState | None:
    """Insert the run row for a scheduler slot; None if any process already claimed that slot."""
    run_id = session.execute(
        insert(QloAppsSyncState)
        .values(config_id=config_id, kind=kind, trigger=SLOT_TRIGGERS[kind], slot_at=slot_at,
                status=RunStatus.RUNNING, seen=0, created=0, updated=0, unchanged=0, failed=0, parked=0, requests=0,
                message_id=message_id)
        .on_conflict_do_nothing(constraint="uq_qloapps_sync_state_slot")
        .returning(QloAppsSyncState.id)
    ).scalar_one_or_none()
    return session.get(QloAppsSyncState, run_id) if run_id is not None else None


def start_run(session: Session, config_id: int, kind: str, trigger: str,
              message_id: str | None = None) -> QloAppsSyncState:
    """A new run row; *message_id* is the dramatiq message that asked for it (how the API finds it again)."""
    run = QloAppsSyncState(config_id=config_id, kind=kind, trigger=trigger, status=RunStatus.RUNNING, seen=0,
                           created=0, updated=0, unchanged=0, failed=0, parked=0, requests=0, message_id=message_id)
    session.add(run)
    session.flush()
    return run


#: Ends the error of a run that could not start because the shop's stored configuration cannot work (credentials
#: in the base URL, a key QLOSYNC_SECRET_KEY cannot decrypt), to tell the operator what follows: the scheduler
#: sends the shop no slot until its configuration changes, since every pull would fail the same way. The run's
#: ``stopped_by_configuration`` column is what the scheduler reads.
CONFIGURATION_PAUSE = " (no scheduled pulls until the shop's configuration changes: qlosync config set / shops set)"


def fail_on_configuration(session: Session, config_id: int, kind: str, trigger: str, slot_at: datetime | None,
                          error: str, message_id: str | None = None) -> QloAppsSyncState | None:
    """Record a pull that its shop's configuration stopped before it began, as a failed run (None: slot taken)."""
    if slot_at is not None:
        run = claim_slot(session, config_id, slot_at, kind, message_id)
        if run is None:
            return None
    else:
        run = start_run(session, config_id, kind, trigger, message_id)
    run.status = RunStatus.FAILED
    run.stopped_by_configuration = True
    run.error = error[:2000 - len(CONFIGURATION_PAUSE)] + CONFIGURATION_PAUSE
    # PostgreSQL's clock, like qloapps_config.updated_at that it is compared with (configuration_paused).
    run.finished_at = func.now()
    return run


def configuration_paused(run: Any, updated_at: SQLColumnExpression[datetime]) -> ColumnElement[bool]:
    """SQL: the shop's latest run (*run*: the columns of a subquery of runs) failed on its configuration, and
    the configuration has not changed since."""
    return and_(run.status == RunStatus.FAILED, run.stopped_by_configuration, run.finished_at >= updated_at)


def run_started_since(session: Session, config_id: int, since: datetime, exclude_id: int) -> bool:
    """Whether a pull (other than *exclude_id*) started at or after *since*: a stale slot is then covered."""
    return session.scalars(
        select(QloAppsSyncState.id).where(
            QloAppsSyncState.config_id == config_id,
            QloAppsSyncState.started_at >= since,
            QloAppsSyncState.id != exclude_id,
            QloAppsSyncState.status.in_((RunStatus.RUNNING, RunStatus.SUCCEEDED)),
        ).limit(1)
    ).first() is not None


def cursor_row(session: Session, config_id: int, *, lock: bool = False) -> QloAppsSyncCursor:
    """The shop's cursor row, created empty on first use."""
    session.execute(insert(QloAppsSyncCursor).values(config_id=config_id).on_conflict_do_nothing())
    query = select(QloAppsSyncCursor).where(QloAppsSyncCursor.config_id == config_id)
    return session.scalars(query.with_for_update() if lock else query).one()


def get_cursor(row: QloAppsSyncCursor) -> Cursor | None:
    if row.cursor_date_upd is None or row.cursor_id is None:
        return None
    return (row.cursor_date_upd, row.cursor_id)


def set_cursor(row: QloAppsSyncCursor, cursor: Cursor | None) -> None:
    """Move the cursor forward only: a page that re-read the overlap window must not move it back."""
    if cursor is None:
        return
    current = get_cursor(row)
    if current is None or cursor > current:
        row.cursor_date_upd, row.cursor_id = cursor


def full_sync_reason(row: QloAppsSyncCursor, full_after: timedelta, at: datetime) -> str | None:
    """Why the next pull must be a full one, or None when an incremental pull can be trusted."""
    if row.full_sync_reason:
        return row.full_sync_reason
    if get_cursor(row) is None:
        return "no cursor yet"
    if row.last_successful_sync is None or at - row.last_successful_sync > full_after:
        return f"last successful sync is older than {full_after}"
    return None


def prune_runs(session: Session, older_than: datetime, batch: int = 10_000) -> int:
    """Delete finished runs that started before *older_than*, keeping each shop's latest run; returns how many.

    With many shops the scheduler records a run per shop per interval (1,000 shops at 5 minutes: 288,000 a
    day), so old ones go. Batches keep each transaction, and the locks it takes, short.
    """
    latest = select(func.max(QloAppsSyncState.id)).group_by(QloAppsSyncState.config_id)
    doomed = (select(QloAppsSyncState.id)
              .where(QloAppsSyncState.started_at < older_than, QloAppsSyncState.status != RunStatus.RUNNING,
                     QloAppsSyncState.id.not_in(latest))
              .limit(batch).scalar_subquery())
    return rows_changed(session, delete(QloAppsSyncState).where(QloAppsSyncState.id.in_(doomed)))


def report_to_pms_within(session: Session, shop_name: str, pms_hotel_id: str | None, status: str,
                         error: str | None, api_key: Secret | None = None) -> None:
    """:func:`report_to_pms` inside the caller's transaction (the run's last), in a savepoint: what goes wrong
    there is rolled back alone, and is a warning."""
    if pms_hotel_id is None or status not in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        return
    if error and api_key:
        error = error.replace(api_key.reveal(), "********")
    try:
        with session.begin_nested():
            open_pms(session).report_sync(pms_hotel_id, succeeded=status == RunStatus.SUCCEEDED, error=error)
    except OperationalError:
        raise  # the database itself is gone: so is the run's last transaction
    except Exception as exc:  # noqa: BLE001  (the PMS's page is a courtesy; the run is done)
        _report_failed(shop_name, exc)


def _report_failed(shop_name: str, exc: Exception) -> None:
    reason = (str(exc).splitlines() or [""])[0][:300]
    logger.warning("Could not tell the PMS how the pull of %s ended: %s: %s", shop_name, type(exc).__name__,
                   reason, extra={"action": "pms_report_failed"})


def report_to_pms(session_factory: sessionmaker[Session], shop_name: str, pms_hotel_id: str | None, status: str,
                  error: str | None, api_key: Secret | None = None) -> None:
    """Tell the PMS how a pull of a shop bound to its hotel ended (``Pms.report_sync``: the hotelmanangement
    PMS shows it on its settings page), in a transaction of its own, after the run's.

    Only a succeeded or failed run of a shop that names its PMS hotel is told. Whatever goes wrong here is a
    warning, never the run's failure: the run and its writes stand. *api_key* is blanked out of the error."""
    if pms_hotel_id is None or status not in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        return
    try:
        with transaction(session_factory) as session:
            report_to_pms_within(session, shop_name, pms_hotel_id, status, error, api_key)
    except Exception as exc:  # noqa: BLE001  (the PMS's page is a courtesy; the run is done)
        _report_failed(shop_name, exc)
