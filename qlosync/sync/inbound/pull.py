"""Pull runs: page through QloApps orders, apply each booking, move the cursor with the writes.

A run holds a session-level advisory lock, so two pulls of one shop never overlap. Each page of bookings
commits in one transaction together with the run's counters and, for incremental pulls, the cursor:
after a crash the cursor still describes exactly what was committed. One bad booking is isolated: its
savepoint is rolled back, it is handed to ``retry_booking`` (its own message, ending in the DLQ if it
keeps failing), and the run goes on.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, Select, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsReservationMapping, QloAppsRoomTypeMapping, QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.errors import PermanentError, QlosyncError, TransientError
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.errors import QloAppsBadResponse
from qlosync.qloapps.models import BookingSnapshot, Order
from qlosync.runtime import metrics
from qlosync.states import LogLevel, RunKind, RunStatus, RunTrigger
from qlosync.sync.inbound import runs
from qlosync.sync.inbound.apply import ApplyResult, Catalog, apply_snapshot, apply_snapshots
from qlosync.sync.currencies import ShopCurrencies
from qlosync.sync.sync_log import sync_log
from qlosync.sync.inbound.mapper import InvalidBookingError
from qlosync.sync.gate import ShopGate
from qlosync.sync.locks import RunLocks, one_of_locks, run_connection

logger = logging.getLogger(__name__)


class DoubtfulCursorError(PermanentError):
    """QloApps answered the incremental listing in a way that makes the cursor untrustworthy."""


@dataclass(frozen=True)
class PullOptions:
    """Tunables of a pull."""

    overlap: timedelta = timedelta(seconds=5)
    full_after: timedelta = timedelta(hours=24)
    # A scheduler slot older than this when its message runs is covered by any later pull.
    stale_after: timedelta = timedelta(minutes=10)
    # A full pull of a shop with more orders than this is a bulk import: it needs one of bulk_lanes
    # cluster-wide lanes, so that big imports never occupy every worker thread (fairness between shops).
    bulk_min_orders: int = 2000
    bulk_lanes: int = 2


@dataclass
class RunReport:
    """What a run did; also the progress passed to the callback after every page."""

    run_id: int | None
    kind: str
    trigger: str
    # A RunStatus, or "duplicate": a scheduler slot another process had claimed (no run of its own).
    status: str = RunStatus.RUNNING
    counts: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    error: str | None = None


@dataclass
class PullDeps:
    """What a pull needs, passed explicitly so tests can call it without a broker."""

    engine: Engine
    session_factory: sessionmaker[Session]
    client: QloAppsClient
    shop: ShopConfig
    retry_booking: Callable[[int], object]
    options: PullOptions = field(default_factory=PullOptions)
    progress: Callable[[RunReport], None] | None = None
    # The client's gate, when it has one: a run admits its first request and records its end inside the
    # run's own transactions (ShopGate.admit_ahead, record_deferred).
    gate: ShopGate | None = None
    _currencies: ShopCurrencies | None = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A transaction of the run, which also records the requests the gate has left to record."""
        with transaction(self.session_factory) as session:
            if self.gate is not None:
                self.gate.record_deferred(session.connection())
            yield session

    def currencies(self) -> ShopCurrencies:
        if self._currencies is None:
            self._currencies = ShopCurrencies(self.client, self.shop)
        return self._currencies

    def catalog(self, session: Session) -> Catalog:
        return Catalog.load(session, self.shop.id, self.currencies())


AppliedVersions = Mapping[int | None, datetime | None]  # order id -> the date_upd last applied


@dataclass(frozen=True)
class _Opened:
    """What a run's first transaction read for the rest of the run."""

    cursor: runs.Cursor | None
    parked: list[int]
    reason: str | None  # why the run is (or should be) a full one
    # The versions applied of the orders an incremental pull re-reads first (those changed since the
    # cursor's overlap began), so that an idle page needs no query of its own.
    known: AppliedVersions | None


