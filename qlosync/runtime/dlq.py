"""Operator tooling for ``qloapps.dlq``: list, show, requeue and purge dead letters (the CLI is thin over these).

RabbitMQ holds the messages; ``qloapps_dead_letters`` holds what operators read. Every command first
*browses* the DLQ (``basic_get`` without ack, then a nack-with-requeue puts everything back in order) and
reconciles: a message without a record (dead-lettered by RabbitMQ itself, e.g. expired or rejected, or
by a worker that could not reach Postgres) gets one from its ``x-death`` header.

Requeue is at-least-once: the record is marked first, the message is published back to its queue of
origin (retries reset) and confirmed by RabbitMQ, and only then is the DLQ copy acked. A crash in between
leaves a duplicate, never a loss; actors are idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pika
import pika.exceptions
from dramatiq.common import current_millis
from dramatiq.errors import DecodeError
from dramatiq.message import Message
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db import dead_letters
from qlosync.db.models import QloAppsDeadLetter
from qlosync.db.session import transaction
from qlosync.errors import PermanentError, TransientError
from qlosync.runtime import foreign
from qlosync.runtime.middleware.dead_letters import REQUEUE_OPTION, RUN_OPTIONS
from qlosync.runtime.queues import DLQ, canonical
from qlosync.runtime.topology import connection, declare, queue_arguments
from qlosync.states import DeadLetterStatus

logger = logging.getLogger(__name__)

#: Browsing stops here: a DLQ this large needs a person, not a table.
MAX_BROWSE = 10_000


class DeadLetterNotFoundError(PermanentError):
    """No message and no record with this id."""


class RequeueError(TransientError):
    """RabbitMQ did not confirm the republished message: it stays in the DLQ."""


@dataclass(frozen=True)
class DlqMessage:
    """A message sitting in the DLQ, read without consuming it."""

    delivery_tag: int
    message_id: str
    origin_queue: str
    reason: str
    dead_at: datetime | None
    message: Message[Any] | None  # None: the body is not a dramatiq message
    x_death: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # why qlosync dead-lettered it, when a worker said so in the copy's headers


@dataclass(frozen=True)
class DeadLetterView:
    """A dead-letter record, and whether its message is still in the DLQ."""

    record: QloAppsDeadLetter
    in_queue: bool
    x_death: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RequeueResult:
    """Which messages went back to their queue, and which could not (with why)."""

    requeued: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def list_dead_letters(
    session_factory: sessionmaker[Session], amqp_url: str, *, dlq: str = DLQ, statuses: tuple[str, ...] = (DeadLetterStatus.DEAD,)
) -> list[DeadLetterView]:
    """Records with the given statuses (oldest first), after recording DLQ messages that had none."""
    with connection(amqp_url) as conn:
        channel = conn.channel()
        found = _browse(channel, dlq)
        with transaction(session_factory) as session:
            _reconcile(session, found)
            by_id = {m.message_id: m for m in found}
            views = [
                DeadLetterView(r, r.message_id in by_id, by_id[r.message_id].x_death if r.message_id in by_id else [])
                for r in dead_letters.list_records(session, statuses)
            ]
        _put_back(channel)
    return views


def show_dead_letter(session_factory: sessionmaker[Session], amqp_url: str, message_id: str, *, dlq: str = DLQ) -> DeadLetterView:
    """One record (any status), with the message's ``x-death`` history if it is in the DLQ."""
    with connection(amqp_url) as conn:
        channel = conn.channel()
        found = _browse(channel, dlq)
        with transaction(session_factory) as session:
            _reconcile(session, found)
            record = dead_letters.get(session, message_id)
            if record is None:
                raise DeadLetterNotFoundError(f"no dead letter with message id {message_id!r}")
            match = next((m for m in found if m.message_id == message_id), None)
            view = DeadLetterView(record, match is not None, match.x_death if match else [])
        _put_back(channel)
    return view


