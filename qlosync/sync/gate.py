"""Politeness towards one QloApps shop, shared by every qlosync process on every host.

Every request to a shop passes its gate, kept in PostgreSQL (the one thing all hosts share):

* **circuit breaker**: after ``failure_threshold`` failed requests in a row (no answer, a timeout, a 5xx)
  the shop is *open*: its requests fail at once with :class:`ShopUnavailableError`, and the
  scheduler does not even enqueue its pulls, until ``open_until``. Then one request is let through as a
  trial; it closes the breaker or opens it again for twice as long (up to ``max_open``).
* **requests per second**: GCRA pacing on the row's ``tat``; a request waits its turn (a burst of one
  second's worth goes at once).
* **concurrent requests**: a request holds one of the shop's lanes (``qloapps_request_lanes``) while it
  runs; the lane has an expiry, so a process killed mid-request cannot leak it.

Timestamps come from PostgreSQL's clock, so hosts with slightly different clocks still agree.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, text

from qlosync.errors import TransientError
from qlosync.settings import Settings
from qlosync.qloapps.errors import (
    QloAppsConnectionError,
    QloAppsOutcomeUnknown,
    QloAppsServerError,
    QloAppsTimeout,
)

logger = logging.getLogger(__name__)

# Errors that say the website itself is unwell: no answer, or a server error. Not a refused key (an operator
# fixes it and expects the next request to go), one bad booking, or a rejected payload: those fail fast anyway.
BREAKER_ERRORS = (QloAppsConnectionError, QloAppsTimeout, QloAppsServerError, QloAppsOutcomeUnknown)


class ShopUnavailableError(TransientError):
    """The shop's circuit breaker is open, or no request lane freed up in time."""


@dataclass(frozen=True)
class GatePolicy:
    """Tunables shared by every shop (the per-shop limits live in ``qloapps_config``)."""

    failure_threshold: int = 3
    base_open_s: float = 60.0
    max_open_s: float = 1800.0
    lane_lease_s: float = 45.0  # > connect + read timeout: a live request never loses its lane
    lane_wait_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> GatePolicy:
        lease = settings.http_connect_timeout_s + settings.http_read_timeout_s + 10.0
        return cls(failure_threshold=settings.breaker_failures, base_open_s=settings.breaker_open_s,
                   max_open_s=30 * settings.breaker_open_s, lane_lease_s=lease, lane_wait_s=lease + 15.0)


@dataclass(frozen=True)
class BreakerState:
    failures: int
    trips: int
    open_until: datetime | None
    last_error: str | None
    last_failure_at: datetime | None
    last_success_at: datetime | None


_ENSURE_GATE = text("INSERT INTO qloapps_shop_gate (config_id) VALUES (:c) ON CONFLICT DO NOTHING")
_ENSURE_LANES = text("INSERT INTO qloapps_request_lanes (config_id, lane) SELECT :c, generate_series(0, :cap - 1) "
                     "ON CONFLICT DO NOTHING")

# One statement: refuse while open (a due breaker lets this request through as the trial, holding the
# others off for the trial's lease), else reserve the next request time. ``old`` is the row before.
_ADMIT = text("""
    WITH old AS (SELECT config_id, tat, open_until FROM qloapps_shop_gate WHERE config_id = :c FOR UPDATE)
    UPDATE qloapps_shop_gate g SET
        tat = CASE WHEN old.open_until IS NULL OR old.open_until <= now()
                   THEN greatest(old.tat, now()) + make_interval(secs => :spacing) ELSE old.tat END,
        open_until = CASE WHEN old.open_until IS NOT NULL AND old.open_until <= now()
                          THEN now() + make_interval(secs => :lease) ELSE old.open_until END
    FROM old WHERE g.config_id = old.config_id
    RETURNING old.open_until > now() AS refused,
              old.open_until IS NOT NULL AND old.open_until <= now() AS trial,
              old.open_until AS open_until,
              greatest(0, extract(epoch FROM greatest(old.tat, now()) - now()) - (:burst - 1) * :spacing) AS wait_s
""")