def run_pull(deps: PullDeps, *, kind: str = RunKind.INCREMENTAL, trigger: str = RunTrigger.MANUAL,
             slot_at: datetime | None = None, message_id: str | None = None) -> RunReport:
    """One pull run, recorded in qloapps_sync_state. Never raises for QloApps trouble: the run is marked failed.

    The run keeps one connection. Its first transaction claims the run, takes the shop's pull lock and reads
    what the run needs; its last records how the run ended and releases the lock. An incremental pull that
    finds nothing new costs just those two and its one request, whose admission and end the shop's gate
    records inside them.
    """
    with run_connection(deps.engine) as locks:
        report, opened = _open(deps, locks, kind, trigger, slot_at, message_id)
        if opened is None:
            return report
        try:
            return _locked_pull(deps, locks, report, opened)
        except BaseException as exc:
            # A time limit, a shutdown or a bug: the run row must not stay "running" (committed pages stand).
            with contextlib.suppress(Exception):
                _close(deps, locks, report, RunStatus.FAILED, f"interrupted: {type(exc).__name__}: {exc}")
            raise
        finally:
            if deps.gate is not None:
                deps.gate.flush()  # a request admitted ahead that the run's last transaction did not record


@contextlib.contextmanager
def _run_transaction(deps: PullDeps, locks: RunLocks) -> Iterator[Session]:
    """A transaction on the run's own connection (the one its locks live on)."""
    with deps.session_factory(bind=locks.connection) as session, session.begin():
        yield session


def _open(deps: PullDeps, locks: RunLocks, kind: str, trigger: str, slot_at: datetime | None,
          message_id: str | None) -> tuple[RunReport, _Opened | None]:
    """The run's first transaction: its row (None as the second value: the run ends here), the shop's pull
    lock, and the bookkeeping before the first request."""
    shop = deps.shop
    with _run_transaction(deps, locks) as session:
        if slot_at is not None:
            run = runs.claim_slot(session, shop.id, slot_at, kind, message_id)
            if run is None:
                logger.info("Pull slot %s of %s already claimed by another scheduler message.", slot_at.isoformat(),
                            shop.name, extra={"action": "pull_duplicate"})
                return RunReport(None, kind, trigger, status="duplicate"), None
            if runs.now() - slot_at > deps.options.stale_after and runs.run_started_since(session, shop.id, slot_at, run.id):
                _finish(run, RunStatus.SKIPPED, "a later pull already covered this slot")
                return RunReport(run.id, kind, trigger, status=RunStatus.SKIPPED, error=run.error), None
        else:
            run = runs.start_run(session, shop.id, kind, trigger, message_id)
        report = RunReport(run.id, kind, run.trigger)
        if not locks.try_take("qloapps-pull", shop.id):
            _finish(run, RunStatus.SKIPPED, "another pull of this shop is running")
            report.status, report.error = RunStatus.SKIPPED, run.error
            _log_end(report)
            return report, None
        _fail_interrupted_runs(session, shop.id, report.run_id)
        parked = _parked_to_retry(session, shop.id)
        cursor_row = runs.cursor_row(session, shop.id)
        cursor = runs.get_cursor(cursor_row)
        reason = runs.full_sync_reason(cursor_row, deps.options.full_after, runs.now())
        if report.kind == RunKind.INCREMENTAL and reason is not None:
            logger.info("Pull of %s becomes a full sync: %s.", shop.name, reason, extra={"action": "pull_fallback"})
            report.kind, report.trigger = RunKind.FULL, RunTrigger.FALLBACK
        run.kind, run.trigger = report.kind, report.trigger
        known = None
        if cursor is not None:
            run.cursor_before_date_upd, run.cursor_before_id = cursor
            if report.kind == RunKind.INCREMENTAL:
                # The orders applied at the overlap's start or later: the ones the pull re-reads (few).
                known = _applied_versions(session, shop.id,
                                          QloAppsReservationMapping.qloapps_date_upd >= _overlap_start(deps, cursor))
        if deps.gate is not None:
            deps.gate.admit_ahead(session.connection())
    return report, _Opened(cursor, parked, reason, known)


def _overlap_start(deps: PullDeps, cursor: runs.Cursor) -> datetime:
    """Where an incremental pull from *cursor* starts reading (as the client's pager rounds it)."""
    return (cursor[0] - deps.options.overlap).replace(microsecond=0)


