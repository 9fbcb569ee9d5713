"""qlosync's dramatiq actors: ``dramatiq qlosync.actors`` runs a worker on every qlosync queue.

The broker is set up first (dramatiq binds actors to the global broker when they are declared). Each
actor stays thin: it calls one plain function of the process's Runtime (qlosync.sync.inbound.jobs,
qlosync.sync.outbound.jobs) with the message's arguments and returns, and dramatiq acks only after
it returned, so the ack always follows the commit. This module's ``import_booking`` (its docstring left out)::

    @qlosync_actor(queue_name=INBOUND, time_limit_ms=120_000)
    def import_booking(shop: str, order_id: int) -> None:
        result = inbound_jobs.import_one(current_runtime(), shop, order_id)
        metrics.count_bookings(result.outcome)

Run one queue per process group with ``dramatiq qlosync.actors --queues qloapps.inbound`` (the delay
queue ``qloapps.inbound.DQ`` comes with it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from dramatiq.middleware import CurrentMessage
from periodiq import cron

from qlosync.runtime import metrics
from qlosync.runtime.broker import qlosync_actor, setup_broker
from qlosync.db.session import check_database
from qlosync.runtime.queues import INBOUND, OUTBOUND, SCHEDULE
from qlosync.runtime.context import current_runtime
from qlosync.sync.inbound import jobs as inbound_jobs
from qlosync.sync.outbound import jobs as outbound_jobs

broker = setup_broker()


def _health() -> None:
    # A worker that can reach PostgreSQL can do its job; DatabaseUnavailableError is transient (retried).
    check_database(current_runtime().engine)


@qlosync_actor(queue_name=INBOUND, max_retries=0, time_limit_ms=30_000)
def ping_inbound() -> None:
    """Health check of the inbound workers (consumes from qloapps.inbound)."""
    _health()


@qlosync_actor(queue_name=OUTBOUND, max_retries=0, time_limit_ms=30_000)
def ping_outbound() -> None:
    """Health check of the outbound workers (consumes from qloapps.outbound)."""
    _health()


# -- inbound sync -----------------------------------------------------------------------------------------

PULL_TIME_LIMIT_MS = 20 * 60 * 1000  # below RabbitMQ's 30-minute consumer timeout for the unacked message


@qlosync_actor(queue_name=INBOUND, time_limit_ms=PULL_TIME_LIMIT_MS, max_retries=0)
def pull_bookings(shop: str = "default", kind: str = "incremental", trigger: str = "manual",
                  slot_at: str | None = None, interval_ms: int | None = None) -> None:
    """Run one pull of QloApps bookings (the run records its own failure; the next slot retries).

    A scheduled pull carries the interval of the scheduler that made its slot."""
    # The run keeps the message id, so whoever enqueued the pull (the admin API) can find its run.
    message = CurrentMessage.get_current_message()
    inbound_jobs.pull(current_runtime(), shop, kind=kind, trigger=trigger, slot_at=slot_at,
                      retry_booking=lambda order_id: import_booking.send(shop, order_id),
                      message_id=message.message_id if message is not None else None, interval_ms=interval_ms)


@qlosync_actor(queue_name=INBOUND, time_limit_ms=120_000)
def import_booking(shop: str, order_id: int) -> None:
    """Fetch and apply one QloApps booking (a booking that failed inside a pull lands here)."""
    result = inbound_jobs.import_one(current_runtime(), shop, order_id)
    metrics.count_bookings(result.outcome)


# Its own queue, and ahead of whatever else a worker has taken (dramatiq runs lower priorities first).
@qlosync_actor(queue_name=SCHEDULE, max_retries=0, time_limit_ms=60_000, periodic=cron("* * * * *"), priority=-1)
def schedule_tick(interval_ms: int | None = None, minute: str | None = None) -> None:
    """Every minute (periodiq): enqueue this minute's incremental pull slots for every enabled shop, and in
    the minute of QLOSYNC_FULL_SYNC_AT the nightly full reconciliation (kind full, trigger nightly).

    *interval_ms* is the scheduler's QLOAPPS_SYNC_INTERVAL_MS (qlosync.schedule stamps it on every tick).
    *minute*: the minute a catch-up tick stands for (a tick periodiq dropped as too old, runtime.middleware.
    dropped_ticks), else the current one."""
    runtime = current_runtime()
    interval = inbound_jobs.scheduler_interval(runtime.settings, interval_ms)

    def enqueue(shop: str, slot: datetime, delay_ms: int, kind: str = "incremental") -> None:
        pull_bookings.send_with_options(args=(shop, kind, inbound_jobs.SLOT_TRIGGERS[kind], slot.isoformat()),
                                        kwargs={"interval_ms": interval}, delay=delay_ms)

    inbound_jobs.tick(runtime, enqueue, interval_ms=interval,
                      minute=datetime.fromisoformat(minute) if minute is not None else None)


@qlosync_actor(queue_name=INBOUND, max_retries=0, time_limit_ms=600_000, periodic=cron("45 4 * * *"))
def prune_runs() -> None:
    """Daily (04:45, periodiq): delete sync runs older than QLOSYNC_RUN_RETENTION_DAYS (with many shops the
    scheduler records one run per shop per interval)."""
    inbound_jobs.prune(current_runtime())


# -- outbound sync ----------------------------------------------------------------------------------------


# PMS ids are the PMS's text. Messages queued (or dead-lettered) before they were carry the built-in PMS's
# integer ids: str() reads both the same.


@qlosync_actor(queue_name=OUTBOUND)
def push_reservation(reservation_id: str, mapping_ids: list[int] | None = None) -> None:
    """Bring QloApps in line with one PMS reservation (sent by the outbox relay; safe to deliver twice)."""
    for result in outbound_jobs.push(current_runtime(), str(reservation_id), mapping_ids or ()):
        metrics.count_push("reservation", result.action)


@qlosync_actor(queue_name=OUTBOUND)
def push_rates(room_type_id: str, date_from: str, date_to: str) -> None:
    """Make QloApps charge one PMS room type's rates for nights date_from..date_to (sent by the outbox relay)."""
    outbound_jobs.push_rates_job(current_runtime(), str(room_type_id), date.fromisoformat(date_from),
                                 date.fromisoformat(date_to))


@qlosync_actor(queue_name=OUTBOUND)
def push_availability(room_type_id: str, date_from: str, date_to: str) -> None:
    """Keep one PMS room type's closed nights and out-of-order rooms off sale in QloApps (sent by the relay)."""
    outbound_jobs.push_availability_job(current_runtime(), str(room_type_id), date.fromisoformat(date_from),
                                        date.fromisoformat(date_to))


@qlosync_actor(queue_name=OUTBOUND, max_retries=0, time_limit_ms=60_000, periodic=cron("15 3 * * *"))
def reconcile_rates() -> None:
    """Daily (03:15, periodiq): push rates and availability of the next QLOSYNC_ARI_DAYS nights of every sold
    room type; only differences are written, so a rule changed by hand in QloApps is put back and a room a
    cancellation freed on a closed night is taken again."""
    runtime = current_runtime()
    with runtime.transaction() as session:
        todo = outbound_jobs.rate_reconciliations(session, datetime.now(UTC).date(), runtime.settings.ari_days)
    for room_type_id, first, last in todo:
        push_rates.send(room_type_id, first.isoformat(), last.isoformat())
        push_availability.send(room_type_id, first.isoformat(), last.isoformat())
