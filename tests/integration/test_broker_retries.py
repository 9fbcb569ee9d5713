"""Retries against the real RabbitMQ: transient failures back off and then dead-letter; permanent ones don't retry."""

from __future__ import annotations

import os
import time

from sqlalchemy import text

from qlosync.runtime import dlq
from qlosync.db import dead_letters
from qlosync.runtime.broker import qlosync_actor
from qlosync.errors import PermanentError, TransientError
from qlosync.runtime.context import current_runtime
from tests.runtime_support import create_event_tables, events, in_process_worker, wait_until  # noqa: F401


def _attempt(job: str) -> None:
    with current_runtime().transaction() as session:
        session.execute(text("INSERT INTO test_events (kind, job, pid) VALUES ('attempt', :job, :pid)"),
                        {"job": job, "pid": os.getpid()})


def _record(session_factory, message_id):
    with session_factory() as session:
        return dead_letters.get(session, message_id)


def test_a_transient_error_is_retried_with_growing_delays_then_dead_lettered(
    in_process_worker, engine, session_factory, rabbitmq_vhost
):
    # Given an actor that always fails with a transient error, and 3 retries of 100 ms * 2**n (+ jitter)
    create_event_tables(engine)
    w = in_process_worker()

    @qlosync_actor(queue_name=w.queue, broker=w.broker)
    def flaky(job: str) -> None:
        _attempt(job)
        raise TransientError("QloApps answered 503")

    w.start()
    # When a message is sent
    message = flaky.send("job-1")
    # Then it is tried 4 times, and ends in the DLQ with a record
    record = wait_until(lambda: _record(session_factory, message.message_id), what="the dead-letter record")
    attempts = [row.at for row in events(engine, "attempt", "job-1")]
    assert len(attempts) == 4
    gaps_ms = [(b - a).total_seconds() * 1000 for a, b in zip(attempts, attempts[1:])]
    # each wait is at least 100 * 2**n ms, and the last is longer than the first
    for n, gap in enumerate(gaps_ms):
        assert gap >= 100 * 2**n * 0.95, gaps_ms
    assert gaps_ms[-1] > gaps_ms[0], gaps_ms
    print(f"\nretry gaps (ms): {[round(g) for g in gaps_ms]}")
    assert (record.reason, record.retries, record.status) == ("retries_exhausted", 3, "dead")
    assert record.queue_name == w.queue and record.actor_name == "flaky"
    assert record.error_class == "qlosync.errors.TransientError"
    assert record.error_message == "QloApps answered 503"
    assert record.args == ["job-1"]
    # and RabbitMQ has the message in the shared DLQ, with the queue of origin in x-death
    views = dlq.list_dead_letters(session_factory, rabbitmq_vhost, dlq=w.dlq)
    assert [v.record.message_id for v in views] == [message.message_id]
    assert views[0].in_queue
    assert views[0].x_death[0]["queue"] == w.queue and views[0].x_death[0]["reason"] == "rejected"


def test_a_permanent_error_is_dead_lettered_without_retries(in_process_worker, engine, session_factory, rabbitmq_vhost):
    create_event_tables(engine)
    w = in_process_worker()

    @qlosync_actor(queue_name=w.queue, broker=w.broker)
    def invalid(job: str) -> None:
        _attempt(job)
        raise PermanentError("room type 7 has no mapping")

    w.start()
    message = invalid.send("job-2")
    record = wait_until(lambda: _record(session_factory, message.message_id), what="the dead-letter record")
    assert (record.reason, record.retries, record.error_class) == ("permanent", 0, "qlosync.errors.PermanentError")
    assert len(events(engine, "attempt", "job-2")) == 1
    assert [v.record.message_id for v in dlq.list_dead_letters(session_factory, rabbitmq_vhost, dlq=w.dlq)] == [
        message.message_id
    ]


def test_a_hung_actor_is_interrupted_by_its_time_limit_and_retried(in_process_worker, engine, session_factory):
    # Given an actor that hangs (as an HTTP call without a timeout would), with a 300 ms limit and 1 retry
    create_event_tables(engine)
    w = in_process_worker()

    @qlosync_actor(queue_name=w.queue, broker=w.broker, time_limit_ms=300, max_retries=1)
    def hangs(job: str) -> None:
        _attempt(job)
        while True:  # a busy wait stands in for a call that never returns
            time.sleep(0.01)

    w.start()
    message = hangs.send("job-3")
    # Then the worker thread is freed each time, and the message is dead-lettered after its one retry
    record = wait_until(lambda: _record(session_factory, message.message_id), what="the dead-letter record")
    assert record.error_class == "dramatiq.middleware.time_limit.TimeLimitExceeded"
    assert (record.reason, record.retries) == ("retries_exhausted", 1)
    assert len(events(engine, "attempt", "job-3")) == 2


def test_qlosync_actors_never_retry_permanent_errors_by_default(in_process_worker):
    w = in_process_worker()

    @qlosync_actor(queue_name=w.queue, broker=w.broker, throws=(KeyError,))
    def wiring() -> None:
        """Only the options are checked here."""

    assert wiring.queue_name == w.queue
    assert wiring.options["throws"] == (PermanentError, KeyError)