def _locked_pull(deps: PullDeps, locks: RunLocks, report: RunReport, opened: _Opened) -> RunReport:
    client = deps.client
    requests_before = client.request_count
    cursor, reason = opened.cursor, opened.reason
    deferred: str | None = None
    try:
        retry_parked(deps, report, opened.parked)
        if report.kind == RunKind.FULL:
            marker = client.latest_order_cursor()
            with _bulk_lane(deps, marker) as lane:
                if lane is not False:
                    _apply_pages(deps, report, client.iter_all_orders(), incremental=False)
                elif cursor is None:
                    report.requests = client.request_count - requests_before
                    return _close(deps, locks, report, RunStatus.SKIPPED, f"a bulk import waits for one of the "
                                  f"{deps.options.bulk_lanes} bulk lanes; the next slot tries again", full_sync_reason=reason or "a bulk import waits for a lane")
                else:
                    # The shop's changes keep flowing meanwhile; the full pull stays owed (reason kept).
                    deferred = reason or f"a {report.trigger} full pull waits for a bulk lane"
                    _become_incremental(deps, report, deferred)
        if report.kind == RunKind.INCREMENTAL:
            marker = None
            _apply_pages(deps, report, client.iter_orders_changed_since(cursor, overlap=deps.options.overlap),
                         incremental=True, lower=None if cursor is None else cursor[0] - deps.options.overlap,
                         known=opened.known, cursor=cursor)
    except (QlosyncError, OperationalError) as exc:
        report.requests = client.request_count - requests_before
        doubtful = str(exc) if isinstance(exc, DoubtfulCursorError) else None
        return _close(deps, locks, report, RunStatus.FAILED, f"{type(exc).__name__}: {exc}", full_sync_reason=doubtful)
    report.requests = client.request_count - requests_before
    return _close(deps, locks, report, RunStatus.SUCCEEDED, None,
                  full_marker=marker if report.kind == RunKind.FULL else None, full_sync_reason=deferred)


def _become_incremental(deps: PullDeps, report: RunReport, deferred: str) -> None:
    logger.info("Full pull of %s deferred (%s): every bulk lane is busy; incremental meanwhile.", deps.shop.name,
                deferred, extra={"action": "bulk_deferred"})
    report.kind = RunKind.INCREMENTAL
    with deps.transaction() as session:
        session.get_one(QloAppsSyncState, report.run_id).kind = RunKind.INCREMENTAL


def _fail_interrupted_runs(session: Session, config_id: int, current_run_id: int | None) -> None:
    """Runs still marked running while we hold the shop's pull lock died with their worker: say so."""
    session.execute(
        update(QloAppsSyncState)
        .where(QloAppsSyncState.config_id == config_id, QloAppsSyncState.status == RunStatus.RUNNING,
               QloAppsSyncState.id != current_run_id)
        .values(status=RunStatus.FAILED, finished_at=runs.now(), error="interrupted: its worker stopped or died")
    )


@contextlib.contextmanager
def _bulk_lane(deps: PullDeps, marker: runs.Cursor | None) -> Iterator[bool | None]:
    """For a big full pull, hold a bulk lane for the run: yields True (held), False (none free) or None (a
    small pull needs none).

    The size is estimated without a request: the bookings already mapped, or the id of the most recently
    changed order (QloApps order ids count up from 1), whichever is larger.
    """
    with deps.transaction() as session:
        known = session.scalar(select(func.count()).where(QloAppsReservationMapping.config_id == deps.shop.id)) or 0
    size = max(known, marker[1] if marker else 0)
    if size < deps.options.bulk_min_orders:
        yield None
        return
    with one_of_locks(deps.engine, "qloapps-bulk-lane", deps.options.bulk_lanes) as lane:
        if lane is not None:
            logger.info("Full pull of %s (about %s orders) runs in bulk lane %s.", deps.shop.name, size, lane,
                        extra={"action": "bulk_lane"})
        yield lane is not None


@dataclass
class _Fetched:
    """One page as read from QloApps: the orders listed, those to apply, and their snapshots."""

    orders: list[Order]
    todo: list[Order]
    snapshots: list[BookingSnapshot]
    error: Exception | None = None  # reading the page's room lines or customers failed: raised once counted


_NO_MORE_PAGES: list[Order] = []  # the pager's end (a pager never yields an empty page)


def _fetch_pages(deps: PullDeps, pages: Iterable[list[Order]], incremental: bool, lower: datetime | None,
                 known: AppliedVersions | None) -> Generator[_Fetched, None, None]:
    """Read each page and its room lines and customers; the next orders page is asked for while this
    page's room lines and customers are (three requests at once, within the shop's lanes)."""
    pager = iter(pages)
    with ThreadPoolExecutor(1, thread_name_prefix="qloapps-pager") as ahead:
        upcoming = ahead.submit(next, pager, _NO_MORE_PAGES)
        while (orders := upcoming.result()) is not _NO_MORE_PAGES:
            # Only one thread at a time runs the pager; its pages come out in order, as before.
            upcoming = ahead.submit(next, pager, _NO_MORE_PAGES)
            fetched = _fetch_page(deps, orders, incremental, lower, known)
            yield fetched
            if fetched.error is not None and not isinstance(fetched.error, QloAppsBadResponse):
                return