def requeue(
    session_factory: sessionmaker[Session], amqp_url: str, message_id: str | None = None, *, dlq: str = DLQ
) -> RequeueResult:
    """Publish one (or every, if *message_id* is None) dead letter back to its queue of origin, retries reset."""
    result = RequeueResult()
    with connection(amqp_url) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        found = _browse(channel, dlq)
        with transaction(session_factory) as session:
            _reconcile(session, found)
            if message_id is not None:
                _require(session, found, message_id, "requeue")
        declared: set[str] = set()
        for item in found:
            if message_id is not None and item.message_id != message_id:
                continue
            if item.message is None or item.origin_queue == "?":
                result.skipped.append((item.message_id, "not a dramatiq message: purge it instead"))
                continue
            if item.origin_queue not in declared:
                declare(channel, item.origin_queue, queue_arguments(item.origin_queue, dead_letter_queue=dlq))
                declared.add(item.origin_queue)
            _requeue_one(session_factory, channel, item)
            result.requeued.append(item.message_id)
        _put_back(channel)
    return result


def purge(
    session_factory: sessionmaker[Session], amqp_url: str, message_id: str | None = None, *, dlq: str = DLQ
) -> list[str]:
    """Delete one (or every) dead letter from the DLQ for good; the record stays, marked ``purged``."""
    purged: list[str] = []
    with connection(amqp_url) as conn:
        channel = conn.channel()
        found = _browse(channel, dlq)
        with transaction(session_factory) as session:
            _reconcile(session, found)
            if message_id is not None and not any(m.message_id == message_id for m in found):
                # Only a record is left (the message was removed outside qlosync): close the record.
                _require(session, found, message_id, "purge")
                dead_letters.mark_purged(session, message_id)
                purged.append(message_id)
        for item in found:
            if message_id is not None and item.message_id != message_id:
                continue
            # Record first: if the ack were lost, the next browse would find the message and mark it dead again.
            with transaction(session_factory) as session:
                dead_letters.mark_purged(session, item.message_id)
            channel.basic_ack(item.delivery_tag)
            purged.append(item.message_id)
            # DEBUG: `purge --all` would otherwise bury the one summary its caller prints under a line per message.
            logger.debug("Purged dead letter %s.", item.message_id,
                        extra={"action": "dlq_purge", "message_id": item.message_id})
        _put_back(channel)
    return purged


def _require(session: Session, found: list[DlqMessage], message_id: str, verb: str) -> None:
    if any(m.message_id == message_id for m in found):
        return
    record = dead_letters.get(session, message_id)
    if record is None:
        raise DeadLetterNotFoundError(f"no dead letter with message id {message_id!r}")
    if verb == "requeue":
        raise DeadLetterNotFoundError(
            f"message {message_id!r} is not in the DLQ (its record says {record.status!r}): nothing to requeue"
        )


def _requeue_one(session_factory: sessionmaker[Session], channel: BlockingChannel, item: DlqMessage) -> None:
    assert item.message is not None
    with transaction(session_factory) as session:
        # Marked before publishing, so a fast worker's "succeeded" is never overwritten by "requeued".
        count = dead_letters.mark_requeued(session, item.message_id)
    options = {k: v for k, v in item.message.options.items() if k not in RUN_OPTIONS}
    options[REQUEUE_OPTION] = count
    fresh: Message[Any] = Message(
        queue_name=item.origin_queue,
        actor_name=item.message.actor_name,
        args=item.message.args,
        kwargs=item.message.kwargs,
        options=options,
        message_id=item.message_id,
        # A requeue starts a new life: an actor's max_age must not skip it at once.
        message_timestamp=current_millis(),
    )
    try:
        channel.basic_publish(
            exchange="",
            routing_key=item.origin_queue,
            body=fresh.encode(),
            properties=pika.BasicProperties(delivery_mode=2, priority=options.get("broker_priority")),
            mandatory=True,
        )
    except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
        with transaction(session_factory) as session:
            dead_letters.mark_dead(session, item.message_id)
        raise RequeueError(f"RabbitMQ did not accept message {item.message_id} for {item.origin_queue}: {exc!r}") from None
    # Confirmed by RabbitMQ: only now may the DLQ copy go.
    channel.basic_ack(item.delivery_tag)
    logger.info("Requeued dead letter %s to %s.", item.message_id, item.origin_queue,
                extra={"action": "dlq_requeue", "message_id": item.message_id})


