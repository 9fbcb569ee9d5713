"""DLQ tooling against the real RabbitMQ and Postgres: requeue, purge, and messages RabbitMQ dead-lettered itself."""

from __future__ import annotations

import os

import pika
from dramatiq.message import Message
from sqlalchemy import text

from qlosync.runtime import dlq
from qlosync.runtime.broker import qlosync_actor
from qlosync.db import dead_letters
from qlosync.errors import PermanentError
from qlosync.runtime.context import current_runtime
from tests.runtime_support import (  # noqa: F401
    clear_flag,
    create_event_tables,
    events,
    in_process_worker,
    queue_counts,
    set_flag,
    wait_until,
)


def _declare_fragile(w):
    @qlosync_actor(queue_name=w.queue, broker=w.broker)
    def fragile(job: str) -> None:
        with current_runtime().transaction() as session:
            session.execute(text("INSERT INTO test_events (kind, job, pid) VALUES ('attempt', :job, :pid)"),
                            {"job": job, "pid": os.getpid()})
        with current_runtime().transaction() as session:
            if session.execute(text("SELECT 1 FROM test_flags WHERE name = 'fault'")).first():
                raise PermanentError("the mapping for room type 7 is missing")
            session.execute(text("INSERT INTO test_events (kind, job, pid) VALUES ('effect', :job, :pid)"),
                            {"job": job, "pid": os.getpid()})

    return fragile


def _status(session_factory, message_id):
    with session_factory() as session:
        record = dead_letters.get(session, message_id)
        return record.status if record else None


def test_requeue_brings_a_dead_letter_back_and_once_the_fault_is_gone_it_succeeds(
    in_process_worker, engine, session_factory, rabbitmq_vhost
):
    # Given a message dead-lettered by a permanent error (a missing mapping)
    create_event_tables(engine)
    set_flag(engine, "fault")
    w = in_process_worker()
    fragile = _declare_fragile(w)
    w.start()
    message = fragile.send("job-1")
    wait_until(lambda: _status(session_factory, message.message_id) == "dead", what="the dead letter")
    # When a person fixes the mapping and requeues it
    clear_flag(engine, "fault")
    result = dlq.requeue(session_factory, rabbitmq_vhost, message.message_id, dlq=w.dlq)
    # Then it runs again and succeeds, once, and the record says so
    assert result.requeued == [message.message_id] and result.skipped == []
    wait_until(lambda: _status(session_factory, message.message_id) == "succeeded", what="the success")
    assert len(events(engine, "effect", "job-1")) == 1
    with session_factory() as session:
        record = dead_letters.get(session, message.message_id)
    assert record.requeue_count == 1 and record.requeued_at is not None and record.resolved_at is not None
    assert dlq.list_dead_letters(session_factory, rabbitmq_vhost, dlq=w.dlq) == []
    assert queue_counts(rabbitmq_vhost, w.dlq) == (0, 0)


def test_a_message_rabbitmq_expired_itself_is_recorded_from_x_death_and_can_be_requeued(
    in_process_worker, engine, session_factory, rabbitmq_vhost
):
    # Given a message that expired in its queue before any worker took it (no record: RabbitMQ did it)
    create_event_tables(engine)
    w = in_process_worker()
    fragile = _declare_fragile(w)
    w.broker.declare_topology()
    message = Message(queue_name=w.queue, actor_name=fragile.actor_name, args=("job-2",), kwargs={}, options={})
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_vhost))
    connection.channel().basic_publish(exchange="", routing_key=w.queue, body=message.encode(),
                                       properties=pika.BasicProperties(delivery_mode=2, expiration="1"))
    connection.close()
    wait_until(lambda: queue_counts(rabbitmq_vhost, w.dlq)[0] == 1, what="RabbitMQ to dead-letter it")
    # When an operator lists the DLQ
    views = dlq.list_dead_letters(session_factory, rabbitmq_vhost, dlq=w.dlq)
    # Then it is recorded with the reason and the queue of origin from x-death, and is still in the DLQ
    assert [(v.record.message_id, v.record.reason, v.record.queue_name, v.in_queue) for v in views] == [
        (message.message_id, "expired", w.queue, True)
    ]
    assert queue_counts(rabbitmq_vhost, w.dlq)[0] == 1
    # and requeueing it to a running worker makes it succeed
    w.start()
    assert dlq.requeue(session_factory, rabbitmq_vhost, dlq=w.dlq).requeued == [message.message_id]
    wait_until(lambda: _status(session_factory, message.message_id) == "succeeded", what="the success")
    assert len(events(engine, "effect", "job-2")) == 1


def test_purge_one_then_all_including_a_body_that_is_not_a_dramatiq_message(
    in_process_worker, engine, session_factory, rabbitmq_vhost
):
    # Given two dead dramatiq messages and one foreign body in the DLQ
    create_event_tables(engine)
    set_flag(engine, "fault")
    w = in_process_worker()
    fragile = _declare_fragile(w)
    w.start()
    first, second = fragile.send("a"), fragile.send("b")
    wait_until(lambda: _status(session_factory, first.message_id) == _status(session_factory, second.message_id) == "dead",
               what="both dead letters")
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_vhost))
    connection.channel().basic_publish(exchange="", routing_key=w.dlq, body=b"\x00 not json")
    connection.close()
    views = dlq.list_dead_letters(session_factory, rabbitmq_vhost, dlq=w.dlq)
    foreign = next(v.record for v in views if v.record.message_id.startswith("raw-"))
    assert (foreign.actor_name, foreign.queue_name, foreign.reason) == ("?", "?", "unknown")
    # The foreign body cannot be requeued (it is skipped, and stays)
    result = dlq.requeue(session_factory, rabbitmq_vhost, foreign.message_id, dlq=w.dlq)
    assert result.requeued == [] and result.skipped[0][0] == foreign.message_id
    # When one message is purged, then the others stay
    assert dlq.purge(session_factory, rabbitmq_vhost, first.message_id, dlq=w.dlq) == [first.message_id]
    assert queue_counts(rabbitmq_vhost, w.dlq)[0] == 2
    # When all are purged, then the DLQ is empty and every record says purged
    assert sorted(dlq.purge(session_factory, rabbitmq_vhost, dlq=w.dlq)) == sorted([second.message_id, foreign.message_id])
    assert queue_counts(rabbitmq_vhost, w.dlq)[0] == 0
    for message_id in (first.message_id, second.message_id, foreign.message_id):
        assert _status(session_factory, message_id) == "purged"
    assert len(events(engine, "effect")) == 0
