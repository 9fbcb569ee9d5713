"""A vhost where the Hotel Management System's publisher already declared qloapps.inbound and qloapps.outbound
with arguments of its own: qlosync names every argument that differs and the fix, exits 1, deletes nothing.

Each test on a vhost of its own (qlosync's real queue names); the PMS's topology is tests/pms_publisher.py.
"""

from __future__ import annotations

import pika
import pytest
from click.testing import CliRunner

from qlosync.cli import cli
from qlosync.runtime.queues import DLQ, INBOUND, OUTBOUND
from qlosync.runtime.topology import QueueConflictError, declare, queue_arguments, setup_topology
from tests.pms_publisher import declare_pms_topology
from tests.pms_publisher import queue_arguments as pms_arguments
from tests.runtime_support import fresh_vhost, queue_counts, unique  # noqa: F401


@pytest.fixture
def run(database_url, fresh_vhost):
    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), env={"DATABASE_URL": database_url, "RABBITMQ_URL": fresh_vhost})

    return invoke


def _qlosync_declare(amqp_url: str, queue: str) -> QueueConflictError | None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        declare(connection.channel(), queue, queue_arguments(queue))
    except QueueConflictError as exc:
        return exc
    finally:
        connection.close()
    return None


def test_the_conflict_names_every_argument_that_differs_and_leaves_the_queue_as_it_was(fresh_vhost):
    # Given the PMS's qloapps.inbound (priority 10, TTL 24 h, dead-lettering into its own exchange)
    declare_pms_topology(fresh_vhost, (INBOUND,))
    # When qlosync declares it
    error = _qlosync_declare(fresh_vhost, INBOUND)
    # Then the error lists all four differences (RabbitMQ itself names only the first), found for sure
    assert error is not None and error.complete and error.foreign
    assert sorted(map(str, error.differences)) == [
        "x-dead-letter-exchange = 'qloapps.events.dlx' (qlosync: '')",
        "x-dead-letter-routing-key = 'qloapps.inbound' (qlosync: 'qloapps.dlq')",
        "x-max-priority = 10 (qlosync: not set)",
        "x-message-ttl = 86400000 (qlosync: not set)",
    ]
    # and the message is the fix: a vhost of qlosync's own, or the queue deleted once the PMS's publisher stopped
    message = str(error)
    assert f"RabbitMQ queue 'qloapps.inbound' in vhost '{pika.URLParameters(fresh_vhost).virtual_host}'" in message
    assert "RABBITMQ_URL=amqp://USER:PASSWORD@HOST:5672/qlosync" in message
    assert "stop that application's publisher and workers, delete the queue" in message
    assert "--recreate-empty" not in message
    # and the probing changed nothing: the queue still has exactly the PMS's arguments
    connection = pika.BlockingConnection(pika.URLParameters(fresh_vhost))
    connection.channel().queue_declare(INBOUND, durable=True, arguments=pms_arguments(INBOUND))
    connection.close()


def test_a_queue_of_an_older_qlosync_is_not_taken_for_another_applications(fresh_vhost):
    connection = pika.BlockingConnection(pika.URLParameters(fresh_vhost))
    connection.channel().queue_declare(INBOUND, durable=True, arguments={
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "qloapps.inbound.XQ"})
    connection.close()
    error = _qlosync_declare(fresh_vhost, INBOUND)
    assert error is not None and error.complete and not error.foreign
    assert [str(d) for d in error.differences] == ["x-dead-letter-routing-key = 'qloapps.inbound.XQ' (qlosync: 'qloapps.dlq')"]
    assert "qlosync broker setup --recreate-empty" in str(error)