def _browse(channel: BlockingChannel, dlq: str) -> list[DlqMessage]:
    """Every message in the DLQ, left unacked on *channel* (so no one else sees them meanwhile)."""
    declare(channel, dlq, queue_arguments(dlq, dead_letter_queue=dlq))
    found: list[DlqMessage] = []
    while len(found) < MAX_BROWSE:
        method, properties, body = channel.basic_get(dlq, auto_ack=False)
        if method is None or properties is None or body is None:
            break  # the queue is empty (all three are None then)
        # pika's GetOk declares all its fields optional; a message that was handed out has its tag.
        assert method.delivery_tag is not None
        found.append(_parse(method.delivery_tag, properties, body))
    else:
        logger.warning("More than %d messages in %s: only the first ones are shown.", MAX_BROWSE, dlq)
    return found


def _put_back(channel: BlockingChannel) -> None:
    """Return every still-unacked browsed message to the DLQ (in its original position) and close."""
    if channel.is_open:
        channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)
        channel.close()


def _parse(delivery_tag: int, properties: pika.BasicProperties, body: bytes) -> DlqMessage:
    headers = _plain(properties.headers or {})
    x_death = headers.get("x-death")
    deaths = x_death if isinstance(x_death, list) else []
    # A worker that moved a foreign message here said why and whence in headers of its own; they come first
    # (such a message may carry an x-death of another application's queues). Else RabbitMQ's x-death, the
    # most recent death first.
    last = deaths[0] if deaths else {}
    if foreign.REASON_HEADER in headers:
        last = {"queue": headers.get(foreign.ORIGIN_QUEUE_HEADER), "reason": headers[foreign.REASON_HEADER],
                "time": headers.get(foreign.DEAD_AT_HEADER)}
    try:
        message: Message[Any] | None = Message.decode(body)
    except DecodeError:
        message = None
    origin = last.get("queue") or (message.queue_name if message else None)
    when = last.get("time")
    error = headers.get(foreign.ERROR_HEADER) if foreign.REASON_HEADER in headers else None
    return DlqMessage(
        delivery_tag=delivery_tag,
        message_id=message.message_id if message else foreign.raw_message_id(body),
        origin_queue=canonical(origin) if origin else "?",
        reason=str(last.get("reason") or "unknown"),
        dead_at=when.astimezone(UTC) if isinstance(when, datetime) else None,
        message=message,
        x_death=deaths,
        error=str(error) if error is not None else None,
    )


def _plain(value: Any) -> Any:
    """pika header values with bytes turned into text (for display and JSON)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _reconcile(session: Session, found: list[DlqMessage]) -> None:
    for item in found:
        created = dead_letters.ensure_dead(
            session,
            message_id=item.message_id,
            actor_name=item.message.actor_name if item.message else "?",
            queue_name=item.origin_queue,
            args=item.message.args if item.message else [],
            kwargs=item.message.kwargs if item.message else {},
            reason=item.reason,
            error_class=None,
            error_message=item.error or f"dead-lettered by RabbitMQ ({item.reason}) from {item.origin_queue}; no error was recorded",
            retries=int(item.message.options.get("retries", 0)) if item.message else 0,
            dead_at=item.dead_at,
        )
        if created:
            logger.warning("Recorded dead letter %s found in the DLQ without a record (%s from %s).",
                           item.message_id, item.reason, item.origin_queue,
                           extra={"action": "dlq_reconcile", "message_id": item.message_id})
