"""The subclassed broker's queue arguments are what RabbitMQ really has; conflicts give one clear error."""

from __future__ import annotations

import dramatiq
import pika
import pytest
from dramatiq.common import dq_name, xq_name

from qlosync.runtime.broker import RetryPolicy, build_broker
from qlosync.errors import ConfigurationError
from qlosync.runtime.topology import QueueConflictError, declare, setup_topology
from tests.runtime_support import in_process_worker, queue_counts, unique  # noqa: F401


@pytest.fixture
def channel(rabbitmq_vhost):
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_vhost))
    holder = {"channel": connection.channel()}

    def fresh():
        # A 406 closes the channel: each probe gets a new one.
        if not holder["channel"].is_open:
            holder["channel"] = connection.channel()
        return holder["channel"]

    yield fresh
    connection.close()


def test_every_queue_and_its_delay_queue_dead_letter_into_one_ttl_less_dlq(in_process_worker, channel, rabbitmq_vhost):
    # Given a broker on two work queues
    w = in_process_worker()
    other = unique("t.other")
    w.broker.declare_queue(other)
    # When it declares its topology on RabbitMQ
    w.broker.declare_topology()
    # Then redeclaring with exactly these arguments is accepted (RabbitMQ compares every x- argument) ...
    expected = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": w.dlq}
    for name in (w.queue, dq_name(w.queue), other, dq_name(other)):
        declare(channel(), name, expected)
    declare(channel(), w.dlq, {})
    # ... and anything else is refused: dramatiq's stock per-queue XQ, or a TTL on the DLQ
    with pytest.raises(QueueConflictError):
        declare(channel(), w.queue, {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": xq_name(w.queue)})
    with pytest.raises(QueueConflictError):
        declare(channel(), w.dlq, {"x-message-ttl": 86400000 * 7})
    # and no per-queue XQ was created
    assert queue_counts(rabbitmq_vhost, xq_name(w.queue)) is None


def test_a_queue_declared_by_stock_dramatiq_gives_a_clear_error_naming_the_queue_and_the_fix(
    in_process_worker, channel, rabbitmq_vhost
):
    # Given a queue an older deployment declared with dramatiq's default dead-lettering
    w = in_process_worker()
    channel().queue_declare(queue=w.queue, durable=True,
                            arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": xq_name(w.queue)})

    @dramatiq.actor(queue_name=w.queue, broker=w.broker)
    def noop() -> None: ...

    # When qlosync sends to it
    with pytest.raises(QueueConflictError) as caught:
        noop.send()
    # Then the error names the queue and the command that fixes it, and is a configuration error
    message = str(caught.value)
    assert repr(w.queue) in message and "qlosync broker setup --recreate-empty" in message
    assert isinstance(caught.value, ConfigurationError)
    # and the broker still works for queues that are fine (its closed channel was replaced)
    good = unique("t.good")

    @dramatiq.actor(queue_name=good, broker=w.broker)
    def fine() -> None: ...

    fine.send()
    assert queue_counts(rabbitmq_vhost, good) == (1, 0)


def test_a_worker_does_not_boot_on_a_conflicting_queue(in_process_worker, channel, caplog):
    w = in_process_worker()
    channel().queue_declare(queue=w.queue, durable=True, arguments={"x-max-length": 10})
    # It ends the process (exit 1) with one line, not a traceback from dramatiq's worker process
    with pytest.raises(SystemExit) as caught:
        w.start()
    assert caught.value.code == 1
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Worker not started")]
    assert repr(w.queue) in line and "x-max-length = 10 (qlosync: not set)" in line


def test_setup_recreates_an_empty_conflicting_queue_and_refuses_a_non_empty_one(rabbitmq_vhost, channel):
    # Given two work queues with stock dramatiq arguments, one empty and one holding a message
    empty, busy, dlq = unique("t.empty"), unique("t.busy"), unique("t.dlq")
    for name in (empty, busy):
        channel().queue_declare(queue=name, durable=True,
                                arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": xq_name(name)})
    channel().basic_publish(exchange="", routing_key=busy, body=b"pending")
    # When setup runs without --recreate-empty, both are reported and nothing changes
    states = {s.name: s for s in setup_topology(rabbitmq_vhost, work_queues=(empty, busy), dead_letter_queue=dlq)}
    assert (states[empty].status, states[busy].status) == ("conflict", "conflict")
    # When it runs with --recreate-empty
    states = {s.name: s for s in setup_topology(rabbitmq_vhost, work_queues=(empty, busy), dead_letter_queue=dlq,
                                                recreate_empty=True)}
    # Then the empty one is re-declared with qlosync's arguments, the busy one is left alone with a drain hint
    assert states[empty].status == "recreated"
    declare(channel(), empty, {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq})
    assert states[busy].status == "conflict" and "1 messages waiting" in states[busy].detail
    assert queue_counts(rabbitmq_vhost, busy) == (1, 0)
    assert states[dq_name(busy)].status == "ok" and states[dlq].status == "ok"


def test_max_backoff_must_stay_well_below_rabbitmqs_consumer_timeout(settings):
    with pytest.raises(ConfigurationError, match="consumer timeout"):
        RetryPolicy(max_backoff_ms=20 * 60 * 1000)
    # building a broker does no I/O, so it works even with RabbitMQ unreachable
    broker = build_broker(settings.with_(rabbitmq_url="amqp://guest:guest@127.0.0.1:1/%2F"))
    assert broker.confirm_delivery
    assert broker.parameters.heartbeat == 60