def _fetch_page(deps: PullDeps, orders: list[Order], incremental: bool, lower: datetime | None,
                known: AppliedVersions | None) -> _Fetched:
    if lower is not None and any(o.date_upd < lower.replace(microsecond=0) for o in orders):
        raise DoubtfulCursorError("QloApps returned orders older than the date filter: it ignored the filter")
    todo: list[Order] = []
    try:
        if incremental and known is not None:
            # Read when the run opened. An order applied since (by an import_booking message) looks changed
            # here and is applied again, to no effect: never the other way round.
            todo = [o for o in orders if known.get(o.id) != o.date_upd]
        elif incremental:
            with deps.transaction() as session:
                todo = _changed_orders(session, deps.shop.id, orders)
        else:
            todo = list(orders)
        if todo:
            deps.currencies()  # read here, so that the applying thread never uses the client meanwhile
        snapshots = deps.client.snapshots_for(todo) if todo else []
    except Exception as exc:  # noqa: BLE001  (the page counts as seen, then the run fails with it,
        # unless it is a bad answer: isolated by the applying side, and the run goes on)
        return _Fetched(orders, todo, [], exc)
    return _Fetched(orders, todo, snapshots)


class _Done:
    """The reader's last item: every page was handed over."""


_DONE = _Done()


def _read_ahead(produce: Generator[_Fetched, None, None], depth: int = 1) -> Iterator[_Fetched]:
    """Run *produce* one page ahead in a thread: page N+1 is read from QloApps while page N is applied.

    Only the thread uses the QloApps client while this runs. At most *depth* pages wait in between, so
    memory stays that of a couple of pages whatever the number of bookings. An error of the reader is
    raised here, in the applying thread; when the applying side stops early the reader stops too.
    """
    handoff: queue.Queue[_Fetched | BaseException | _Done] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: _Fetched | BaseException | _Done) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in produce:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001  (handed to the applying thread, raised there)
            put(exc)
        finally:
            with contextlib.suppress(Exception):
                produce.close()

    reader = threading.Thread(target=run, name="qloapps-pull-reader", daemon=True)
    reader.start()
    try:
        while True:
            try:
                # A timeout, so that an asynchronous exception (dramatiq's time limit) is not held up here.
                item = handoff.get(timeout=0.5)
            except queue.Empty:
                continue
            if isinstance(item, _Done):
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _apply_pages(deps: PullDeps, report: RunReport, pages: Iterable[list[Order]], *, incremental: bool,
                 lower: datetime | None = None, known: AppliedVersions | None = None,
                 cursor: runs.Cursor | None = None) -> None:
    """Apply the pages in order, each in one transaction that also moves the cursor (*cursor*: where it
    stands). A page with nothing to apply that would not move the cursor costs no transaction: its counts
    are stored with the next page's, or with the run's end."""
    catalog: Catalog | None = None
    for fetched in _read_ahead(_fetch_pages(deps, pages, incremental, lower, known)):
        orders, todo, snapshots = fetched.orders, fetched.todo, fetched.snapshots
        report.counts["seen"] += len(orders)
        if fetched.error is not None and not isinstance(fetched.error, QloAppsBadResponse):
            raise fetched.error
        before = Counter(report.counts)
        if fetched.error is not None:
            # One booking's malformed room lines or customer (or one garbled answer) must not fail this run
            # and every run after it: each order of the page goes to its own import_booking message, where a
            # bad one fails alone (dead-lettered with its reason) and the others are applied.
            logger.warning("A page of %s bookings could not be read (%s); each goes to its own retry", len(todo),
                           fetched.error, extra={"action": "page_isolated"})
            for order in todo:
                deps.retry_booking(order.id)
            report.counts["failed"] += len(todo)
        if todo and catalog is None:
            with deps.transaction() as session:
                catalog = deps.catalog(session)
        report.counts["unchanged"] += len(orders) - len(todo)
        newest = max(o.cursor for o in orders) if incremental and orders else None
        moves = newest is not None and (cursor is None or newest > cursor)
        if snapshots or fetched.error is not None or moves:
            with deps.transaction() as session:
                if snapshots:
                    assert catalog is not None
                    _apply_snapshots(deps, session, report, snapshots, catalog)
                run = session.get_one(QloAppsSyncState, report.run_id)
                _store_counts(run, report)
                if moves:
                    row = runs.cursor_row(session, deps.shop.id, lock=True)
                    runs.set_cursor(row, newest)
                    cursor = runs.get_cursor(row)
                    run.cursor_after_date_upd, run.cursor_after_id = cursor or (None, None)
        for outcome, amount in (report.counts - before).items():  # counted once the page committed
            metrics.count_bookings(outcome, amount)
        if deps.progress is not None:
            deps.progress(report)