_TAKE_LANE = text("""
    UPDATE qloapps_request_lanes SET holder = :holder, expires_at = now() + make_interval(secs => :lease)
    WHERE (config_id, lane) = (
        SELECT config_id, lane FROM qloapps_request_lanes
        WHERE config_id = :c AND lane < :cap AND (holder IS NULL OR expires_at < now())
        ORDER BY lane LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING lane
""")

_FREE_LANE = text("""
    UPDATE qloapps_request_lanes SET holder = NULL, expires_at = NULL
    WHERE config_id = :c AND lane = :lane AND holder = :holder
""")

# Written only when something changes, so a healthy shop's requests cost no write here.
_SUCCEEDED = text("""
    UPDATE qloapps_shop_gate SET failures = 0, trips = 0, open_until = NULL, last_success_at = now()
    WHERE config_id = :c AND (failures > 0 OR open_until IS NOT NULL OR last_success_at IS NULL
                              OR last_success_at < now() - interval '1 minute')
""")

_FAILED = text("""
    UPDATE qloapps_shop_gate SET
        failures = failures + 1, last_error = :error, last_failure_at = now(),
        trips = CASE WHEN :trial OR (open_until IS NULL AND failures + 1 >= :threshold) THEN trips + 1
                     ELSE trips END,
        open_until = CASE WHEN :trial OR (open_until IS NULL AND failures + 1 >= :threshold)
                          THEN now() + make_interval(secs => least(:base * power(2, trips), :max_open))
                          ELSE open_until END
    WHERE config_id = :c
    RETURNING open_until, trips, failures
""")


_ENSURED: set[tuple[str, int, int]] = set()  # (database, shop, lanes) whose rows this process has made sure of
_ENSURED_LOCK = threading.Lock()


