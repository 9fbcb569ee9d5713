"""Heartbeats: every long-running qlosync process keeps a row in ``qlosync_processes`` fresh.

A :class:`Heartbeat` inserts its row (host, pid, role, queues, beat period), then a daemon thread updates
``last_beat_at`` and the message counters every ``QLOSYNC_HEARTBEAT_SECONDS``; a clean stop sets
``stopped_at``. ``qlosync status`` reads the rows: a row whose last beat is older than two periods
belongs to a process that died or hangs (see :mod:`qlosync.ops.status`).

The heartbeat must never hurt the process it reports on:

* it has its own engine with a single connection, so it never takes one from the worker's pool;
* a database outage is logged once (and its end once), the thread keeps trying every period, and
  nothing is raised into the process; counters live in memory, so beats missed meanwhile lose nothing;
* every timestamp comes from PostgreSQL's clock (``now()``), so hosts with skewed clocks agree.

Whoever beats also tidies up: rows stopped or silent for more than :data:`FORGET_AFTER` are deleted, and
a row of a process that is gone from this host (same role and queues, pid no longer running) is closed
when its replacement registers, so a supervisor's restart after a crash does not leave a stale row behind.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update

from qlosync.db.models import QlosyncProcess
from qlosync.states import ProcessRole, values
from qlosync.db.session import make_engine
from qlosync.errors import ConfigurationError
from qlosync.settings import Settings

logger = logging.getLogger(__name__)

#: A process is *stale* when its last beat is older than this many of its own beat periods: one late beat
#: (a slow query, a busy host) is tolerated, two are not.
STALE_AFTER_BEATS = 2
#: Rows stopped, or silent, for longer than this are deleted by any process that beats.
FORGET_AFTER = timedelta(days=1)
#: How often one process looks for rows to forget (the table is small; this just avoids a query per beat).
PRUNE_EVERY_S = 600.0
#: A heartbeat query waits at most this long for PostgreSQL, so a hung server cannot pile up beats.
STATEMENT_TIMEOUT_MS = 5_000
#: How long ``stop()`` waits for a beat in progress before writing the final one itself.
STOP_JOIN_TIMEOUT_S = 15.0


class Heartbeat:
    """Registers this process in ``qlosync_processes`` and beats from a daemon thread until stopped.

    One life: ``start()`` once, ``stop()`` once. ``done()`` and ``failed()`` may be called from any thread;
    the totals reach the row with the next beat.
    """

    def __init__(self, settings: Settings, *, role: str, queues: Iterable[str] = (),
                 interval_s: float | None = None) -> None:
        if role not in values(ProcessRole):
            raise ConfigurationError(f"unknown process role {role!r} (one of {', '.join(ProcessRole)})")
        self.settings = settings
        self.role = role
        self.queues = sorted(set(queues))
        self.interval_s = interval_s if interval_s is not None else settings.heartbeat_s
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._done = 0
        self._failed = 0
        self._row_id: int | None = None
        self._engine: Engine | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._failures = 0  # consecutive beats that could not be written
        self._next_prune = 0.0

    # -- counters (any thread) ------------------------------------------------------------------------------

    def done(self, count: int = 1) -> None:
        with self._lock:
            self._done += count

    def failed(self, count: int = 1) -> None:
        with self._lock:
            self._failed += count

    def counts(self) -> tuple[int, int]:
        """(done, failed) so far."""
        with self._lock:
            return self._done, self._failed

    @property
    def row_id(self) -> int | None:
        """The id of this process's row, once it was written."""
        return self._row_id

    @property
    def consecutive_failures(self) -> int:
        """Beats in a row that could not be written (0 while PostgreSQL answers)."""
        return self._failures

    # -- life cycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start beating (the first beat registers the row at once); returns without waiting for PostgreSQL."""
        if self._thread is not None:
            return
        # Built here, not in __init__: dramatiq may construct middleware before it forks its workers.
        self.pid = os.getpid()
        self._engine = make_engine(
            self.settings, pool_size=1, max_overflow=0, pool_timeout=STOP_JOIN_TIMEOUT_S,
            connect_args={"connect_timeout": 5, "application_name": f"qlosync-heartbeat-{self.role}",
                          "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"},
        )
        self._thread = threading.Thread(target=self._run, name=f"qlosync-heartbeat-{self.role}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and mark the row stopped (one attempt: a database outage leaves it to go stale)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        thread.join(STOP_JOIN_TIMEOUT_S)
        engine, self._engine = self._engine, None
        if engine is None:
            return
        try:
            if self._row_id is not None:
                done, failed = self.counts()
                with engine.begin() as connection:
                    connection.execute(
                        update(QlosyncProcess).where(QlosyncProcess.id == self._row_id)
                        .values(last_beat_at=func.now(), stopped_at=func.now(),
                                messages_done=done, messages_failed=failed))
                logger.info("Heartbeat stopped: %s %s marked stopped.", self.role, self.pid,
                            extra={"action": "heartbeat_stopped", "role": self.role, "pid": self.pid})
        except Exception as exc:  # noqa: BLE001  (stopping must finish; the row will just look stale)
            logger.warning("Heartbeat: could not mark %s %s stopped (%s).", self.role, self.pid, _one_line(exc),
                           extra={"action": "heartbeat_error", "role": self.role})
        finally:
            engine.dispose()

    # -- the thread ---------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self.beat()
            if self._stopping.wait(self.interval_s):
                return

    def beat(self) -> bool:
        """Write one beat (registering first if needed); False when PostgreSQL could not be reached."""
        engine = self._engine
        if engine is None:
            return False
        try:
            registered: int | None = None
            with engine.begin() as connection:
                if self._row_id is None or not self._refresh(connection):
                    registered = self._register(connection)
                if time.monotonic() >= self._next_prune:
                    _forget_old_rows(connection)
                    self._next_prune = time.monotonic() + PRUNE_EVERY_S
            if registered is not None:
                # Published once committed: whoever waits for row_id then sees the registration's whole work.
                self._row_id = registered
        except Exception as exc:  # noqa: BLE001  (a heartbeat must never take its process down)
            self._failures += 1
            if self._failures == 1:
                logger.warning("Heartbeat of %s %s: cannot write to PostgreSQL (%s); trying again every %g s.",
                               self.role, self.pid, _one_line(exc), self.interval_s,
                               extra={"action": "heartbeat_error", "role": self.role})
            return False
        if self._failures:
            self._failures = 0
            logger.info("Heartbeat of %s %s: writing again.", self.role, self.pid,
                        extra={"action": "heartbeat_recovered", "role": self.role})
        return True

    def _refresh(self, connection: Connection) -> bool:
        done, failed = self.counts()
        result = connection.execute(
            update(QlosyncProcess).where(QlosyncProcess.id == self._row_id)
            .values(last_beat_at=func.now(), messages_done=done, messages_failed=failed))
        # 0 rows: our row was forgotten (the process was frozen for a day); register again.
        return result.rowcount == 1

    def _register(self, connection: Connection) -> int:
        done, failed = self.counts()
        row_id: int = connection.execute(
            insert(QlosyncProcess).values(host=self.host, pid=self.pid, role=self.role, queues=self.queues,
                                          beat_interval_s=self.interval_s, messages_done=done,
                                          messages_failed=failed)
            .returning(QlosyncProcess.id)).scalar_one()
        self._close_replaced_rows(connection, row_id)
        logger.info("Heartbeat: %s %s on %s registered as process %s (every %g s).", self.role, self.pid,
                    self.host, row_id, self.interval_s,
                    extra={"action": "heartbeat_registered", "role": self.role, "process_id": row_id})
        return row_id

    def _close_replaced_rows(self, connection: Connection, row_id: int) -> None:
        """Close silent rows of the process this one replaces: same host, role and queues, pid gone."""
        silent = connection.execute(
            select(QlosyncProcess.id, QlosyncProcess.pid).where(
                QlosyncProcess.host == self.host, QlosyncProcess.role == self.role,
                QlosyncProcess.queues == self.queues, QlosyncProcess.stopped_at.is_(None),
                QlosyncProcess.id != row_id,
                QlosyncProcess.last_beat_at < func.now() - func.make_interval(
                    0, 0, 0, 0, 0, 0, STALE_AFTER_BEATS * QlosyncProcess.beat_interval_s)))
        # In a container the replacement often gets the very pid its predecessor had.
        gone = [row_id for row_id, pid in silent if pid == self.pid or not _running_here(pid)]
        if gone:
            connection.execute(update(QlosyncProcess).where(QlosyncProcess.id.in_(gone))
                               .values(stopped_at=QlosyncProcess.last_beat_at))
            logger.warning("Heartbeat: closed %d row(s) of %s processes that died on %s without stopping: %s.",
                           len(gone), self.role, self.host, ", ".join(map(str, gone)),
                           extra={"action": "heartbeat_replaced", "role": self.role})


def _forget_old_rows(connection: Connection) -> None:
    horizon = func.now() - FORGET_AFTER
    connection.execute(delete(QlosyncProcess).where(or_(
        QlosyncProcess.stopped_at < horizon,
        and_(QlosyncProcess.stopped_at.is_(None), QlosyncProcess.last_beat_at < horizon))))


def _running_here(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _one_line(exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__
