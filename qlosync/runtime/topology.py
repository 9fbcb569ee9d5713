"""Declaring qlosync's queues on RabbitMQ, and upgrading queues that an older deployment declared differently.

RabbitMQ never lets a queue be redeclared with other arguments: it closes the channel with 406
PRECONDITION_FAILED. That happens when a deployment that used dramatiq's stock ``Q.XQ`` dead-lettering
(or another DLQ name) is switched to the shared ``qloapps.dlq``. qlosync turns it into
:class:`QueueConflictError`, which names the queue and the fix; ``qlosync broker setup --recreate-empty``
deletes and re-declares a conflicting queue only when it is empty and unused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

import pika
import pika.exceptions
from dramatiq.middleware import MiddlewareError
from pika.adapters.blocking_connection import BlockingChannel

from qlosync.errors import ConfigurationError, TransientError
from qlosync.runtime.queues import DLQ, WORK_QUEUES, is_delay_queue, legacy_dead_letter_queue, topology

logger = logging.getLogger(__name__)

DOCS_HINT = "see docs/runtime.md, 'Upgrading existing queues'"


class BrokerUnavailableError(TransientError):
    """RabbitMQ cannot be reached (or dropped the connection)."""


class QueueConflictError(ConfigurationError, MiddlewareError):
    """RabbitMQ already has a queue of this name with other arguments (PRECONDITION_FAILED).

    Also a dramatiq ``MiddlewareError`` so that, raised from a worker-boot hook, it stops the worker
    instead of being logged and ignored.
    """

    def __init__(self, queue_name: str, detail: str) -> None:
        self.queue_name = queue_name
        self.detail = detail
        super().__init__(
            f"RabbitMQ queue {queue_name!r} already exists with other arguments than qlosync declares ({detail}); "
            f"stop the workers, then run `qlosync broker setup --recreate-empty` (it re-declares the queue if it "
            f"is empty; drain it first otherwise): {DOCS_HINT}"
        )


def queue_arguments(queue_name: str, *, dead_letter_queue: str = DLQ, max_priority: int | None = None) -> dict[str, object]:
    """The ``x-`` arguments qlosync declares *queue_name* with: everything dead-letters into one queue."""
    if queue_name == dead_letter_queue:
        # No x-message-ttl (dramatiq's XQ drops dead letters after 7 days): an operator decides, not a timer.
        return {}
    arguments: dict[str, object] = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_letter_queue}
    if max_priority:
        arguments["x-max-priority"] = max_priority
    return arguments


def declare(channel: BlockingChannel, queue_name: str, arguments: dict[str, object]) -> pika.frame.Method[pika.spec.Queue.DeclareOk]:
    """Declare a durable queue; a 406 becomes :class:`QueueConflictError` (the channel is then closed)."""
    try:
        return channel.queue_declare(queue=queue_name, durable=True, arguments=arguments)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 406:
            raise QueueConflictError(queue_name, exc.reply_text) from None
        raise


def redact_url(amqp_url: str | pika.ConnectionParameters) -> str:
    """``host:port/vhost`` of an AMQP URL (or its parameters), without credentials (for error messages)."""
    params = pika.URLParameters(amqp_url) if isinstance(amqp_url, str) else amqp_url
    return f"{params.host}:{params.port}/{quote(params.virtual_host, safe='')}"


def unreachable_message(amqp_url: str | pika.ConnectionParameters, exc: BaseException) -> str:
    """The one line every process and command gives when RabbitMQ cannot be reached or refuses the login:
    host, port, vhost and RabbitMQ's reason (``ACCESS_REFUSED``, ``vhost ... not found``), never the password."""
    return f"cannot reach RabbitMQ at {redact_url(amqp_url)} ({_root_cause(exc)})"


