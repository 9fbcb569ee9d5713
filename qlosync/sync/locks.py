"""PostgreSQL advisory locks: one pull at a time per shop, one writer at a time per booking or reservation.

Keys are 64-bit hashes of a readable name, so locks taken by different processes agree without a table.
Record locks are transaction-scoped and *tried*, never waited on: a busy record is retried later
(LockBusyError is transient) instead of tying up a worker or deadlocking with a pull.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from psycopg.errors import LockNotAvailable
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from qlosync.errors import LockBusyError

log = logging.getLogger(__name__)


def lock_key(*parts: object) -> int:
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def try_record_locks(session: Session, records: Sequence[tuple[object, ...]]) -> None:
    """Lock many records in one statement; raise LockBusyError naming the ones another transaction has."""
    keys = [lock_key(*parts) for parts in records]
    busy = set(
        session.execute(
            text("SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k WHERE NOT pg_try_advisory_xact_lock(k)"),
            {"keys": keys},
        ).scalars()
    )
    if busy:
        names = [":".join(str(p) for p in parts) for parts, key in zip(records, keys, strict=True) if key in busy]
        raise LockBusyError(f"{', '.join(names)} being synced by another worker")


class RunLocks:
    """Session-level locks that a run takes on the one connection it keeps (see :func:`run_connection`).

    They are taken inside the run's first transaction and released inside its last one, so holding a lock
    for a whole multi-transaction run costs no transaction of its own. If this process dies, PostgreSQL
    drops the connection and the locks with it, so a crashed pull never blocks the next one.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._held: list[int] = []

    @property
    def held(self) -> bool:
        return bool(self._held)

    def try_take(self, *parts: object) -> bool:
        """Take the lock named *parts* unless another session holds it (never waits)."""
        key = lock_key(*parts)
        taken = bool(self.connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one())
        if taken:
            self._held.append(key)
        return taken

    def forget(self) -> None:
        """The connection died: PostgreSQL dropped its locks with it."""
        self._held.clear()

    def release(self) -> None:
        """Release every lock taken, in the connection's current transaction."""
        while self._held:
            self.connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._held.pop()})


@contextmanager
def run_connection(engine: Engine) -> Iterator[RunLocks]:
    """A connection kept for a whole run, with the session-level locks taken on it; a lock the run did not
    release in its last transaction (it failed first) is released on the way out."""
    with engine.connect() as connection:
        locks = RunLocks(connection)
        try:
            yield locks
        finally:
            if locks.held:
                try:
                    if connection.in_transaction():
                        connection.rollback()
                    locks.release()
                    connection.commit()
                except DBAPIError as exc:
                    # The lock's connection was cut (PostgreSQL restarted): the server dropped the lock with it.
                    if not exc.connection_invalidated:
                        connection.invalidate()  # never hand a pooled connection back still holding a lock
                    log.warning("a run's lock was lost with its connection (%s)", exc.orig)


@contextmanager
def one_of_locks(engine: Engine, name: str, count: int) -> Iterator[int | None]:
    """Take the first free of *count* session-level locks (a cluster-wide semaphore) for a whole run.

    Yields the lock's number, or None when all are held; like :func:`exclusive_run`, a dead process's lock
    goes with its connection.
    """
    with _first_free_lock(engine, [lock_key(name, number) for number in range(count)], name) as taken:
        yield taken


@contextmanager
def _first_free_lock(engine: Engine, keys: Sequence[int], label: str) -> Iterator[int | None]:
    """Try *keys* in order on one connection kept for the run; yield the index of the one taken, or None."""
    with engine.connect() as connection:
        taken: int | None = None
        for index, key in enumerate(keys):
            if connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one():
                taken = index
                break
        connection.commit()
        try:
            yield taken
        finally:
            if taken is not None:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": keys[taken]})
                    connection.commit()
                except DBAPIError as exc:
                    # The lock's connection was cut (PostgreSQL restarted): the server dropped the lock with it.
                    if not exc.connection_invalidated:
                        raise
                    log.warning("lock %s was lost with its connection during the run (%s)",
                                label if len(keys) == 1 else f"{label}:{taken}", exc.orig)


@contextmanager
def held_lock(engine: Engine, *parts: object, timeout_s: float) -> Iterator[Connection]:
    """Wait (at most *timeout_s*) for a session-level lock and yield its connection; work done on that
    connection may take the same key again (advisory locks are re-entrant within a session).

    Used where the lock must span HTTP calls and several transactions (a push). Raises LockBusyError
    when the wait times out; a dead process's lock goes with its connection.
    """
    key = lock_key(*parts)
    with engine.connect() as connection:
        try:
            with connection.begin():
                connection.execute(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{int(timeout_s * 1000)}ms"})
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        except OperationalError as exc:
            if isinstance(exc.orig, LockNotAvailable):
                raise LockBusyError(f"{':'.join(map(str, parts))} is held by another worker for over {timeout_s:g} s") from None
            raise
        try:
            yield connection
        finally:
            try:
                if connection.in_transaction():
                    connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
            except Exception:  # noqa: BLE001  (never hand a pooled connection back still holding the lock)
                connection.invalidate()
