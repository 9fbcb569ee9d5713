"""The RabbitMQ topology the Hotel Management System's own QloApps publisher declares, as its repository does
(backend/src/integrations/qloapps/queue/rabbitmq_topology.ts; facts only, written here in Python): a topic
exchange ``qloapps.events``, a dead-letter exchange ``qloapps.events.dlx`` with DLQs of its own, and queues
named like qlosync's work queues with a priority, a TTL and that dead-lettering."""

from __future__ import annotations

import pika

from qlosync.runtime.queues import INBOUND, OUTBOUND

EXCHANGE = "qloapps.events"
DEAD_LETTER_EXCHANGE = "qloapps.events.dlx"
BINDINGS = {INBOUND: "qloapps.booking.#", OUTBOUND: "pms.qloapps.#"}


def queue_arguments(queue: str) -> dict[str, object]:
    return {"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": queue,
            "x-message-ttl": 86_400_000, "x-max-priority": 10}


def declare_pms_topology(amqp_url: str, queues: tuple[str, ...] = (INBOUND, OUTBOUND)) -> None:
    """Declare what the PMS's publisher (or its workers, at start) declare on *amqp_url*."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="topic", durable=True)
        channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
        for queue in queues:
            channel.queue_declare(f"{queue}.dlq", durable=True, arguments={"x-message-ttl": 604_800_000})
            channel.queue_bind(f"{queue}.dlq", DEAD_LETTER_EXCHANGE, routing_key=queue)
            channel.queue_declare(queue, durable=True, arguments=queue_arguments(queue))
            channel.queue_bind(queue, EXCHANGE, routing_key=BINDINGS.get(queue, "#"))
    finally:
        connection.close()
