"""Dead letters made the way RabbitMQ makes them: a message that expires in qloapps.inbound."""

from __future__ import annotations

import pika
from dramatiq.message import Message

from qlosync.runtime.queues import DLQ, INBOUND
from tests.runtime_support import queue_counts, wait_until


def expire_into_dlq(amqp_url: str, message: Message) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    connection.channel().basic_publish(exchange="", routing_key=INBOUND, body=message.encode(),
                                       properties=pika.BasicProperties(delivery_mode=2, expiration="1"))
    connection.close()
    wait_until(lambda: queue_counts(amqp_url, DLQ)[0] == 1, what="RabbitMQ to dead-letter the message")