def _root_cause(exc: BaseException) -> str:
    # pika nests the socket error a few levels deep in args, dramatiq wraps pika's error in ``message``; the
    # innermost one is what a person needs.
    while True:
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        for attribute in ("exception", "message"):
            if inner is None and isinstance(getattr(exc, attribute, None), BaseException):
                inner = getattr(exc, attribute)
        if inner is None:
            break
        exc = inner
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@contextmanager
def connection(amqp_url: str) -> Iterator[pika.BlockingConnection]:
    """A short-lived blocking connection for operator commands; unreachable RabbitMQ is one clear error."""
    pika_logger = logging.getLogger("pika")
    level = pika_logger.level
    # pika logs every failed connect at ERROR with a traceback-like line; the error raised below says it
    # once. Operator commands only (workers use dramatiq's own connections), so the brief change is harmless.
    pika_logger.setLevel(logging.CRITICAL)
    try:
        conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    except pika.exceptions.AMQPConnectionError as exc:
        raise BrokerUnavailableError(unreachable_message(amqp_url, exc)) from None
    finally:
        pika_logger.setLevel(level)
    try:
        yield conn
    finally:
        if conn.is_open:
            conn.close()


@dataclass(frozen=True)
class QueueState:
    """What ``setup_topology`` found or did for one queue."""

    name: str
    status: str  # "ok", "recreated", "conflict" or "legacy" (an old dramatiq XQ still holding messages)
    messages: int | None = None
    consumers: int | None = None
    detail: str = ""


def passive_counts(conn: pika.BlockingConnection, queue_name: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of an existing queue, or None if it does not exist."""
    channel = conn.channel()
    try:
        frame = channel.queue_declare(queue=queue_name, passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return None
        raise
    channel.close()
    return frame.method.message_count, frame.method.consumer_count


def setup_topology(
    amqp_url: str,
    *,
    work_queues: tuple[str, ...] = WORK_QUEUES,
    dead_letter_queue: str = DLQ,
    recreate_empty: bool = False,
) -> list[QueueState]:
    """Declare every qlosync queue; report (or, if asked, fix when empty) the ones that conflict."""
    states: list[QueueState] = []
    with connection(amqp_url) as conn:
        for name in topology(work_queues, dead_letter_queue):
            states.append(_setup_one(conn, name, queue_arguments(name, dead_letter_queue=dead_letter_queue), recreate_empty))
        for name in work_queues:
            legacy = legacy_dead_letter_queue(name)
            counts = passive_counts(conn, legacy)
            if counts is not None and counts[0] > 0:
                states.append(QueueState(legacy, "legacy", counts[0], counts[1],
                                         "old dramatiq dead letters; qlosync no longer uses this queue"))
    return states


def _setup_one(conn: pika.BlockingConnection, name: str, arguments: dict[str, object], recreate_empty: bool) -> QueueState:
    channel = conn.channel()
    try:
        frame = declare(channel, name, arguments)
    except QueueConflictError as exc:
        counts = passive_counts(conn, name)
        messages, consumers = counts if counts is not None else (None, None)
        if not recreate_empty:
            return QueueState(name, "conflict", messages, consumers, exc.detail)
        if messages or consumers:
            return QueueState(name, "conflict", messages, consumers, _drain_hint(name, messages, consumers))
        channel = conn.channel()
        try:
            # if_empty/if_unused make RabbitMQ itself refuse when a message or consumer arrived meanwhile.
            channel.queue_delete(queue=name, if_empty=True, if_unused=True)
        except pika.exceptions.ChannelClosedByBroker as race:
            return QueueState(name, "conflict", messages, consumers, f"not deleted: {race.reply_text}")
        channel = conn.channel()
        frame = declare(channel, name, arguments)
        channel.close()
        logger.warning("Re-declared queue %s with qlosync's arguments.", name, extra={"action": "recreate_queue"})
        return QueueState(name, "recreated", frame.method.message_count, frame.method.consumer_count)
    channel.close()
    return QueueState(name, "ok", frame.method.message_count, frame.method.consumer_count)


def _drain_hint(name: str, messages: int | None, consumers: int | None) -> str:
    if consumers:
        return f"{consumers} consumer(s) attached: stop every worker first"
    what = "delayed retries" if is_delay_queue(name) else "messages"
    return (f"{messages} {what} waiting: let the previous workers drain it (start them with the old version "
            f"until it is empty), or move them aside with a shovel; {DOCS_HINT}")