class ShopGate:
    """The gate of one shop, for one client; thread-safe (a pull reads pages in a second thread)."""

    def __init__(self, engine: Engine, config_id: int, shop_name: str, *, max_concurrent: int,
                 requests_per_second: float, policy: GatePolicy | None = None) -> None:
        self._engine = engine
        self.config_id = config_id
        self.shop_name = shop_name
        self.max_concurrent = max_concurrent
        self.spacing_s = 1.0 / requests_per_second
        self.burst = max(1.0, requests_per_second)  # one second's worth may go back to back
        self.policy = policy or GatePolicy()
        self._ensure_key = (engine.url.render_as_string(), config_id, max_concurrent)
        self._holder_prefix = f"{socket.gethostname()[:60]}:{os.getpid()}"
        self._ahead_lock = threading.Lock()
        self._own_lanes = threading.BoundedSemaphore(max_concurrent)
        self._ahead: _Ahead | None = None
        self._deferred: list[tuple[int, str]] = []  # (lane, holder) of requests whose end is not recorded yet

    @contextmanager
    def request(self) -> Iterator[RequestTicket]:
        """Admit one request: raises ShopUnavailableError while the breaker is open; waits for its turn and a
        lane. The caller marks the ticket failed with the error it got; anything else counts as a success.

        The request admitted ahead (:meth:`admit_ahead`), if any, is the first to come here: it skips its
        own admission, and its success is recorded by :meth:`record_deferred`."""
        # This client's own requests (a pull's run in several threads) queue here for the shop's limit, not by
        # polling PostgreSQL for one another's lanes; other processes' requests are met in _wait_for_lane.
        with self._own_lane():
            ahead = self._take_ahead()
            if ahead is None:
                holder = f"{self._holder_prefix}:{uuid.uuid4().hex[:12]}"
                trial, wait_s, lane = self._admit(holder)
                turn = time.monotonic() + wait_s
            else:
                holder, trial, turn, lane = ahead.holder, ahead.trial, ahead.turn, ahead.lane
            if lane is None:
                lane = self._wait_for_lane(holder)
            ticket = RequestTicket()
            try:
                wait_s = turn - time.monotonic()
                if wait_s > 0:
                    time.sleep(wait_s)
                yield ticket
            finally:
                if ahead is not None and not trial and not _breaker_failure(ticket):
                    with self._ahead_lock:
                        self._deferred.append((lane, holder))
                else:
                    self._finish(lane, holder, ticket, trial)

    # -- a run's first request, admitted and recorded inside the run's own transactions --------------------

    def admit_ahead(self, connection: Connection) -> None:
        """Admit this gate's next request inside the caller's transaction: a pull's first request then costs
        no transaction of its own. Nothing is admitted while the breaker is open (that request then meets the
        breaker itself), nor when the gate's rows are missing."""
        self._ensure()
        holder = f"{self._holder_prefix}:{uuid.uuid4().hex[:12]}"
        row, lane = self._admit_within(connection, holder)
        if row is None or row.refused:
            return
        with self._ahead_lock:
            self._ahead = _Ahead(holder, bool(row.trial), time.monotonic() + float(row.wait_s), lane)

    def record_deferred(self, connection: Connection) -> None:
        """Record, inside the caller's transaction, the end of the request admitted ahead (its lane freed, the
        shop's success noted), or give back its lane if it never ran. Its lane is held until then, or until
        this gate admits its next request (in that request's own admission): call this in the run's next
        transaction, at the latest its last."""
        with self._ahead_lock:
            unused, self._ahead = self._ahead, None
        if unused is not None and unused.lane is not None:
            connection.execute(_FREE_LANE, {"c": self.config_id, "lane": unused.lane, "holder": unused.holder})
        self._record_done(connection)

    def _record_done(self, connection: Connection) -> None:
        with self._ahead_lock:
            done, self._deferred = self._deferred, []
        for lane, holder in done:
            connection.execute(_FREE_LANE, {"c": self.config_id, "lane": lane, "holder": holder})
        if done:
            connection.execute(_SUCCEEDED, {"c": self.config_id})

    def flush(self) -> None:
        """:meth:`record_deferred` in a transaction of its own, if anything is left (a run that failed early)."""
        with self._ahead_lock:
            if not self._deferred and self._ahead is None:
                return
        try:
            with self._engine.begin() as connection:
                self.record_deferred(connection)
        except Exception as exc:  # noqa: BLE001  (advisory, as in _finish: the lanes' leases run out)
            logger.warning("QloApps shop %s: could not record a request's end in its gate: %s", self.shop_name,
                           type(exc).__name__, extra={"action": "gate_unrecorded", "shop": self.shop_name})

    @contextmanager
    def _own_lane(self) -> Iterator[None]:
        if not self._own_lanes.acquire(timeout=self.policy.lane_wait_s):
            raise self._lanes_busy()
        try:
            yield
        finally:
            self._own_lanes.release()

    def _lanes_busy(self) -> ShopUnavailableError:
        return ShopUnavailableError(f"QloApps shop {self.shop_name!r}: all {self.max_concurrent} request lanes stayed "
                                    f"busy for {self.policy.lane_wait_s:g} s")

    def _take_ahead(self) -> _Ahead | None:
        with self._ahead_lock:
            ahead, self._ahead = self._ahead, None
        return ahead

    def _ensure(self) -> None:
        """The shop's gate row and lanes exist (once per process and shop, unless they vanish)."""
        key = self._ensure_key
        if key in _ENSURED:
            return
        with self._engine.begin() as connection:
            connection.execute(_ENSURE_GATE, {"c": self.config_id})
            connection.execute(_ENSURE_LANES, {"c": self.config_id, "cap": self.max_concurrent})
        with _ENSURED_LOCK:
            _ENSURED.add(key)

    def _admit(self, holder: str) -> tuple[bool, float, int | None]:
        """One transaction: the breaker and the pacing (raises while open), then a lane if one is free:
        (trial, seconds to wait for the turn, lane or None)."""
        self._ensure()
        with self._engine.begin() as connection:
            # A lane held for a request admitted ahead that has ended is freed before this one takes one.
            self._record_done(connection)
            row, lane = self._admit_within(connection, holder)
        # Refused after the commit: the lanes freed above stay freed.
        if row is not None and row.refused:
            raise ShopUnavailableError(
                f"QloApps shop {self.shop_name!r} keeps failing: its requests are paused until "
                f"{row.open_until:%Y-%m-%d %H:%M:%S %Z} (circuit breaker open)")
        if row is None:  # its rows went (the database was reset under this process): make them again
            with _ENSURED_LOCK:
                _ENSURED.clear()
            return self._admit(holder)
        return bool(row.trial), float(row.wait_s), lane

    def _admit_within(self, connection: Connection, holder: str) -> tuple[Row[Any] | None, int | None]:
        """_ADMIT's row (None: the gate's rows are missing) and, unless refused, a lane if one is free."""
        row = connection.execute(_ADMIT, {"c": self.config_id, "spacing": self.spacing_s, "burst": self.burst,
                                          "lease": self.policy.lane_lease_s}).first()
        if row is None or row.refused:
            return row, None
        lane = connection.execute(_TAKE_LANE, {"c": self.config_id, "cap": self.max_concurrent, "holder": holder,
                                               "lease": self.policy.lane_lease_s}).scalar()
        return row, None if lane is None else int(lane)

    def _wait_for_lane(self, holder: str) -> int:
        deadline = time.monotonic() + self.policy.lane_wait_s
        pause = 0.01
        while True:
            # Lanes free up when a request ends (milliseconds to a read timeout): poll, backing off.
            time.sleep(pause)
            pause = min(pause * 2, 0.25)
            with self._engine.begin() as connection:
                self._record_done(connection)
                lane = connection.execute(_TAKE_LANE, {"c": self.config_id, "cap": self.max_concurrent,
                                                       "holder": holder, "lease": self.policy.lane_lease_s}).scalar()
            if lane is not None:
                return int(lane)
            if time.monotonic() >= deadline:
                raise self._lanes_busy()

    def _finish(self, lane: int, holder: str, ticket: RequestTicket, trial: bool) -> None:
        # Never raises: the request is done (a create may have succeeded), and what is lost here is advisory
        # (the lane's lease runs out by itself, the breaker counts the next failure).
        try:
            self._record(lane, holder, ticket, trial)
        except Exception as exc:  # noqa: BLE001
            logger.warning("QloApps shop %s: could not record a request's end in its gate: %s: %s", self.shop_name,
                           type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
                           extra={"action": "gate_unrecorded", "shop": self.shop_name})

    def _record(self, lane: int, holder: str, ticket: RequestTicket, trial: bool) -> None:
        failed = _breaker_failure(ticket)
        with self._engine.begin() as connection:
            connection.execute(_FREE_LANE, {"c": self.config_id, "lane": lane, "holder": holder})
            if not failed:
                connection.execute(_SUCCEEDED, {"c": self.config_id})
                return
            opened = connection.execute(_FAILED, {
                "c": self.config_id, "error": f"{type(ticket.error).__name__}: {ticket.error}"[:500],
                "trial": trial, "threshold": self.policy.failure_threshold, "base": self.policy.base_open_s,
                "max_open": self.policy.max_open_s}).one()
        # Said once per opening: by the failure that reached the threshold, or by a failed trial.
        if opened.open_until is not None and (trial or opened.failures == self.policy.failure_threshold):
            logger.warning("QloApps shop %s keeps failing (%s); its requests are paused until %s",
                           self.shop_name, type(ticket.error).__name__, opened.open_until.isoformat(),
                           extra={"action": "breaker_open", "shop": self.shop_name})