def _changed_orders(session: Session, config_id: int, orders: Sequence[Order]) -> list[Order]:
    """Orders whose date_upd differs from the one last applied (re-read overlap rows cost nothing)."""
    known = _applied_versions(session, config_id,
                              QloAppsReservationMapping.qloapps_order_id.in_([o.id for o in orders]))
    return [o for o in orders if known.get(o.id) != o.date_upd]


def _applied_versions(session: Session, config_id: int, *where: ColumnElement[bool]) -> AppliedVersions:
    """order id -> the date_upd last applied, of the orders *where* picks (parked ones are never applied)."""
    return {order_id: date_upd for order_id, date_upd in session.execute(_versions_query(config_id, *where))}


def _versions_query(config_id: int, *where: ColumnElement[bool]) -> Select[int | None, datetime | None]:
    return select(QloAppsReservationMapping.qloapps_order_id, QloAppsReservationMapping.qloapps_date_upd).where(
        QloAppsReservationMapping.config_id == config_id,
        QloAppsReservationMapping.parked_reason.is_(None),
        QloAppsReservationMapping.pms_reservation_id.is_not(None),
        *where,
    )


def _apply_snapshots(deps: PullDeps, session: Session, report: RunReport, snapshots: Sequence[BookingSnapshot],
                     catalog: Catalog) -> None:
    ready = []
    for snapshot in snapshots:
        if snapshot.consistent:
            ready.append(snapshot)
        else:
            # Its room lines changed between our two requests; the change bumped date_upd, so the next
            # pass (or the cursor's overlap) reads it again whole.
            report.counts["deferred"] += 1
    try:
        with session.begin_nested():
            results = apply_snapshots(session, deps.shop, ready, catalog, sync_state_id=report.run_id)
    except OperationalError:
        raise  # the database itself is gone: the run fails and nothing of this page commits
    except Exception:  # noqa: BLE001  (some booking failed: find which, one savepoint each)
        results = [r for r in (_apply_alone(deps, session, report, s, catalog) for s in ready) if r is not None]
    for result in results:
        report.counts[result.outcome] += 1


def _apply_alone(deps: PullDeps, session: Session, report: RunReport, snapshot: BookingSnapshot,
                 catalog: Catalog) -> ApplyResult | None:
    try:
        with session.begin_nested():
            return apply_snapshot(session, deps.shop, snapshot, catalog, sync_state_id=report.run_id)
    except OperationalError:
        raise
    except Exception as exc:  # noqa: BLE001  (one booking's failure must not stop the run)
        report.counts["failed"] += 1
        logger.warning("Booking %s failed in run %s and goes to its own retry: %s: %s", snapshot.id,
                       report.run_id, type(exc).__name__, exc,
                       extra={"action": "import_booking_failed", "qloapps_order_id": snapshot.id})
        sync_log(session, deps.shop, LogLevel.ERROR, snapshot.id, "failed", f"{type(exc).__name__}: {exc}", report.run_id)
        deps.retry_booking(snapshot.id)
        return None


def _store_counts(run: QloAppsSyncState, report: RunReport) -> None:
    for name in ("seen", "created", "updated", "unchanged", "failed", "parked"):
        setattr(run, name, report.counts[name])


def _finish(run: QloAppsSyncState, status: RunStatus, error: str | None) -> None:
    run.status = status
    run.error = error
    run.finished_at = runs.now()