def test_broker_setup_on_the_pms_queues_reports_one_paragraph_per_queue_and_exits_1(run, fresh_vhost):
    # Given the PMS's topology on the vhost qlosync is pointed at
    declare_pms_topology(fresh_vhost)
    # When `qlosync broker setup` runs
    result = run("broker", "setup")
    # Then it exits 1, and each of the two queues gets its paragraph: the differences and the fix
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    for queue in (INBOUND, OUTBOUND):
        index = lines.index(f"  conflict  {queue} (0 messages, 0 consumers)")
        paragraph = lines[index + 1]
        assert paragraph.startswith(f"    RabbitMQ queue '{queue}' in vhost "), paragraph
        for difference in ("x-max-priority = 10 (qlosync: not set)", "x-message-ttl = 86400000 (qlosync: not set)",
                           "x-dead-letter-exchange = 'qloapps.events.dlx' (qlosync: '')",
                           f"x-dead-letter-routing-key = '{queue}' (qlosync: 'qloapps.dlq')"):
            assert difference in paragraph, paragraph
        assert "give qlosync a vhost of its own" in paragraph and "RABBITMQ_URL=" in paragraph
        assert "`rabbitmqctl delete_queue -p " in paragraph and f" {queue}`" in paragraph
    # and the queues qlosync alone uses were declared all the same
    for queue in (DLQ, f"{INBOUND}.DQ", f"{OUTBOUND}.DQ"):
        assert f"  ok        {queue} (0 messages" in result.output
    assert "2 queue(s) conflict: qloapps.inbound, qloapps.outbound (see above)" in result.output
    assert "docs/pms.md, 'Sharing RabbitMQ with the Hotel Management System'" in result.output
    assert "--recreate-empty" not in result.output


def test_recreate_empty_never_deletes_another_applications_queue(run, fresh_vhost):
    # Given the PMS's queues, empty and without consumers (its publisher is no consumer)
    declare_pms_topology(fresh_vhost)
    # When setup runs with --recreate-empty
    result = run("broker", "setup", "--recreate-empty")
    # Then it refuses, says why, and exits 1
    assert result.exit_code == 1, result.output
    assert "not recreated: not a queue of an older qlosync. RabbitMQ queue 'qloapps.inbound'" in result.output
    # and the PMS's queues are still there, with the PMS's arguments and bindings
    connection = pika.BlockingConnection(pika.URLParameters(fresh_vhost))
    for queue in (INBOUND, OUTBOUND):
        connection.channel().queue_declare(queue, durable=True, arguments=pms_arguments(queue))
    connection.channel().basic_publish("qloapps.events", "pms.qloapps.rate.update", b"{}")
    connection.close()
    assert queue_counts(fresh_vhost, OUTBOUND) == (1, 0)


def test_setup_topology_reports_the_same_conflict_to_its_callers(fresh_vhost):
    declare_pms_topology(fresh_vhost, (OUTBOUND,))
    states = {s.name: s for s in setup_topology(fresh_vhost)}
    assert states[OUTBOUND].status == "conflict" and states[OUTBOUND].conflict is not None
    assert states[OUTBOUND].conflict.foreign and states[INBOUND].status == "ok"


def test_a_transient_queue_is_reported_as_such_with_its_other_arguments(rabbitmq_vhost):
    # Given a non-durable queue with a length limit (RabbitMQ compares durable before any argument)
    queue = unique("t.transient")
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_vhost))
    connection.channel().queue_declare(queue, durable=False, arguments={"x-max-length": 5})
    try:
        error = _qlosync_declare(rabbitmq_vhost, queue)
        assert error is not None and error.complete and error.foreign
        # durable first (RabbitMQ checks it before the arguments), then the arguments in RabbitMQ's order
        assert sorted(str(d) for d in error.differences[1:]) == [
            "x-dead-letter-exchange = not set (qlosync: '')",
            "x-dead-letter-routing-key = not set (qlosync: 'qloapps.dlq')",
            "x-max-length = 5 (qlosync: not set)",
        ]
        assert str(error.differences[0]) == "durable = false (qlosync: true)"
    finally:
        connection.channel().queue_delete(queue)
        connection.close()