@dataclass(frozen=True)
class _Ahead:
    """A request admitted ahead: its lane (None: none was free) and when its turn comes (monotonic)."""

    holder: str
    trial: bool
    turn: float
    lane: int | None


def _breaker_failure(ticket: RequestTicket) -> bool:
    return ticket.error is not None and isinstance(ticket.error, BREAKER_ERRORS)


class RequestTicket:
    """Filled in by the client: the error a request ended with (None when it got an answer)."""

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: BaseException | None = None


def breaker_states(engine: Engine) -> dict[int, BreakerState]:
    """Every shop's breaker, by config id (shops that never made a request have none)."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT config_id, failures, trips, open_until, last_error, last_failure_at, last_success_at "
            "FROM qloapps_shop_gate")).all()
    return {r.config_id: BreakerState(r.failures, r.trips, r.open_until, r.last_error, r.last_failure_at,
                                      r.last_success_at) for r in rows}


def reset_breaker(engine: Engine, config_id: int) -> bool:
    """Close a shop's breaker by hand (after the website was fixed); True if it was open or failing."""
    with engine.begin() as connection:
        changed = connection.execute(text(
            "UPDATE qloapps_shop_gate SET failures = 0, trips = 0, open_until = NULL "
            "WHERE config_id = :c AND (failures > 0 OR open_until IS NOT NULL)"), {"c": config_id}).rowcount
    return bool(changed)
