"""The outbox relay: PMS changes reach ``qloapps.outbound`` about as soon as they commit.

The PMS's change feed (``open_pms(session).changes``) captures changes in the writer's transaction and
announces them on a PostgreSQL channel. A relay LISTENs on it, and on every wake-up, and at least every
``poll_interval_s`` in case a notification was missed (a dropped connection, a row written by hand), it
claims the captured changes, publishes one message per change (a reservation's, or a room type's rates or
availability, coalesced) and marks them sent in the same transaction, after RabbitMQ confirmed every publish.
A relay that dies between the confirm and the commit leaves them unsent: they are published again, and the
push is idempotent. Several relays may run at once: a claim skips what another relay holds.

It runs as its own process, ``qlosync relay`` (one or more per deployment), so a stuck broker
connection or a slow database never holds up the workers, and it is supervised like them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.session import transaction
from qlosync.pms import open_pms
from qlosync.pms.port import CapturedChange
from qlosync.runtime import metrics
from qlosync.runtime.heartbeat import Heartbeat

logger = logging.getLogger(__name__)

Publish = Callable[[CapturedChange], None]


@dataclass
class RelayCounters:
    messages: int = 0
    rows: int = 0
    errors: int = 0


def relay_once(session_factory: sessionmaker[Session], publish: Publish, *, batch: int = 500,
               counters: RelayCounters | None = None, heartbeat: Heartbeat | None = None) -> int:
    """Publish every unsent row there is now, a batch per transaction; returns how many messages were sent."""
    counters = counters or RelayCounters()
    sent = 0
    while True:
        with transaction(session_factory) as session:
            feed = open_pms(session).changes
            groups = feed.claim(batch)
            if not groups:
                return sent
            for group in groups:
                publish(group)  # raises on a nack or a lost connection: the rows stay unsent
            row_ids = [row_id for group in groups for row_id in group.row_ids]
            feed.mark_published(row_ids)
        sent += len(groups)
        counters.messages += len(groups)
        counters.rows += len(row_ids)
        metrics.count_relayed(len(row_ids))
        if heartbeat is not None:
            heartbeat.done(len(row_ids))


def change_channel(session_factory: sessionmaker[Session]) -> str:
    """The channel the PMS announces captured changes on (no query: the adapter knows it)."""
    with session_factory() as session:
        return open_pms(session).changes.channel


def _listen(engine: Engine, channel: str) -> psycopg.Connection:
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
    return connection


def _wait_for_commit(listener: psycopg.Connection, poll_interval_s: float, stop: threading.Event) -> None:
    """Return when a commit notifies, the poll interval passes, or *stop* is set (checked twice a second)."""
    deadline = time.monotonic() + poll_interval_s
    while not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        for _ in listener.notifies(timeout=min(remaining, 0.5), stop_after=1):
            return


def run_relay(engine: Engine, session_factory: sessionmaker[Session], publish: Publish, stop: threading.Event, *,
              poll_interval_s: float = 2.0, batch: int = 500, counters: RelayCounters | None = None,
              heartbeat: Heartbeat | None = None) -> RelayCounters:
    """Relay until *stop* is set; outages of PostgreSQL or RabbitMQ are waited out with a capped backoff.

    With a *heartbeat* (role relay), relayed rows count as done and every failed attempt as failed.
    """
    counters = counters or RelayCounters()
    if heartbeat is not None:
        heartbeat.start()
    channel = change_channel(session_factory)
    listener: psycopg.Connection | None = None
    failures = 0
    while not stop.is_set():
        try:
            if listener is None:
                listener = _listen(engine, channel)
            relay_once(session_factory, publish, batch=batch, counters=counters, heartbeat=heartbeat)
            failures = 0
            _wait_for_commit(listener, poll_interval_s, stop)
        except Exception as exc:  # noqa: BLE001  (a relay keeps relaying: outages are waited out)
            failures += 1
            counters.errors += 1
            if heartbeat is not None:
                heartbeat.failed()
            logger.warning("Outbox relay: %s: %s; retrying.", type(exc).__name__, str(exc).splitlines()[0] if str(exc)
                           else "", extra={"action": "relay_error"})
            if listener is not None:
                try:
                    listener.close()
                except Exception:  # noqa: BLE001
                    pass
                listener = None
            stop.wait(min(0.2 * 2 ** min(failures, 6), 10.0))
    if listener is not None:
        listener.close()
    if heartbeat is not None:
        heartbeat.stop()
    return counters