def _close(deps: PullDeps, locks: RunLocks, report: RunReport, status: RunStatus, error: str | None, *,
           full_marker: runs.Cursor | None = None, full_sync_reason: str | None = None) -> RunReport:
    """The run's last transaction: finish the run row, on success move last_successful_sync (and, after a full
    pull, the cursor), record the gate's last request, tell the PMS, release the shop's pull lock.

    On the run's own connection; if that connection died meanwhile (PostgreSQL restarted: the lock went with
    it), on a fresh one, so that the run still ends with its outcome rather than staying "running"."""
    def record(session: Session) -> None:
        run = session.get_one(QloAppsSyncState, report.run_id)
        _store_counts(run, report)
        run.requests = report.requests
        _finish(run, status, error[:2000] if error else None)
        row = runs.cursor_row(session, deps.shop.id, lock=True)
        if status == RunStatus.SUCCEEDED:
            at = runs.now()
            row.last_successful_sync = at
            if report.kind == RunKind.FULL:
                runs.set_cursor(row, full_marker)
                row.last_full_sync = at
                row.full_sync_reason = None
            run.cursor_after_date_upd, run.cursor_after_id = runs.get_cursor(row) or (None, None)
        if full_sync_reason and not (status == RunStatus.SUCCEEDED and report.kind == RunKind.FULL):
            row.full_sync_reason = full_sync_reason
        runs.report_to_pms_within(session, deps.shop.name, deps.shop.pms_hotel_id, status, error, deps.shop.api_key)

    try:
        with _run_transaction(deps, locks) as session:
            if deps.gate is not None:
                deps.gate.record_deferred(session.connection())
            record(session)
            locks.release()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        locks.forget()
        _while_database_returns(deps, record)
    report.status, report.error = status, error
    _log_end(report)
    return report


# How long a run whose connection died keeps trying to record how it ended (a pull message is not retried:
# the run records its own failure), e.g. while PostgreSQL restarts.
CLOSE_RETRY_S = 30.0


def _while_database_returns(deps: PullDeps, record: Callable[[Session], None]) -> None:
    deadline = time.monotonic() + CLOSE_RETRY_S
    pause = 0.2
    while True:
        try:
            with deps.transaction() as session:
                record(session)
            return
        except OperationalError:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _log_end(report: RunReport) -> None:
    log = logger.info if report.status != RunStatus.FAILED else logger.warning
    log("Pull run %s (%s/%s) %s: %s.", report.run_id, report.kind, report.trigger, report.status,
        report.error or ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())),
        extra={"action": "pull", "sync_state_id": report.run_id})


def _parked_to_retry(session: Session, config_id: int) -> list[int]:
    """Parked bookings that a room-type mapping added after they were parked may now place."""
    newest_mapping = session.scalar(
        select(func.max(QloAppsRoomTypeMapping.updated_at)).where(QloAppsRoomTypeMapping.config_id == config_id)
    )
    if newest_mapping is None:
        return []
    return list(
        session.scalars(
            select(QloAppsReservationMapping.qloapps_order_id).where(
                QloAppsReservationMapping.config_id == config_id,
                QloAppsReservationMapping.parked_reason.is_not(None),
                QloAppsReservationMapping.updated_at < newest_mapping,
            )
        )
    )


def retry_parked(deps: PullDeps, report: RunReport | None = None, parked: list[int] | None = None) -> Counter[str]:
    """Re-apply parked bookings when a room-type mapping was added after they were parked (*parked*: already
    looked up by the caller)."""
    if parked is None:
        with deps.transaction() as session:
            parked = _parked_to_retry(session, deps.shop.id)
    counts: Counter[str] = Counter()
    page = deps.client.page_size
    for start in range(0, len(parked), page):
        orders = deps.client.get_orders(parked[start:start + page])
        snapshots = deps.client.snapshots_for(orders)
        sub = report or RunReport(None, RunKind.INCREMENTAL, RunTrigger.MANUAL)
        before = Counter(sub.counts)
        with deps.transaction() as session:
            _apply_snapshots(deps, session, sub, snapshots, deps.catalog(session))
        counts.update(sub.counts - before)
    return counts


def import_booking(deps: PullDeps, order_id: int) -> ApplyResult:
    """Fetch and apply one booking; errors propagate (the caller is a message that retries or dead-letters)."""
    orders = deps.client.get_orders([order_id])
    if not orders:
        raise BookingVanishedError(f"QloApps order {order_id} no longer exists")
    try:
        snapshot = deps.client.snapshots_for(orders)[0]
    except QloAppsBadResponse as exc:
        if exc.garbled:
            raise  # an error page instead of JSON: the server's trouble, retried with backoff
        # Read alone, it is still malformed: retrying will not change it
        raise InvalidBookingError(f"QloApps order {order_id} cannot be read: {exc}") from None
    if not snapshot.consistent:
        raise SnapshotChangedError(f"QloApps order {order_id} changed while it was being read")
    with deps.transaction() as session:
        return apply_snapshot(session, deps.shop, snapshot, deps.catalog(session))


class BookingVanishedError(PermanentError):
    """The QloApps order to import is gone (QloApps cannot delete bookings through the API, B27)."""


class SnapshotChangedError(TransientError):
    """The booking changed between the requests that read it: read it again later."""
