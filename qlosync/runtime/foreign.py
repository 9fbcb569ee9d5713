"""Messages on a qlosync queue that qlosync did not send: dead-lettered with why, never a crash, never lost.

Another application on the same RabbitMQ vhost can put its own messages on qlosync's queues (the Hotel
Management System's publisher uses queues named ``qloapps.inbound`` and ``qloapps.outbound`` too, with JSON
bodies of its own). Left to dramatiq, a body it cannot decode is logged with a traceback and nacked, so
RabbitMQ dead-letters it without saying why or where it came from, and no record is written.

:class:`ForeignAwareConsumer` looks at every delivery before dramatiq does. A body that is not a dramatiq
message, or a dramatiq message naming an actor this worker does not have, is "not a qlosync message":

1. a copy goes to qlosync's DLQ (``mandatory``, confirmed by RabbitMQ) with the original body and
   properties, plus ``x-qlosync-*`` headers that say why, from which queue, exchange and routing key;
2. its record is written in ``qloapps_dead_letters`` (reason ``not_qlosync``; if PostgreSQL is down the
   copy is safe all the same and ``qlosync dlq list`` records it from those headers);
3. only then is the delivery acked on its queue. A crash before the ack leaves a duplicate (same id), never
   a loss. If RabbitMQ refuses the copy, nothing is acked and the consumer restarts (a connection error).

The consumer then goes on with the next delivery; dramatiq never sees the foreign one.

Like the broker subclass, this relies on dramatiq internals (``_RabbitmqConsumer`` and its ``iterator``,
``channel`` and ``connection`` attributes; the broker's ``consumer_class``): see the version pin in
``qlosync/runtime/broker.py``; ``tests/integration/test_foreign_messages.py`` covers it on the real RabbitMQ.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pika
import pika.exceptions
import pika.spec
from dramatiq.brokers.rabbitmq import _RabbitmqConsumer
from dramatiq.common import q_name
from dramatiq.errors import ConnectionClosed, DecodeError
from dramatiq.message import Message
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy.exc import SQLAlchemyError

from qlosync.db import dead_letters
from qlosync.errors import QlosyncError
from qlosync.runtime.context import current_runtime
from qlosync.runtime.topology import declare, queue_arguments

logger = logging.getLogger(__name__)

#: ``qloapps_dead_letters.reason`` (and the DLQ copy's header) of a message qlosync did not send.
NOT_QLOSYNC = "not_qlosync"

# Headers of the DLQ copy. RabbitMQ's own ``x-death`` would name the queue only, and a foreign message may
# carry an ``x-death`` of its own application's queues: these come first when the DLQ is read.
REASON_HEADER = "x-qlosync-reason"
ERROR_HEADER = "x-qlosync-error"
ORIGIN_QUEUE_HEADER = "x-qlosync-origin-queue"
ORIGIN_EXCHANGE_HEADER = "x-qlosync-origin-exchange"
ORIGIN_ROUTING_KEY_HEADER = "x-qlosync-origin-routing-key"
DEAD_AT_HEADER = "x-qlosync-dead-at"

#: How many of a JSON object's keys the reason names (enough to recognise whose message it is).
_KEYS_SHOWN = 8


def raw_message_id(body: bytes) -> str:
    """The id of a body that is not a dramatiq message: the same body always gets the same id."""
    return "raw-" + hashlib.sha256(body).hexdigest()[:32]


@dataclass(frozen=True)
class ForeignMessage:
    """A delivery that is not a qlosync message, and why."""

    message_id: str
    message: Message[Any] | None  # a dramatiq message for an actor qlosync does not have; None: not dramatiq's
    reason: str  # "not a qlosync message: ..." (what it is, where it came from)


def recognise(
    body: bytes, *, queue_name: str, exchange: str, routing_key: str, content_type: str | None, actors: Any
) -> ForeignMessage | None:
    """None for a qlosync message (a dramatiq message for one of *actors*), else what the delivery is."""
    try:
        message: Message[Any] | None = Message.decode(body)
    except DecodeError:
        message = None
    if message is not None and message.actor_name in actors:
        return None
    what = (f"a dramatiq message for actor {message.actor_name!r}, which is not one of qlosync's actors"
            if message is not None else f"{_shape(body)}, not a dramatiq message")
    origin = (f"it came on {queue_name} from exchange {exchange!r}"
              f"{' (the default exchange)' if not exchange else ''} with routing key {routing_key!r} and "
              f"{f'content type {content_type!r}' if content_type else 'no content type'}")
    return ForeignMessage(
        message_id=message.message_id if message is not None else raw_message_id(body),
        message=message,
        reason=f"not a qlosync message: {what}; {origin}",
    )


def _shape(body: bytes) -> str:
    # Names the keys only: the values may be a guest's personal data.
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return f"{len(body)} bytes that are not JSON"
    if isinstance(data, dict):
        keys = sorted(str(key) for key in data)
        shown = ", ".join(keys[:_KEYS_SHOWN]) + (", ..." if len(keys) > _KEYS_SHOWN else "")
        return f"a JSON object with keys {shown}" if keys else "an empty JSON object"
    kinds = {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return f"a JSON {kinds.get(type(data), type(data).__name__)}"


class ForeignAwareConsumer(_RabbitmqConsumer):
    """dramatiq's RabbitMQ consumer, with foreign deliveries dead-lettered before dramatiq decodes them."""

    def __init__(self, broker: Any, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]  # dramatiq's is untyped
        self._dead_letter_channel: BlockingChannel | None = None
        # dramatiq's __next__ takes (method, properties, body) from this iterator and decodes the body; a
        # foreign delivery is handled here and replaced by (None, None, None), which dramatiq reads as "idle".
        self.iterator = self._qlosync_deliveries(self.iterator)

    def _qlosync_deliveries(self, deliveries: Iterator[Any]) -> Generator[Any, None, None]:
        for method, properties, body in deliveries:
            if method is not None:
                foreign = recognise(
                    body, queue_name=self.queue_name, exchange=method.exchange or "", routing_key=method.routing_key or "",
                    content_type=properties.content_type, actors=self.broker.actors,
                )
                if foreign is not None:
                    self._dead_letter(method, properties, body, foreign)
                    yield None, None, None
                    continue
            yield method, properties, body

    def _dead_letter(self, method: Any, properties: pika.BasicProperties, body: bytes, foreign: ForeignMessage) -> None:
        dlq = self.broker.dead_letter_queue
        channel = self._confirmed_channel(dlq)
        headers = dict(properties.headers or {})
        headers.update({
            REASON_HEADER: NOT_QLOSYNC,
            ERROR_HEADER: foreign.reason,
            ORIGIN_QUEUE_HEADER: self.queue_name,
            ORIGIN_EXCHANGE_HEADER: method.exchange or "",
            ORIGIN_ROUTING_KEY_HEADER: method.routing_key or "",
            DEAD_AT_HEADER: datetime.now(UTC),
        })
        copy = pika.BasicProperties(
            content_type=properties.content_type, content_encoding=properties.content_encoding, headers=headers,
            delivery_mode=pika.DeliveryMode.Persistent, priority=properties.priority,
            correlation_id=properties.correlation_id, reply_to=properties.reply_to, message_id=properties.message_id,
            timestamp=properties.timestamp, type=properties.type, app_id=properties.app_id,
            # Left out: expiration (a dead letter waits for a person, not a timer) and user_id (RabbitMQ
            # refuses a publish whose user_id is not the publishing connection's user).
        )
        try:
            channel.basic_publish(exchange="", routing_key=dlq, body=body, properties=copy, mandatory=True)
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
            # Not acked: RabbitMQ gives the delivery back when the consumer reconnects (a connection error
            # makes dramatiq restart it), so it is tried again rather than lost.
            logger.error("Could not move message %s (not a qlosync message) from %s to %s: %s; it stays on %s.",
                         foreign.message_id, self.queue_name, dlq, type(exc).__name__, self.queue_name,
                         extra={"action": "dead_letter_foreign", "message_id": foreign.message_id})
            raise ConnectionClosed(exc) from None  # type: ignore[no-untyped-call]
        _record(foreign, self.queue_name)
        # The copy is confirmed (and recorded, if PostgreSQL answered): only now may the original go.
        self.channel.basic_ack(method.delivery_tag)
        logger.warning("Message %s on %s is %s; moved to %s.", foreign.message_id, self.queue_name,
                       foreign.reason.removeprefix("not a qlosync message: "), dlq,
                       extra={"action": "dead_letter_foreign", "message_id": foreign.message_id,
                              "queue": q_name(self.queue_name), "reason": NOT_QLOSYNC})

    def _confirmed_channel(self, dlq: str) -> BlockingChannel:
        # A channel of its own (on the consumer's connection and thread), so the consuming channel's state is
        # left alone; in confirm mode, so basic_publish returns only once RabbitMQ has the copy.
        if self._dead_letter_channel is None or not self._dead_letter_channel.is_open:
            channel = self.connection.channel()
            channel.confirm_delivery()
            declare(channel, dlq, queue_arguments(dlq, dead_letter_queue=dlq))
            self._dead_letter_channel = channel
        return self._dead_letter_channel


def _record(foreign: ForeignMessage, queue_name: str) -> None:
    message = foreign.message
    try:
        with current_runtime().transaction() as session:
            dead_letters.record_dead_letter(
                session,
                message_id=foreign.message_id,
                actor_name=message.actor_name if message is not None else "?",
                queue_name=q_name(queue_name),
                args=message.args if message is not None else [],
                kwargs=message.kwargs if message is not None else {},
                reason=NOT_QLOSYNC,
                error_class=None,
                error_message=foreign.reason,
                retries=0,
            )
    except (SQLAlchemyError, QlosyncError):
        logger.error("Could not record dead letter %s; it is in the DLQ all the same.", foreign.message_id,
                     exc_info=True, extra={"action": "dead_letter_foreign", "message_id": foreign.message_id})
