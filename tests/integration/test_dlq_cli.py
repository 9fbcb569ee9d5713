"""`qlosync broker setup` and `qlosync dlq ...` with qlosync's real queue names, on a vhost of their own."""

from __future__ import annotations

import pika
import pytest
from click.testing import CliRunner
from dramatiq.message import Message

from qlosync.cli import cli
from qlosync.runtime.middleware.dead_letters import REQUEUE_OPTION
from qlosync.runtime.queues import DLQ, INBOUND
from tests.dlq_support import expire_into_dlq
from tests.runtime_support import fresh_vhost, queue_counts, wait_until  # noqa: F401


@pytest.fixture
def run(database_url, fresh_vhost):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **env: str):
        return runner.invoke(cli, list(args), input=input,
                             env={"DATABASE_URL": database_url, "RABBITMQ_URL": fresh_vhost, **env})

    return invoke


def test_broker_setup_then_dlq_list_show_requeue_purge(run, fresh_vhost):
    # Given the topology declared by `qlosync broker setup`
    result = run("broker", "setup")
    assert result.exit_code == 0, result.output
    for name in ("qloapps.dlq", "qloapps.inbound", "qloapps.inbound.DQ", "qloapps.outbound", "qloapps.outbound.DQ"):
        assert f"ok        {name} (0 messages" in result.output
    # and a message that expired in qloapps.inbound
    message = Message(queue_name=INBOUND, actor_name="ping_inbound", args=(), kwargs={},
                      options={"retries": 2, "max_retries": 5})
    expire_into_dlq(fresh_vhost, message)
    # `dlq list` shows it in a table
    result = run("dlq", "list")
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()  # stdout only: the reconciliation logs a warning on stderr
    assert header.split() == ["ID", "ACTOR", "ORIGIN", "QUEUE", "REASON", "AGE"]
    assert row.split()[:4] == [message.message_id, "ping_inbound", "qloapps.inbound", "expired"]
    # `dlq show` has the details, x-death included
    result = run("dlq", "show", message.message_id)
    assert result.exit_code == 0, result.output
    assert "reason:        expired" in result.output
    assert "x-death:       expired from qloapps.inbound x1" in result.output
    # `dlq requeue ID` puts it back on qloapps.inbound with its retries reset
    result = run("dlq", "requeue", message.message_id)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "1 message(s) requeued"
    assert queue_counts(fresh_vhost, DLQ)[0] == 0
    connection = pika.BlockingConnection(pika.URLParameters(fresh_vhost))
    method, _properties, body = connection.channel().basic_get(INBOUND, auto_ack=True)
    connection.close()
    requeued = Message.decode(body)
    assert requeued.message_id == message.message_id and requeued.queue_name == INBOUND
    assert requeued.options == {"max_retries": 5, REQUEUE_OPTION: 1}
    assert "requeued" in run("dlq", "list", "--status", "requeued").output
    # `dlq purge --all` asks first; --yes does it
    expire_into_dlq(fresh_vhost, Message(queue_name=INBOUND, actor_name="ping_inbound", args=(), kwargs={}, options={}))
    assert run("dlq", "purge", "--all", input="n\n").exit_code == 1
    result = run("dlq", "purge", "--all", "--yes")
    assert result.exit_code == 0 and "1 message(s) purged" in result.output
    assert queue_counts(fresh_vhost, DLQ)[0] == 0
    assert run("dlq", "list").stdout.strip() == "no dead letters (dead)"


def test_dlq_errors_are_one_line_with_meaningful_exit_codes(run):
    assert run("dlq", "requeue").exit_code == 2  # neither an id nor --all
    result = run("dlq", "show", "no-such-id")
    assert result.exit_code == 1 and result.output.strip() == (
        "Error: DeadLetterNotFoundError: no dead letter with message id 'no-such-id'"
    )
    result = run("dlq", "list", RABBITMQ_URL="amqp://guest:guest@127.0.0.1:1/%2F")
    assert result.exit_code == 3
    assert result.output == "Error: cannot reach RabbitMQ at 127.0.0.1:1/%2F (ConnectionRefusedError: [Errno 111] Connection refused)\n"
    assert "guest" not in result.output


def test_broker_setup_reports_a_conflicting_queue_and_recreates_it_when_empty(run, fresh_vhost):
    # Given qloapps.inbound declared by a stock dramatiq broker (dead-lettering into qloapps.inbound.XQ)
    connection = pika.BlockingConnection(pika.URLParameters(fresh_vhost))
    connection.channel().queue_declare(
        queue=INBOUND, durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "qloapps.inbound.XQ"})
    connection.close()
    # When setup runs, it names the conflict and the fix, and exits 1
    result = run("broker", "setup")
    assert result.exit_code == 1
    assert "conflict  qloapps.inbound" in result.output
    assert "run `qlosync broker setup --recreate-empty`" in result.output
    # When setup runs with --recreate-empty, the empty queue is re-declared
    result = run("broker", "setup", "--recreate-empty")
    assert result.exit_code == 0, result.output
    assert "recreated qloapps.inbound" in result.output


def test_purge_all_prints_its_summary_only(run, fresh_vhost):
    # Given three dead letters in qloapps.dlq
    assert run("broker", "setup").exit_code == 0
    for _ in range(3):
        _expire_into_dlq_one_more(fresh_vhost)
    assert run("dlq", "list").exit_code == 0  # records them (with a warning each: RabbitMQ dead-lettered them)
    # When every one is purged at the default log level
    result = run("dlq", "purge", "--all", "--yes", QLOSYNC_LOG_LEVEL="INFO")
    # Then the summary is the whole output: no line per message (those are DEBUG)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["3 message(s) purged"]
    assert queue_counts(fresh_vhost, DLQ)[0] == 0


def _expire_into_dlq_one_more(amqp_url: str) -> None:
    before = queue_counts(amqp_url, DLQ)[0]
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    message = Message(queue_name=INBOUND, actor_name="ping_inbound", args=(), kwargs={}, options={})
    connection.channel().basic_publish(exchange="", routing_key=INBOUND, body=message.encode(),
                                       properties=pika.BasicProperties(delivery_mode=2, expiration="1"))
    connection.close()
    wait_until(lambda: queue_counts(amqp_url, DLQ)[0] == before + 1, what="RabbitMQ to dead-letter the message")
